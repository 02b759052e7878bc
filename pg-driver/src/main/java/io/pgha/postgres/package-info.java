/**
 * {@link io.pgha.spi.PostgresController} for real PostgreSQL 13 to 17: {@link io.pgha.postgres.PgController}.
 *
 * <h2>Files</h2>
 * <ul>
 *   <li>{@code <data>/pgha.conf}: every setting pgha manages (port, replication settings, the
 *       upstream, synchronous_standby_names), included by the last line of {@code postgresql.conf}.
 *       Rewritten before every start and after clone, promote, follow and rewind; it travels with
 *       pg_basebackup and pg_rewind copies and is rewritten for the receiving member.</li>
 *   <li>{@code <data>/pg_hba.conf}: written from the builder's {@code hba(...)} lines.</li>
 *   <li>{@code <work>/pgpass} (mode 0600, owned by the server's user): the only place passwords
 *       are written. Programs find it through {@code PGPASSFILE}, the walreceiver through
 *       {@code passfile=} in {@code primary_conninfo}. The work directory is outside the data
 *       directory, so backups and copies of the data never carry it.</li>
 *   <li>{@code <work>/pg_service.conf} (mode 0600, owned by the server's user): the passphrases of
 *       the roles' client keys ({@code sslpassword}), one {@code [pgha_<role>]} section each, found
 *       through {@code PGSERVICEFILE} (set for every program pgha runs, so the postmaster and its
 *       walreceiver have it) and {@code service=pgha_<role>} in the role's connection strings.</li>
 *   <li>{@code <work>/postgresql.log}: the server log ({@code pg_ctl -l}).</li>
 * </ul>
 *
 * <h2>Processes</h2>
 * When the JVM runs as root, every PostgreSQL program runs as the server's user through
 * {@code runuser}. Each controller owns two daemon thread pools and, once the fence is armed, one
 * bash helper process ({@code setsid bash -c ...}) that kills the postmaster if the deadline passes.
 * {@link io.pgha.postgres.PgController#close()} ends the threads; the helper exits when it is
 * disarmed, or fires at its deadline first if it is still armed.
 *
 * <h2>Inside</h2>
 * {@code PgController} is a facade: it puts each call on the {@code OperationRunner} (operations
 * that change the server one at a time, deadlines, failures scrubbed of passwords) and hands it to
 * the package-private part that owns it: {@code StateReader} (observe), {@code ServerProcess}
 * (start, stop, reload), {@code Provisioning} (bootstrap, clone, remove), {@code RoleChanges}
 * (promote, follow, synchronous standbys, checkpoint), {@code Divergence} and {@code Rewind},
 * with {@code DataDirectory} (its checks and pg_controldata) and {@code AssignedRole} (the role pgha
 * gave the server and the files that say it) beneath them. {@code ControllerBuilder} holds the
 * builder's settings and checks.
 */
package io.pgha.postgres;
