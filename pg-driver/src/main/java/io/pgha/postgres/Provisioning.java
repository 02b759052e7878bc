package io.pgha.postgres;

import io.pgha.spi.PostgresException;
import io.pgha.spi.StopMode;
import io.pgha.spi.Upstream;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fills an empty data directory - a new cluster with initdb and the roles it needs (bootstrap), or a
 * copy of a running member with pg_basebackup (clone) - and empties it again for an operator's
 * reinitialization. What fails half-way is removed, so a retry finds an empty directory again.
 */
final class Provisioning {
    // one logger name for the whole controller, as before it was split into parts: operators filter on it
    private static final Logger LOG = LoggerFactory.getLogger(PgController.class);
    private static final Pattern PROGRESS = Pattern.compile("(\\d+)/(\\d+) kB");

    private final PgConfig cfg;
    private final Binaries bin;
    private final Fs fs;
    private final ManagedFiles files;
    private final Commands cmds;
    private final Jdbc jdbc;
    private final DataDirectory dataDir;
    private final AssignedRole role;
    private final ServerProcess process;
    private final OperationRunner runner;
    private final PgListeners listeners;

    Provisioning(PgConfig cfg, Binaries bin, Fs fs, ManagedFiles files, Commands cmds, Jdbc jdbc, DataDirectory dataDir,
                 AssignedRole role, ServerProcess process, OperationRunner runner, PgListeners listeners) {
        this.cfg = cfg;
        this.bin = bin;
        this.fs = fs;
        this.files = files;
        this.cmds = cmds;
        this.jdbc = jdbc;
        this.dataDir = dataDir;
        this.role = role;
        this.process = process;
        this.runner = runner;
        this.listeners = listeners;
    }

    /** initdb, a first start as a primary and the configured roles; returns the new system identifier. */
    String bootstrap() {
        long t0 = System.nanoTime();
        dataDir.requireEmpty("bootstrap");
        process.requirePortFree();
        dataDir.prepare();
        files.writePassFile();
        boolean created = false;
        try {
            created = true;
            if (cfg.bootstrapMethod().isPresent()) {
                runBootstrapMethod(cfg.bootstrapMethod().get());
            } else {
                initdb();
            }
            Optional<BootstrapMethod> recovering = cfg.bootstrapMethod().filter(BootstrapMethod::recovers);
            if (recovering.isPresent()) {
                recoverRestoredCopy(recovering.get());
            } else {
                role.becomePrimary();
                process.start(cfg.operationTimeout());
            }
            createUsers();
            cfg.postBootstrap().ifPresent(this::runPostBootstrap);
            String sysid = dataDir.controlData().systemIdentifier();
            LOG.info("{}: bootstrapped a new cluster (system identifier {}, PostgreSQL {}) in {} ms", cfg.name(), sysid,
                    bin.version(), (System.nanoTime() - t0) / 1_000_000);
            return sysid;
        } catch (IOException e) {
            throw new DataDirectoryException("bootstrap: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (created) {
                // leave nothing half-made behind: the engine retries a bootstrap only into an empty directory
                LOG.warn("{}: bootstrap failed, removing what it created: {}", cfg.name(), e.getMessage());
                runner.quietly(() -> process.stop(StopMode.IMMEDIATE, Duration.ofSeconds(30)));
                runner.quietly(() -> Fs.deleteContents(cfg.dataDirectory()));
            }
            throw e;
        }
    }

    private void initdb() throws IOException {
        Path pw = cfg.workDirectory().resolve("initdb.pw");
        boolean password = cfg.superuser().hasPassword();
        if (password) {
            fs.write(pw, cfg.superuser().password() + "\n", Fs.FILE_600);
        }
        try {
            // initdb's pg_hba.conf lives only until pgha writes its own, before the first start
            List<String> argv = new ArrayList<>(List.of(bin.path("initdb").toString(),
                    "-D", cfg.dataDirectory().toString(),
                    "-U", cfg.superuser().name(),
                    "--auth-local=peer", "--auth-host=" + (password ? "scram-sha-256" : "reject"),
                    "-E", cfg.encoding(), "--no-instructions"));
            if (password) {
                argv.add("--pwfile=" + pw);
            }
            cfg.locale().ifPresent(l -> argv.add("--locale=" + l));
            if (cfg.dataChecksums()) {
                argv.add("--data-checksums");
            }
            if (!cfg.syncDataFiles()) {
                argv.add("--no-sync");
            }
            dataDir.fill(() -> cmds.check(Commands.Cmd.of(cfg.operationTimeout(), argv)));
        } finally {
            Files.deleteIfExists(pw);
        }
    }

    /** Patroni's custom bootstrap: the operator's command fills the data directory (a restore, typically). */
    private void runBootstrapMethod(BootstrapMethod m) {
        List<String> argv = new ArrayList<>(m.command());
        if (!m.noParams()) {
            cfg.scope().ifPresent(scope -> argv.add("--scope=" + scope));
            argv.add("--datadir=" + cfg.dataDirectory());
        }
        dataDir.fill(() -> {
            Commands.Result r = cmds.run(Commands.Cmd.of(cfg.operationTimeout(), argv));
            if (!r.ok()) {
                throw operatorCommandFailed("bootstrap method " + m.name(), m.command(), r);
            }
            if (!dataDir.isInitialized()) {
                throw new DataDirectoryException(cfg.name() + ": bootstrap method " + m.name() + " succeeded but left no data"
                        + " directory (no PG_VERSION in " + cfg.dataDirectory() + ")");
            }
            // a restored copy may carry a stopped server's pid file: PostgreSQL would refuse to start on it
            try {
                Files.deleteIfExists(cfg.dataDirectory().resolve("postmaster.pid"));
            } catch (IOException e) {
                throw new DataDirectoryException(cfg.name() + ": cannot remove the restored postmaster.pid: " + e.getMessage(), e);
            }
        });
        LOG.info("{}: bootstrap method {} created the data directory", cfg.name(), m.name());
    }

    /**
     * Patroni's {@code post_bootstrap}: the operator's command, given the superuser's connection
     * string (its password in {@code PGPASSFILE}); a failure fails the bootstrap.
     */
    private void runPostBootstrap(List<String> command) {
        List<String> argv = new ArrayList<>(command);
        argv.add(cfg.superuserSocket().isPresent()
                ? "postgres://" + cfg.superuser().name() + "@" + socketHost(cfg.localSocketDirectory().get()) + ":" + cfg.port() + "/postgres"
                : "postgres://" + cfg.superuser().name() + "@" + cfg.localHost() + ":" + cfg.port() + "/postgres"
                        + cfg.superuser().ssl().uriQuery(cfg.superuser().serviceName()));
        Commands.Result r = cmds.run(Commands.Cmd.of(cfg.operationTimeout(), argv));
        if (!r.ok()) {
            throw operatorCommandFailed("post_bootstrap", command, r);
        }
        LOG.info("{}: post_bootstrap done", cfg.name());
    }

    /** An operator's command (a bootstrap or replica method, post_bootstrap) failed: its exit code and last line of output. */
    private CommandFailedException operatorCommandFailed(String what, List<String> command, Commands.Result r) {
        String out = (r.stderr() + "\n" + r.stdout()).strip();
        return new CommandFailedException(cfg.name() + ": " + what + " exited with " + r.exitCode()
                + (out.isEmpty() ? "" : ": " + out.lines().reduce((a, b) -> b).orElse("")), command.get(0), r.exitCode());
    }

    /**
     * Patroni's point-in-time restore: the copy recovers (from the archive, to its target) before it
     * is the new cluster's primary. A recovery paused at its target ({@code recovery_target_action}
     * {@code pause}, PostgreSQL's default) is promoted: a new cluster must take writes.
     */
    private void recoverRestoredCopy(BootstrapMethod m) {
        role.beginBootstrapRecovery(m.recoveryConf());
        LOG.info("{}: bootstrap method {}: recovering the restored copy{}", cfg.name(), m.name(),
                m.recoveryConf().isEmpty() ? " with the recovery settings it left" : " with " + m.recoveryConf().keySet());
        process.start(cfg.operationTimeout());
        long until = System.nanoTime() + cfg.operationTimeout().toNanos();
        while (true) {
            String[] state = jdbc.local("waiting for the end of recovery", c -> {
                try (java.sql.Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery(
                        "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE '' END")) {
                    rs.next();
                    return new String[] {Boolean.toString(rs.getBoolean(1)), rs.getString(2)};
                }
            });
            if (!Boolean.parseBoolean(state[0])) {
                break;
            }
            if ("paused".equals(state[1])) {
                LOG.info("{}: the restored copy paused at its recovery target: promoting it", cfg.name());
                jdbc.local("promoting the restored copy", c -> {
                    try (java.sql.Statement st = c.createStatement()) {
                        st.execute("SELECT pg_promote(true, 60)");
                    }
                    return null;
                });
            }
            if (System.nanoTime() - until > 0) {
                throw new PostgresTimeoutException(cfg.name() + ": the restored copy was still recovering after "
                        + cfg.operationTimeout().toSeconds() + " s (bootstrap method " + m.name() + ")");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PostgresException(cfg.name() + ": interrupted while the restored copy recovered");
            }
        }
        role.becomePrimary();
        process.reload();
        LOG.info("{}: the restored copy finished its recovery and is the new cluster's primary", cfg.name());
    }

    /** A socket directory as the host of a libpq URI: percent-encoded, so the leading '/' tells libpq it is a directory. */
    static String socketHost(Path dir) {
        StringBuilder sb = new StringBuilder();
        for (byte b : dir.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
                sb.append(c);
            } else {
                sb.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return sb.toString();
    }

    /** The replication and rewind roles. Passwords are hashed here (SCRAM) so the server never sees them in SQL text. */
    private void createUsers() {
        jdbc.local("creating users", c -> {
            try (Statement st = c.createStatement()) {
                st.execute("SET log_statement = 'none'");
                if (!cfg.replicationUser().name().equals(cfg.superuser().name())) {
                    createRole(c, st, cfg.replicationUser(), "LOGIN REPLICATION");
                }
                if (cfg.rewindUser().isPresent() && !cfg.rewindUser().get().name().equals(cfg.superuser().name())) {
                    PgUser u = cfg.rewindUser().get();
                    createRole(c, st, u, "LOGIN");
                    String q = quoteIdent(u.name());
                    // what pg_rewind calls on the source (PostgreSQL's pg_rewind documentation)
                    st.execute("GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text, boolean, boolean) TO " + q);
                    st.execute("GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean) TO " + q);
                    st.execute("GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) TO " + q);
                    st.execute("GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean) TO " + q);
                    // pgha's check that the source checkpointed after its promotion, when it cannot log in as the superuser
                    st.execute("GRANT EXECUTE ON FUNCTION pg_catalog.pg_control_checkpoint() TO " + q);
                    if (c.getMetaData().getDatabaseMajorVersion() >= 15) {
                        st.execute("GRANT pg_checkpoint TO " + q);
                    }
                }
                for (PgRole r : cfg.bootstrapRoles()) {
                    String n = r.user().name();
                    if (n.equals(cfg.superuser().name()) || n.equals(cfg.replicationUser().name())
                            || cfg.rewindUser().map(u -> u.name().equals(n)).orElse(false)) {
                        continue;
                    }
                    List<String> opts = new ArrayList<>(r.options());
                    if (!opts.contains("NOLOGIN") && !opts.contains("LOGIN")) {
                        opts.add("LOGIN");
                    }
                    createRole(c, st, r.user(), String.join(" ", opts));
                }
            }
            return null;
        });
    }

    /** Creates the role, or (a restored cluster may have it) gives the existing one these options. */
    private static void createRole(Connection c, Statement st, PgUser u, String options) throws SQLException {
        boolean exists;
        try (java.sql.PreparedStatement q = c.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = ?")) {
            q.setString(1, u.name());
            try (java.sql.ResultSet rs = q.executeQuery()) {
                exists = rs.next();
            }
        }
        st.execute((exists ? "ALTER ROLE " : "CREATE ROLE ") + quoteIdent(u.name()) + " WITH " + options);
        char[] pw = u.password().toCharArray();
        try {
            c.unwrap(PGConnection.class).alterUserPassword(u.name(), pw, "scram-sha-256");
        } finally {
            Arrays.fill(pw, '\0');
        }
    }

    static String quoteIdent(String id) {
        return "\"" + id.replace("\"", "\"\"") + "\"";
    }

    /**
     * Creates this member's data from {@code source} with the configured replica methods, in order
     * (Patroni's {@code create_replica_methods}; default pg_basebackup alone): a method that fails
     * is logged, its leftovers removed (unless it keeps data), and the next one tried. The copy
     * starts as a standby of nobody.
     */
    void cloneFrom(Upstream source) {
        create(Optional.of(source), cfg.replicaMethods());
    }

    /**
     * {@link #cloneFrom(Upstream)} with the methods named in {@code names}, in order (a standby
     * cluster's {@code standby_cluster.create_replica_methods}).
     *
     * @throws io.pgha.ConfigurationException naming a method this controller does not have
     */
    void cloneFrom(Upstream source, List<String> names) {
        List<ReplicaMethod> methods = new ArrayList<>();
        for (String name : names) {
            Optional<ReplicaMethod> m = cfg.replicaMethods().stream().filter(x -> x.name().equals(name)).findFirst();
            if (m.isEmpty() && !name.equals("basebackup")) {
                throw new io.pgha.ConfigurationException("standby_cluster.create_replica_methods", "'" + name
                        + "' is not one of this member's postgresql.create_replica_methods ("
                        + cfg.replicaMethods().stream().map(ReplicaMethod::name).toList() + ") nor basebackup");
            }
            methods.add(m.orElseGet(ReplicaMethod::basebackup));
        }
        create(Optional.of(source), methods);
    }

    /** Whether a replica can be created while no member runs: some method is a command marked no_leader. */
    boolean canCreateWithoutLeader() {
        return cfg.replicaMethods().stream().anyMatch(ReplicaMethod::noLeader);
    }

    /** Patroni's clone without a leader: only the no_leader methods, in order, with an empty {@code --connstring=}. */
    void createWithoutLeader() {
        List<ReplicaMethod> methods = cfg.replicaMethods().stream().filter(ReplicaMethod::noLeader).toList();
        if (methods.isEmpty()) {
            throw new UnsupportedOperationException(cfg.name() + ": no replica method is marked no_leader");
        }
        create(Optional.empty(), methods);
    }

    private void create(Optional<Upstream> source, List<ReplicaMethod> methods) {
        long t0 = System.nanoTime();
        Optional<ConnUrl> u = source.map(s -> ConnUrl.parse(s.connectionUrl()));
        dataDir.requireEmpty("clone");
        dataDir.prepare();
        files.writePassFile();
        RuntimeException last = null;
        for (ReplicaMethod m : methods) {
            try {
                dataDir.fill(() -> {
                    if (m.isBasebackup()) {
                        basebackup(source.orElseThrow(), u.orElseThrow(), m);
                    } else {
                        custom(u, m);
                    }
                    role.becomeStandbyOfNobody();
                });
                LOG.info("{}: created {} by {} in {} ms", cfg.name(),
                        source.map(s -> "from " + s.member() + " (" + u.get().hostPort() + ")").orElse("without a leader"), m.name(),
                        (System.nanoTime() - t0) / 1_000_000);
                return;
            } catch (RuntimeException e) {
                last = e;
                runner.quietly(() -> Fs.deleteContents(cfg.dataDirectory()));
                if (methods.indexOf(m) < methods.size() - 1) {
                    LOG.warn("{}: replica method {} failed, trying the next: {}", cfg.name(), m.name(), e.getMessage());
                }
            }
        }
        throw last;
    }

    private void basebackup(Upstream source, ConnUrl u, ReplicaMethod m) {
        List<String> argv = new ArrayList<>(List.of(bin.path("pg_basebackup").toString(),
                "-D", cfg.dataDirectory().toString(), "-X", "stream", "-P", "-w",
                "-d", CopyPrograms.conninfo(u, cfg.replicationUser(), Optional.empty(), "pgha-clone-" + cfg.name())));
        if (m.option("checkpoint").isEmpty()) {
            argv.addAll(List.of("-c", "fast"));
        }
        m.options().forEach((k, v) -> argv.add(v.isEmpty() ? "--" + k : "--" + k + "=" + v));
        if (!cfg.syncDataFiles() && m.option("no-sync").isEmpty()) {
            argv.add("--no-sync");
        }
        Commands.Result r = cmds.run(Commands.Cmd.of(cfg.operationTimeout(), argv).onStderr(line -> {
            Matcher mm = PROGRESS.matcher(line);
            if (mm.find()) {
                listeners.emit(new PgEvent.CloneProgress(cfg.name(), source.member(),
                        Long.parseLong(mm.group(1)), Long.parseLong(mm.group(2))));
            }
        }));
        if (!r.ok()) {
            throw CopyPrograms.failure(cfg.name(), r, u, cfg.replicationUser(), "clone from " + source.member(), jdbc, true);
        }
    }

    /** An operator's command, called as Patroni calls it; it must leave a data directory behind. */
    private void custom(Optional<ConnUrl> u, ReplicaMethod m) {
        List<String> argv = new ArrayList<>(m.command());
        if (!m.noParams()) {
            cfg.scope().ifPresent(scope -> argv.add("--scope=" + scope));
            argv.add("--datadir=" + cfg.dataDirectory());
            argv.add("--role=replica");
            argv.add("--connstring=" + u.map(x -> "postgres://" + cfg.replicationUser().name() + "@" + x.hostPort() + "/postgres").orElse(""));
            m.options().forEach((k, v) -> argv.add(v.isEmpty() ? "--" + k : "--" + k + "=" + v));
        }
        if (!m.keepData()) {
            Fs.deleteContents(cfg.dataDirectory());
        }
        Commands.Result r = cmds.run(Commands.Cmd.of(cfg.operationTimeout(), argv));
        if (!r.ok()) {
            throw operatorCommandFailed("replica method " + m.name(), m.command(), r);
        }
        if (!dataDir.isInitialized()) {
            throw new DataDirectoryException(cfg.name() + ": replica method " + m.name() + " succeeded but left no data directory"
                    + " (no PG_VERSION in " + cfg.dataDirectory() + ")");
        }
    }

    /** An operator's reinitialization: the data directory is emptied (kept itself), never under a running server. */
    void removeData() {
        if (dataDir.livePostmaster().isPresent()) {
            throw new ServerStateException(cfg.name() + ": cannot remove the data directory while PostgreSQL runs: stop it first");
        }
        Fs.deleteContents(cfg.dataDirectory());
        role.forget();
        LOG.info("{}: removed the data directory {}", cfg.name(), cfg.dataDirectory());
    }
}
