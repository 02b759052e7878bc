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
 *   <li>{@code <work>/postgresql.log}: the server log ({@code pg_ctl -l}).</li>
 * </ul>
 *
 * <h2>Processes</h2>
 * When the JVM runs as root, every PostgreSQL program runs as the server's user through
 * {@code runuser}. Each controller owns two daemon thread pools and, once the fence is armed, one
 * bash helper process ({@code setsid bash -c ...}) that kills the postmaster if the deadline passes.
 * {@link io.pgha.postgres.PgController#close()} ends the threads; the helper exits when it is
 * disarmed, or fires at its deadline first if it is still armed.
 */
package io.pgha.postgres;
