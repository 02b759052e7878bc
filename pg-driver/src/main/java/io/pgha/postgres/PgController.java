package io.pgha.postgres;

import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.Lsn;
import io.pgha.spi.PostgresController;
import io.pgha.spi.PostgresException;
import io.pgha.spi.PostgresState;
import io.pgha.spi.ReplicationConnection;
import io.pgha.spi.RunState;
import io.pgha.spi.StopMode;
import io.pgha.spi.Subscription;
import io.pgha.spi.SynchronousStandbys;
import io.pgha.spi.Upstream;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A {@link PostgresController} for one real PostgreSQL server (13 to 17): initdb, pg_ctl,
 * pg_basebackup, pg_rewind and pg_controldata for the data directory, pgjdbc for the running server.
 *
 * <pre>{@code
 * try (PgController pg = PgController.builder()
 *         .name("node1")
 *         .dataDirectory(Path.of("/var/lib/postgresql/15/node1"))
 *         .port(5432)
 *         .superuser("postgres", superPassword)
 *         .replicationUser("replicator", replPassword)
 *         .build()) {
 *     HaNode node = HaNode.builder()...postgres(pg)...build();
 * }
 * }</pre>
 *
 * <p>Every method returns at once; the work runs on the controller's own threads. Operations that
 * change the server (bootstrap, clone, start, stop, restart, promote, follow, rewind) run one at a
 * time; {@link #observe()} and the quick methods may run beside them. Passwords never appear in a
 * command line (programs read pgha's pass file through {@code PGPASSFILE}), a log line or an
 * exception message. {@link #close()} stops the controller's threads and hands the write fence over
 * to its helper process; it does not stop PostgreSQL.
 */
public final class PgController implements PostgresController {
    private static final Logger LOG = LoggerFactory.getLogger(PgController.class);
    private static final Pattern PROGRESS = Pattern.compile("(\\d+)/(\\d+) kB");
    private static final Duration SETTING_WAIT = Duration.ofSeconds(10);

    private final PgConfig cfg;
    private final Binaries bin;
    private final Redactor redactor;
    private final Commands cmds;
    private final Fs fs;
    private final ManagedFiles files;
    private final Jdbc jdbc;
    private final WriteFence fence;
    private final PostmasterWatch watch;
    private final List<PgListener> listeners;
    private final ExecutorService workers;
    private final ScheduledExecutorService scheduler;
    private final ReentrantLock changing = new ReentrantLock();
    private final Object roleLock = new Object();
    private final OptionalInt serverUid;
    private ManagedFiles.Role role;
    /** initdb or pg_basebackup is filling the data directory: it is not a usable one yet. */
    private volatile boolean creating;
    private volatile boolean closed;

    PgController(PgConfig cfg, Binaries bin, OptionalInt uid, OptionalInt gid, List<PgListener> listeners) {
        this.cfg = cfg;
        this.bin = bin;
        this.serverUid = uid;
        this.listeners = List.copyOf(listeners);
        List<String> secrets = new ArrayList<>(List.of(cfg.superuser().password(), cfg.replicationUser().password()));
        cfg.rewindUser().ifPresent(u -> secrets.add(u.password()));
        this.redactor = new Redactor(secrets);
        this.fs = new Fs(uid, gid);
        this.files = new ManagedFiles(cfg, fs);
        this.cmds = new Commands(cfg.runAsUser(), files.passFile(), redactor);
        this.jdbc = new Jdbc(cfg, redactor);
        this.workers = Executors.newCachedThreadPool(daemon("pgha-pg-" + cfg.name()));
        this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("pgha-pg-watch-" + cfg.name()));
        this.fence = new WriteFence(cfg.dataDirectory(), pid -> emit(new PgEvent.FenceFired(cfg.name(), pid)));
        this.watch = new PostmasterWatch(scheduler, workers, cfg.crashPollInterval(),
                (pid, expected) -> {
                    jdbc.invalidate();
                    if (!expected) {
                        LOG.warn("{}: postmaster {} exited unexpectedly", cfg.name(), pid);
                    }
                    emit(new PgEvent.PostmasterExited(cfg.name(), pid, expected));
                });
        // a server that already runs (the JVM restarted) is watched from the start
        PidFile.read(cfg.dataDirectory()).filter(p -> Proc.isAliveIn(p.pid(), realDataDir())).ifPresent(p -> watch.watch(p.pid()));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The member name this controller was built with. */
    public String name() {
        return cfg.name();
    }

    public Path dataDirectory() {
        return cfg.dataDirectory();
    }

    /** The major version of the PostgreSQL binaries in use, e.g. {@code 15}. */
    public int majorVersion() {
        return bin.major();
    }

    /** The folder holding the PostgreSQL binaries in use. */
    public Path binDirectory() {
        return bin.dir();
    }

    /** Where the server writes its log (pg_ctl's {@code -l}). */
    public Path serverLog() {
        return files.serverLog();
    }

    /** The write fence helper's pid while it runs (tests). */
    Optional<Long> fenceHelperPid() {
        return fence.helperPid();
    }

    /** {@code pg_controldata}, parsed. */
    public CompletionStage<ControlData> controlData() {
        return async("pg_controldata", this::readControlData);
    }

    // =========================================================================== SPI

    @Override
    public CompletionStage<PostgresState> observe() {
        Duration bound = cfg.connectTimeout().plus(cfg.statementTimeout()).plusSeconds(2);
        return deadline(async("observe", this::observeNow), bound, "observe");
    }

    @Override
    public CompletionStage<String> bootstrap() {
        return changing("bootstrap", this::bootstrapNow);
    }

    @Override
    public CompletionStage<Void> cloneFrom(Upstream source) {
        Objects.requireNonNull(source, "source");
        return changing("clone from " + source.member(), () -> {
            cloneNow(source);
            return null;
        });
    }

    @Override
    public CompletionStage<Void> start(Duration timeout) {
        return changing("start", () -> {
            startNow(timeout);
            return null;
        });
    }

    @Override
    public CompletionStage<Void> stop(StopMode mode, Duration timeout) {
        Objects.requireNonNull(mode, "mode");
        if (mode == StopMode.IMMEDIATE) {
            // fencing: do not queue behind a long operation (a start waiting on a standby's consistency)
            return async("stop (immediate)", () -> {
                stopNow(mode, timeout);
                return null;
            });
        }
        return changing("stop (" + mode.name().toLowerCase(Locale.ROOT) + ")", () -> {
            stopNow(mode, timeout);
            return null;
        });
    }

    @Override
    public CompletionStage<Void> restart(StopMode mode, Duration timeout) {
        return changing("restart", () -> {
            stopNow(mode, timeout);
            startNow(timeout);
            return null;
        });
    }

    @Override
    public CompletionStage<Void> reload() {
        return async("reload", () -> {
            reloadNow();
            return null;
        });
    }

    @Override
    public CompletionStage<Duration> promote(Duration timeout) {
        return changing("promote", () -> promoteNow(timeout));
    }

    @Override
    public CompletionStage<Void> follow(Optional<Upstream> upstream, Duration timeout) {
        Objects.requireNonNull(upstream, "upstream");
        return changing("follow " + upstream.map(Upstream::member).orElse("nobody"), () -> {
            followNow(upstream, timeout);
            return null;
        });
    }

    @Override
    public CompletionStage<DivergenceCheck> checkDivergence(Upstream upstream) {
        Objects.requireNonNull(upstream, "upstream");
        return async("divergence check against " + upstream.member(), () -> checkDivergenceNow(upstream));
    }

    @Override
    public CompletionStage<Void> rewind(Upstream source) {
        Objects.requireNonNull(source, "source");
        return changing("rewind from " + source.member(), () -> {
            rewindNow(source);
            return null;
        });
    }

    @Override
    public CompletionStage<Void> removeData() {
        return changing("remove the data directory", () -> {
            if (livePostmaster().isPresent()) {
                throw new ServerStateException(cfg.name() + ": cannot remove the data directory while PostgreSQL runs: stop it first");
            }
            Fs.deleteContents(cfg.dataDirectory());
            synchronized (roleLock) {
                role = new ManagedFiles.Role(Optional.empty(), SynchronousStandbys.NONE);
            }
            LOG.info("{}: removed the data directory {}", cfg.name(), cfg.dataDirectory());
            return null;
        });
    }

    @Override
    public CompletionStage<Void> setSynchronousStandbys(SynchronousStandbys value) {
        Objects.requireNonNull(value, "value");
        return async("set synchronous_standby_names", () -> {
            setSynchronousNow(value);
            return null;
        });
    }

    @Override
    public CompletionStage<Void> checkpoint() {
        return async("checkpoint", () -> {
            checkpointNow();
            return null;
        });
    }

    @Override
    public String connectionUrl() {
        return ConnUrl.format(cfg.connectHost(), cfg.port(), "postgres");
    }

    @Override
    public boolean armFence(long deadline, io.pgha.Ticker clock) {
        return fence.arm(deadline, clock);
    }

    @Override
    public Optional<String> externalFence() {
        return Optional.of("a helper process that kills the postmaster at the lease deadline");
    }

    @Override
    public void disarmFence() {
        fence.disarm();
    }

    @Override
    public Subscription onStateChange(Runnable callback) {
        Objects.requireNonNull(callback, "callback");
        return watch.subscribe(callback);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        fence.close();
        watch.close();
        jdbc.close();
        scheduler.shutdownNow();
        workers.shutdownNow();
    }

    @Override
    public String toString() {
        return "PgController[" + cfg.name() + " " + cfg.dataDirectory() + " port " + cfg.port() + "]";
    }

    // =========================================================================== observe

    private PostgresState observeNow() {
        if (creating || !isInitialized()) {
            return PostgresState.uninitialized();
        }
        Optional<PidFile> pf = livePostmaster();
        if (pf.isPresent()) {
            watch.watch(pf.get().pid());
            if (!pf.get().ready()) {
                return fileState(RunState.STARTING);
            }
            try {
                return runningState();
            } catch (Jdbc.NotAcceptingConnectionsException e) {
                return fileState(RunState.STARTING);
            } catch (PostgresException e) {
                // it may have died between the pid check and the query (a crash, a fence):
                // then what the files say is the answer, not the failed connection
                if (livePostmaster().isPresent()) {
                    throw e;
                }
            }
        }
        ControlData cd = readControlData();
        // a fresh pg_basebackup or pg_rewind result carries a backup_label and the source's
        // "in production" state: that is a copy waiting for its first start, not a crash
        boolean copy = Files.exists(cfg.dataDirectory().resolve("backup_label"));
        return fileState(cd.state().isCleanShutdown() || copy ? RunState.STOPPED : RunState.CRASHED, cd);
    }

    private PostgresState runningState() {
        ManagedFiles.Role r = role();
        return jdbc.local("observe", c -> {
            boolean inRecovery;
            int version;
            String sysid;
            Lsn write;
            Lsn flush;
            Lsn receive;
            Lsn replay;
            int timeline;
            String sync;
            int checkpointTimeline;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                    SELECT pg_is_in_recovery(),
                           current_setting('server_version_num')::int,
                           (SELECT system_identifier::text FROM pg_control_system()),
                           CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END,
                           CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn()::text END,
                           pg_last_wal_receive_lsn()::text,
                           pg_last_wal_replay_lsn()::text,
                           CASE WHEN pg_is_in_recovery() THEN 0
                                ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
                           current_setting('synchronous_standby_names'),
                           (SELECT timeline_id FROM pg_control_checkpoint())""")) {
                rs.next();
                inRecovery = rs.getBoolean(1);
                version = rs.getInt(2);
                sysid = rs.getString(3);
                write = lsn(rs.getString(4));
                flush = lsn(rs.getString(5));
                receive = lsn(rs.getString(6));
                replay = lsn(rs.getString(7));
                timeline = rs.getInt(8);
                sync = rs.getString(9);
                checkpointTimeline = rs.getInt(10);
            }
            boolean streaming = false;
            if (inRecovery) {
                timeline = checkpointTimeline;
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                        "SELECT status, sender_host, sender_port, received_tli FROM pg_stat_wal_receiver")) {
                    if (rs.next()) {
                        int tli = rs.getInt(4);
                        if (tli > 0) {
                            timeline = tli;
                        }
                        Optional<Upstream> up = r.upstream();
                        streaming = "streaming".equals(rs.getString(1)) && up.isPresent()
                                && sameServer(up.get(), rs.getString(2), rs.getInt(3));
                    }
                }
            }
            List<ReplicationConnection> replication = new ArrayList<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT application_name, state, sync_state, flush_lsn::text, replay_lsn::text FROM pg_stat_replication"
                            + " ORDER BY application_name")) {
                while (rs.next()) {
                    replication.add(new ReplicationConnection(nz(rs.getString(1)), nz(rs.getString(2)), nz(rs.getString(3)),
                            lsn(rs.getString(4)), lsn(rs.getString(5))));
                }
            }
            return new PostgresState(RunState.RUNNING, inRecovery, Optional.ofNullable(sysid), timeline,
                    inRecovery ? Lsn.ZERO : write, inRecovery ? Lsn.ZERO : flush,
                    inRecovery ? receive : Lsn.ZERO, inRecovery ? replay : Lsn.ZERO,
                    inRecovery ? r.upstream() : Optional.empty(), streaming, replication, SyncNames.parse(sync),
                    timelineStart(timeline), version);
        });
    }

    private PostgresState fileState(RunState rs) {
        return fileState(rs, readControlData());
    }

    /** What the files say: for a stopped, crashed or starting server. */
    private PostgresState fileState(RunState rs, ControlData cd) {
        boolean standby = files.hasStandbySignal();
        ManagedFiles.Role r = role();
        int timeline = cd.wasInRecovery() && cd.minRecoveryEndTimeline() > 0 ? cd.minRecoveryEndTimeline() : cd.checkpointTimeline();
        Lsn position = Lsn.max(cd.checkpoint(), cd.minRecoveryEnd());
        return new PostgresState(rs, standby, Optional.of(cd.systemIdentifier()), timeline,
                standby ? Lsn.ZERO : cd.checkpoint(), standby ? Lsn.ZERO : cd.checkpoint(),
                Lsn.ZERO, standby ? position : Lsn.ZERO,
                standby ? r.upstream() : Optional.empty(), false, List.of(), r.sync(), timelineStart(timeline), bin.versionNum());
    }

    private static boolean sameServer(Upstream up, String senderHost, int senderPort) {
        if (senderHost == null) {
            return false;
        }
        ConnUrl u = ConnUrl.parse(up.connectionUrl());
        return u.port() == senderPort && u.host().equalsIgnoreCase(senderHost);
    }

    /** Where {@code timeline} began, from its history file; ZERO on timeline 1 or when the file is missing. */
    private Lsn timelineStart(int timeline) {
        if (timeline <= 1) {
            return Lsn.ZERO;
        }
        Path f = cfg.dataDirectory().resolve("pg_wal").resolve(String.format("%08X.history", timeline));
        try {
            return TimelineHistory.parse(Files.readString(f, StandardCharsets.UTF_8)).lastSwitchpoint();
        } catch (IOException e) {
            return Lsn.ZERO;
        }
    }

    // =========================================================================== bootstrap and clone

    private String bootstrapNow() {
        long t0 = System.nanoTime();
        requireEmptyDataDirectory("bootstrap");
        requirePortFree();
        prepareDirectories();
        files.writePassFile();
        boolean created = false;
        try {
            Path pw = cfg.workDirectory().resolve("initdb.pw");
            fs.write(pw, cfg.superuser().password() + "\n", Fs.FILE_600);
            try {
                List<String> argv = new ArrayList<>(List.of(bin.path("initdb").toString(),
                        "-D", cfg.dataDirectory().toString(),
                        "-U", cfg.superuser().name(),
                        "--pwfile=" + pw,
                        "--auth-local=peer", "--auth-host=scram-sha-256",
                        "-E", cfg.encoding(), "--no-instructions"));
                cfg.locale().ifPresent(l -> argv.add("--locale=" + l));
                if (cfg.dataChecksums()) {
                    argv.add("--data-checksums");
                }
                if (!cfg.syncDataFiles()) {
                    argv.add("--no-sync");
                }
                created = true;
                creating = true;
                cmds.check(Commands.Cmd.of(cfg.operationTimeout(), argv));
            } finally {
                creating = false;
                Files.deleteIfExists(pw);
            }
            synchronized (roleLock) {
                role = ManagedFiles.Role.PRIMARY;
                files.removeRecoverySignals();
                files.writeServerFiles(role);
            }
            startNow(cfg.operationTimeout());
            createUsers();
            String sysid = readControlData().systemIdentifier();
            LOG.info("{}: bootstrapped a new cluster (system identifier {}, PostgreSQL {}) in {} ms", cfg.name(), sysid,
                    bin.version(), (System.nanoTime() - t0) / 1_000_000);
            return sysid;
        } catch (IOException e) {
            throw new DataDirectoryException("bootstrap: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (created) {
                // leave nothing half-made behind: the engine retries a bootstrap only into an empty directory
                LOG.warn("{}: bootstrap failed, removing what it created: {}", cfg.name(), e.getMessage());
                quietly(() -> stopNow(StopMode.IMMEDIATE, Duration.ofSeconds(30)));
                quietly(() -> Fs.deleteContents(cfg.dataDirectory()));
            }
            throw e;
        }
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

    private static void createRole(Connection c, Statement st, PgUser u, String options) throws SQLException {
        st.execute("CREATE ROLE " + quoteIdent(u.name()) + " WITH " + options);
        char[] pw = u.password().toCharArray();
        try {
            c.unwrap(PGConnection.class).alterUserPassword(u.name(), pw, "scram-sha-256");
        } finally {
            java.util.Arrays.fill(pw, '\0');
        }
    }

    private void cloneNow(Upstream source) {
        long t0 = System.nanoTime();
        ConnUrl u = ConnUrl.parse(source.connectionUrl());
        requireEmptyDataDirectory("clone");
        prepareDirectories();
        files.writePassFile();
        List<String> argv = new ArrayList<>(List.of(bin.path("pg_basebackup").toString(),
                "-D", cfg.dataDirectory().toString(),
                "-X", "stream", "-c", "fast", "-P", "-w",
                "-d", conninfo(u, cfg.replicationUser(), Optional.empty(), "pgha-clone-" + cfg.name())));
        if (!cfg.syncDataFiles()) {
            argv.add("--no-sync");
        }
        creating = true;
        try {
            Commands.Result r = cmds.run(Commands.Cmd.of(cfg.operationTimeout(), argv).onStderr(line -> {
                Matcher m = PROGRESS.matcher(line);
                if (m.find()) {
                    emit(new PgEvent.CloneProgress(cfg.name(), source.member(), Long.parseLong(m.group(1)), Long.parseLong(m.group(2))));
                }
            }));
            if (!r.ok()) {
                quietly(() -> Fs.deleteContents(cfg.dataDirectory()));
                throw programFailure(r, u, cfg.replicationUser(), "clone from " + source.member());
            }
            synchronized (roleLock) {
                // never start a fresh copy as a primary by mistake: it is a standby until told otherwise
                role = new ManagedFiles.Role(Optional.empty(), SynchronousStandbys.NONE);
                files.writeStandbySignal();
                files.writeServerFiles(role);
            }
        } finally {
            creating = false;
        }
        LOG.info("{}: cloned from {} ({}) in {} ms", cfg.name(), source.member(), u.hostPort(), (System.nanoTime() - t0) / 1_000_000);
    }

    // =========================================================================== start, stop, reload

    private void startNow(Duration timeout) {
        requireInitialized();
        Optional<PidFile> running = livePostmaster();
        if (running.isPresent()) {
            watch.watch(running.get().pid());
            awaitReady(timeout);
            return;
        }
        clearLeftovers();
        synchronized (roleLock) {
            files.writeServerFiles(role());
        }
        files.writePassFile();
        requirePortFree();
        long logOffset = logSize();
        Commands.Result r = cmds.run(Commands.Cmd.of(timeout.plusSeconds(15), List.of(bin.path("pg_ctl").toString(),
                "start", "-D", cfg.dataDirectory().toString(), "-l", files.serverLog().toString(),
                "-w", "-t", Long.toString(seconds(timeout)), "-s")));
        if (!r.ok()) {
            String log = redactor.scrub(logSince(logOffset));
            if (log.contains("Address already in use")) {
                throw new PortInUseException(cfg.name() + ": PostgreSQL could not listen on port " + cfg.port()
                        + ": address already in use (" + lastLines(log, 3) + ")", cfg.port());
            }
            String out = r.stdout() + r.stderr();
            if (out.contains("did not start in time")) {
                throw new PostgresTimeoutException(cfg.name() + ": PostgreSQL did not accept connections within " + timeout.toMillis()
                        + " ms (it keeps starting; server log: " + lastLines(log, 3) + ")");
            }
            throw new CommandFailedException(cfg.name() + ": pg_ctl start failed (exit " + r.exitCode() + "): " + r.tail()
                    + "; server log: " + lastLines(log, 5), "pg_ctl", r.exitCode());
        }
        livePostmaster().ifPresent(p -> watch.watch(p.pid()));
        LOG.info("{}: PostgreSQL started on port {}", cfg.name(), cfg.port());
    }

    private void awaitReady(Duration timeout) {
        long until = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<PidFile> pf = livePostmaster();
            if (pf.isEmpty()) {
                throw new PostgresException(cfg.name() + ": the postmaster exited while starting; server log: "
                        + lastLines(redactor.scrub(logSince(Math.max(0, logSize() - 4096))), 3));
            }
            if (pf.get().ready()) {
                return;
            }
            if (System.nanoTime() - until > 0) {
                throw new PostgresTimeoutException(cfg.name() + ": PostgreSQL did not accept connections within " + timeout.toMillis() + " ms");
            }
            pause(50);
        }
    }

    private void stopNow(StopMode mode, Duration timeout) {
        Optional<PidFile> pf = livePostmaster();
        jdbc.invalidate();
        if (pf.isEmpty()) {
            return;
        }
        long pid = pf.get().pid();
        Runnable endOfExpectedExit = watch.expectingExit();
        try {
            Commands.Result r = cmds.run(Commands.Cmd.of(timeout.plusSeconds(15), List.of(bin.path("pg_ctl").toString(),
                    "stop", "-D", cfg.dataDirectory().toString(), "-m", mode.name().toLowerCase(Locale.ROOT),
                    "-w", "-t", Long.toString(seconds(timeout)), "-s")));
            if (!r.ok() && Proc.isAliveIn(pid, realDataDir())) {
                if (mode == StopMode.IMMEDIATE) {
                    LOG.warn("{}: pg_ctl stop -m immediate failed ({}); killing postmaster {}", cfg.name(), r.tail(), pid);
                    killHard(pid);
                    return;
                }
                if ((r.stdout() + r.stderr()).contains("does not shut down")) {
                    throw new PostgresTimeoutException(cfg.name() + ": PostgreSQL did not stop (" + mode + ") within " + timeout.toMillis() + " ms");
                }
                throw Commands.failed(r);
            }
            // pg_ctl returns once postmaster.pid is gone, a moment before the process itself is:
            // keep the exit "expected" until it is, or the watch would report our own stop as a crash
            long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (Proc.isAliveIn(pid, realDataDir()) && System.nanoTime() - until < 0) {
                pause(10);
            }
        } finally {
            endOfExpectedExit.run();
        }
        LOG.info("{}: PostgreSQL stopped ({})", cfg.name(), mode.name().toLowerCase(Locale.ROOT));
    }

    /** SIGKILL for the postmaster and its children: the children first, so none is left working unsupervised. */
    private void killHard(long pid) {
        Proc.signal(pid, "STOP");
        List<Long> kids = new ArrayList<>();
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "task", Long.toString(pid), "children")).strip();
            for (String k : s.isEmpty() ? new String[0] : s.split("\\s+")) {
                kids.add(Long.parseLong(k));
            }
        } catch (IOException | NumberFormatException e) {
            // no children file: the postmaster is gone already, or the kernel lacks it
        }
        for (long k : kids) {
            Proc.signal(k, "KILL");
        }
        Proc.signal(pid, "KILL");
    }

    private void reloadNow() {
        if (livePostmaster().isEmpty()) {
            return; // a stopped server reads its files when it starts
        }
        cmds.check(Commands.Cmd.of(Duration.ofSeconds(30), List.of(bin.path("pg_ctl").toString(), "reload", "-D",
                cfg.dataDirectory().toString(), "-s")));
    }

    /**
     * After a crash: waits for the old postmaster's children to notice and exit (they do within a
     * moment), kills stragglers, and removes a {@code postmaster.pid} whose pid is a zombie or
     * belongs to some other process - PostgreSQL itself would refuse to start on it.
     */
    private void clearLeftovers() {
        Path real = realDataDir();
        List<Long> left = Proc.processesIn(real);
        long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!left.isEmpty() && System.nanoTime() - until < 0) {
            pause(50);
            left = Proc.processesIn(real);
        }
        if (!left.isEmpty()) {
            LOG.warn("{}: killing leftover server processes {} of a dead postmaster", cfg.name(), left);
            left.forEach(p -> Proc.signal(p, "KILL"));
            until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (!Proc.processesIn(real).isEmpty() && System.nanoTime() - until < 0) {
                pause(50);
            }
            if (!Proc.processesIn(real).isEmpty()) {
                throw new DataDirectoryException(cfg.name() + ": processes " + Proc.processesIn(real) + " still use " + real);
            }
        }
        Optional<PidFile> pf = PidFile.read(cfg.dataDirectory());
        if (pf.isPresent() && Files.exists(Path.of("/proc", Long.toString(pf.get().pid())))) {
            try {
                Files.deleteIfExists(cfg.dataDirectory().resolve("postmaster.pid"));
                LOG.info("{}: removed a stale postmaster.pid (pid {} is a zombie or another process)", cfg.name(), pf.get().pid());
            } catch (IOException e) {
                throw new DataDirectoryException(cfg.name() + ": cannot remove the stale postmaster.pid: " + e.getMessage(), e);
            }
        }
    }

    // =========================================================================== promote and follow

    private Duration promoteNow(Duration timeout) {
        if (livePostmaster().isEmpty()) {
            throw new ServerStateException(cfg.name() + ": cannot promote: PostgreSQL is not running");
        }
        boolean inRecovery = jdbc.local("promote", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
                rs.next();
                return rs.getBoolean(1);
            }
        });
        if (!inRecovery) {
            throw new ServerStateException(cfg.name() + ": cannot promote: it is already a primary");
        }
        long t0 = System.nanoTime();
        Commands.Result r = cmds.run(Commands.Cmd.of(timeout.plusSeconds(15), List.of(bin.path("pg_ctl").toString(), "promote",
                "-D", cfg.dataDirectory().toString(), "-w", "-t", Long.toString(seconds(timeout)), "-s")));
        if (!r.ok()) {
            if ((r.stdout() + r.stderr()).contains("did not promote in time")) {
                throw new PostgresTimeoutException(cfg.name() + ": promotion did not finish within " + timeout.toMillis() + " ms");
            }
            throw Commands.failed(r);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        synchronized (roleLock) {
            role = ManagedFiles.Role.PRIMARY;
            files.removeRecoverySignals();
            files.writeServerFiles(role);
        }
        LOG.info("{}: promoted in {} ms", cfg.name(), took.toMillis());
        emit(new PgEvent.Promoted(cfg.name(), took));
        // as Patroni does: checkpoint at once, so pg_control shows the new timeline and pg_rewind
        // can use this server as its source without waiting for the next scheduled checkpoint
        workers.execute(() -> quietly(this::checkpointNow));
        return took;
    }

    private void followNow(Optional<Upstream> upstream, Duration timeout) {
        requireInitialized();
        upstream.ifPresent(u -> ConnUrl.parse(u.connectionUrl()));
        Optional<PidFile> pm = livePostmaster();
        boolean running = pm.isPresent();
        boolean ready = pm.filter(PidFile::ready).isPresent();
        // a server that is still starting cannot be asked; standby.signal says what it starts as
        boolean primary = ready ? !isInRecoveryNow() : running && !files.hasStandbySignal();
        if (primary) {
            throw new ServerStateException(cfg.name() + ": cannot follow " + upstream.map(Upstream::member).orElse("nobody")
                    + " while running as a primary: stop it first");
        }
        if (upstream.isPresent() && cfg.useReplicationSlots()) {
            ensureSlotOn(upstream.get());
        }
        ManagedFiles.Role next = new ManagedFiles.Role(upstream, SynchronousStandbys.NONE);
        ManagedFiles.Role before;
        synchronized (roleLock) {
            before = role();
            role = next;
            files.writeStandbySignal();
            files.writeServerFiles(next);
        }
        files.writePassFile();
        if (!running) {
            startNow(timeout);
            return;
        }
        if (before.equals(next)) {
            return;
        }
        if (bin.major() >= 13) {
            // primary_conninfo and primary_slot_name are reloadable since 13: the walreceiver restarts on its own
            reloadNow();
            if (ready) {
                awaitSetting("primary_conninfo", upstream.map(files::primaryConninfo).orElse(""));
            }
        } else {
            stopNow(StopMode.FAST, timeout);
            startNow(timeout);
        }
        LOG.info("{}: now following {}", cfg.name(), upstream.map(Upstream::member).orElse("nobody (read-only standby)"));
    }

    /**
     * Creates this member's physical slot on the upstream before pointing the walreceiver at it, so
     * the first connection finds it (Patroni's new primary creates member slots in its own next
     * cycle, and a follower that arrives first waits wal_retrieve_retry_interval). Best effort: the
     * walreceiver retries on its own if this fails.
     */
    private void ensureSlotOn(Upstream up) {
        ConnUrl u = ConnUrl.parse(up.connectionUrl());
        try {
            boolean created = jdbc.remote("creating slot " + cfg.slotName() + " on " + up.member(), u.host(), u.port(),
                    cfg.replicationUser(), true, c -> Walsender.createPhysicalSlot(c, cfg.slotName()));
            if (created) {
                LOG.info("{}: created replication slot '{}' on {}", cfg.name(), cfg.slotName(), up.member());
            }
        } catch (AuthenticationFailedException e) {
            throw e;
        } catch (PostgresException e) {
            LOG.warn("{}: could not create replication slot '{}' on {}: {}", cfg.name(), cfg.slotName(), up.member(), e.getMessage());
        }
    }

    private boolean isInRecoveryNow() {
        return jdbc.local("pg_is_in_recovery", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
                rs.next();
                return rs.getBoolean(1);
            }
        });
    }

    private void awaitSetting(String name, String expected) {
        long until = System.nanoTime() + SETTING_WAIT.toNanos();
        while (true) {
            String now = jdbc.local("SHOW " + name, c -> {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('" + name + "')")) {
                    rs.next();
                    return rs.getString(1);
                }
            });
            if (expected.equals(now)) {
                return;
            }
            if (System.nanoTime() - until > 0) {
                throw new PostgresTimeoutException(cfg.name() + ": the server did not take the new " + name + " within "
                        + SETTING_WAIT.toMillis() + " ms of a reload");
            }
            pause(20);
        }
    }

    // =========================================================================== divergence and rewind

    private DivergenceCheck checkDivergenceNow(Upstream upstream) {
        requireInitialized();
        ConnUrl u = ConnUrl.parse(upstream.connectionUrl());
        Divergence.LocalPosition local = localPosition();
        record Remote(Walsender.Identity id, Optional<TimelineHistory> history) {
        }
        Remote remote = jdbc.remote("divergence check against " + upstream.member(), u.host(), u.port(), cfg.replicationUser(), true,
                c -> {
                    Walsender.Identity id = Walsender.identifySystem(c);
                    Optional<TimelineHistory> h = id.timeline() > local.timeline() && id.timeline() > 1
                            ? Optional.of(Walsender.timelineHistory(c, id.timeline())) : Optional.empty();
                    return new Remote(id, h);
                });
        if (!remote.id().systemId().equals(local.systemId())) {
            throw new ServerStateException(cfg.name() + ": " + upstream.member() + " belongs to another cluster (system identifier "
                    + remote.id().systemId() + ", local " + local.systemId() + ")");
        }
        DivergenceCheck result = Divergence.decide(local, remote.id().timeline(), remote.history());
        LOG.info("{}: local timeline {} at {}, {} on timeline {}: {}", cfg.name(), local.timeline(),
                local.lsn().map(Lsn::toString).orElse("?"), upstream.member(), remote.id().timeline(), result);
        return result;
    }

    private Divergence.LocalPosition localPosition() {
        if (livePostmaster().filter(PidFile::ready).isPresent()) {
            if (isInRecoveryNow()) {
                // the walsender answers with the replay timeline and the furthest WAL on it; the replication
                // role is the one pg_hba.conf surely admits for replication connections
                Walsender.Identity id = jdbc.remote("IDENTIFY_SYSTEM (local)", cfg.localHost(), cfg.port(), cfg.replicationUser(), true,
                        Walsender::identifySystem);
                return new Divergence.LocalPosition(id.systemId(), id.timeline(), Optional.of(id.xlogPos()));
            }
            return jdbc.local("local WAL position", c -> {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                        SELECT (SELECT system_identifier::text FROM pg_control_system()),
                               ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int,
                               pg_current_wal_lsn()::text""")) {
                    rs.next();
                    return new Divergence.LocalPosition(rs.getString(1), rs.getInt(2), Optional.of(Lsn.parse(rs.getString(3))));
                }
            });
        }
        ControlData cd = readControlData();
        if (cd.wasInRecovery() && !cd.minRecoveryEnd().isZero() && cd.minRecoveryEndTimeline() > 0) {
            // a standby replays what its pg_wal holds when it starts again, so count that WAL too
            Optional<Lsn> end = cd.minRecoveryEndTimeline() == cd.checkpointTimeline()
                    ? endOfWal(cd.checkpointTimeline(), cd.checkpointRedo()) : Optional.empty();
            Lsn lsn = end.map(e -> Lsn.max(e, cd.minRecoveryEnd())).orElse(cd.minRecoveryEnd());
            return new Divergence.LocalPosition(cd.systemIdentifier(), cd.minRecoveryEndTimeline(), Optional.of(lsn));
        }
        // a stopped or crashed primary: everything after its last checkpoint's redo point counts
        return new Divergence.LocalPosition(cd.systemIdentifier(), cd.checkpointTimeline(), endOfWal(cd.checkpointTimeline(), cd.checkpointRedo()));
    }

    /**
     * The end of valid WAL on {@code timeline} from {@code start}, read with pg_waldump. It is
     * bounded with {@code -e} by the last segment file present: pg_waldump waits 5 s for a missing
     * next segment otherwise (it retries the open ten times), which is common right at a segment end.
     */
    private Optional<Lsn> endOfWal(int timeline, Lsn start) {
        long segSize = walSegmentSize();
        Optional<Lsn> lastSegmentEnd = lastSegmentEnd(timeline, segSize);
        if (lastSegmentEnd.isEmpty() || lastSegmentEnd.get().compareTo(start) <= 0) {
            return Optional.of(start);
        }
        List<String> argv = new ArrayList<>(List.of(bin.path("pg_waldump").toString(),
                "-p", cfg.dataDirectory().resolve("pg_wal").toString(),
                "-t", Integer.toString(timeline), "-s", start.toString(), "-e", lastSegmentEnd.get().toString()));
        argv.add(bin.major() >= 15 ? "--quiet" : "--stats");
        Commands.Result r = cmds.run(Commands.Cmd.of(cfg.operationTimeout(), argv));
        if (r.ok()) {
            return lastSegmentEnd; // valid up to the end of the last segment file
        }
        Optional<Lsn> end = Divergence.parseEndOfWal(r.stderr(), segSize);
        if (end.isEmpty()) {
            LOG.warn("{}: could not find the end of WAL with pg_waldump: {}", cfg.name(), r.tail());
        }
        return end;
    }

    /** The end of the newest complete-named WAL segment file of {@code timeline} in pg_wal. */
    private Optional<Lsn> lastSegmentEnd(int timeline, long segSize) {
        String prefix = String.format("%08X", timeline);
        try (Stream<Path> s = Files.list(cfg.dataDirectory().resolve("pg_wal"))) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.length() == 24 && n.startsWith(prefix) && n.matches("[0-9A-F]{24}"))
                    .max(String::compareTo)
                    .map(n -> Divergence.segmentStart(n, segSize).plus(segSize));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private long walSegmentSize() {
        try {
            return readControlData().get("Bytes per WAL segment").map(Long::parseLong).orElse(16L * 1024 * 1024);
        } catch (RuntimeException e) {
            return 16L * 1024 * 1024;
        }
    }

    private void rewindNow(Upstream source) {
        long t0 = System.nanoTime();
        requireInitialized();
        if (livePostmaster().isPresent()) {
            throw new ServerStateException(cfg.name() + ": cannot rewind while PostgreSQL runs: stop it first");
        }
        ConnUrl u = ConnUrl.parse(source.connectionUrl());
        ControlData cd = readControlData();
        if (!cd.state().isCleanShutdown()) {
            crashRecovery(cd);
        }
        ensureSourceCheckpointed(source, u);
        Path backup = cfg.workDirectory().resolve("rewind-backup");
        List<String> keep = List.of("postgresql.conf", "pg_ident.conf", "postgresql.auto.conf");
        copyFiles(cfg.dataDirectory(), backup, keep);
        List<String> argv = new ArrayList<>(List.of(bin.path("pg_rewind").toString(), "-D", cfg.dataDirectory().toString(),
                "--source-server=" + conninfo(u, cfg.rewindRole(), Optional.of("postgres"), "pgha-rewind-" + cfg.name())));
        if (!cfg.syncDataFiles()) {
            argv.add("--no-sync");
        }
        Commands.Result r = cmds.run(Commands.Cmd.of(cfg.operationTimeout(), argv));
        if (!r.ok()) {
            PostgresException failure = programFailure(r, u, cfg.rewindRole(), "rewind from " + source.member());
            if (!cfg.removeDataDirectoryOnRewindFailure() || failure instanceof AuthenticationFailedException) {
                // the target may be half-rewound: it must not come up as a primary
                quietly(files::writeStandbySignal);
                throw failure;
            }
            LOG.warn("{}; remove_data_directory_on_rewind_failure is on: wiping the data directory and cloning from {}",
                    failure.getMessage(), source.member());
            Fs.deleteContents(cfg.dataDirectory());
            cloneNow(source);
            return;
        }
        // pg_rewind copied the source's configuration files over ours: put back the local ones
        copyFiles(backup, cfg.dataDirectory(), keep);
        synchronized (roleLock) {
            role = new ManagedFiles.Role(Optional.empty(), SynchronousStandbys.NONE);
            files.writeStandbySignal();
            files.writeServerFiles(role);
        }
        LOG.info("{}: rewound from {} in {} ms", cfg.name(), source.member(), (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * pg_rewind needs a cleanly shut down target. After a crash, replay the local WAL in single-user
     * mode (which refuses to run with standby.signal, so it is set aside meanwhile).
     */
    private void crashRecovery(ControlData cd) {
        LOG.info("{}: the last shutdown was not clean ({}): running crash recovery in single-user mode", cfg.name(), cd.state());
        clearLeftovers();
        boolean standby = files.hasStandbySignal();
        files.removeRecoverySignals();
        synchronized (roleLock) {
            files.writeServerFiles(role());
        }
        try {
            Commands.Result r = cmds.run(Commands.Cmd.of(cfg.operationTimeout(), List.of(bin.path("postgres").toString(), "--single",
                    "-F", "-D", cfg.dataDirectory().toString(), "-c", "archive_mode=off", "template1")));
            if (!r.ok()) {
                throw new CommandFailedException(cfg.name() + ": crash recovery (postgres --single) failed (exit " + r.exitCode() + "): "
                        + r.tail(), "postgres", r.exitCode());
            }
        } finally {
            if (standby) {
                files.writeStandbySignal();
            }
        }
        ControlData after = readControlData();
        if (!after.state().isCleanShutdown()) {
            throw new DataDirectoryException(cfg.name() + ": still '" + after.state() + "' after single-user crash recovery");
        }
    }

    /** pg_rewind reads the source's timeline from its pg_control, which moves only at a checkpoint after promotion. */
    private void ensureSourceCheckpointed(Upstream source, ConnUrl u) {
        jdbc.remote("checkpoint on " + source.member(), u.host(), u.port(), cfg.superuser(), false, cfg.operationTimeout(), c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                    SELECT pg_is_in_recovery(),
                           (SELECT timeline_id FROM pg_control_checkpoint()),
                           CASE WHEN pg_is_in_recovery() THEN 0
                                ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END""")) {
                rs.next();
                if (!rs.getBoolean(1) && rs.getInt(2) < rs.getInt(3)) {
                    LOG.info("{}: {} has not checkpointed since its promotion: asking for a CHECKPOINT", cfg.name(), source.member());
                    try (Statement cp = c.createStatement()) {
                        cp.execute("CHECKPOINT");
                    }
                }
            }
            return null;
        });
    }

    // =========================================================================== synchronous replication, checkpoint

    private void setSynchronousNow(SynchronousStandbys value) {
        synchronized (roleLock) {
            role = role().withSync(value);
            if (isInitialized()) {
                files.writeServerFiles(role);
            }
        }
        if (livePostmaster().filter(PidFile::ready).isPresent()) {
            reloadNow();
            awaitSetting("synchronous_standby_names", value.toSetting());
        }
        LOG.info("{}: synchronous_standby_names = '{}'", cfg.name(), value.toSetting());
    }

    /** On its own connection: a CHECKPOINT may take far longer than pgha's usual statement timeout. */
    private void checkpointNow() {
        jdbc.remote("checkpoint", cfg.localHost(), cfg.port(), cfg.superuser(), false, cfg.operationTimeout(), c -> {
            try (Statement st = c.createStatement()) {
                st.execute("CHECKPOINT");
            }
            return null;
        });
    }

    // =========================================================================== helpers

    private ManagedFiles.Role role() {
        synchronized (roleLock) {
            if (role == null) {
                role = files.readRole();
            }
            return role;
        }
    }

    private boolean isInitialized() {
        return Files.isRegularFile(cfg.dataDirectory().resolve("PG_VERSION"));
    }

    private void requireInitialized() {
        if (!isInitialized()) {
            throw new DataDirectoryException(cfg.name() + ": " + cfg.dataDirectory()
                    + " holds no PostgreSQL data directory (no PG_VERSION): bootstrap or clone first");
        }
        try {
            String v = Files.readString(cfg.dataDirectory().resolve("PG_VERSION")).strip();
            if (!v.equals(Integer.toString(bin.major()))) {
                throw new DataDirectoryException(cfg.name() + ": " + cfg.dataDirectory() + " belongs to PostgreSQL " + v
                        + ", but the binaries in " + bin.dir() + " are " + bin.version());
            }
        } catch (IOException e) {
            throw new DataDirectoryException(cfg.name() + ": cannot read PG_VERSION: " + e.getMessage(), e);
        }
    }

    private void requireEmptyDataDirectory(String what) {
        Path d = cfg.dataDirectory();
        if (!Files.exists(d)) {
            return;
        }
        if (!Files.isDirectory(d)) {
            throw new DataDirectoryException("cannot " + what + ": " + d + " is not a directory");
        }
        int owner = Fs.ownerUid(d);
        int expected = serverUid.orElse(Proc.currentUid());
        boolean ours = owner == Proc.currentUid() && Fs.isEmptyDir(d);
        // an empty folder the JVM's own user (root) made is taken over: prepareDirectories gives it to the server's user
        if (owner != expected && !ours) {
            throw new DataDirectoryException("cannot " + what + ": " + d + " is owned by " + ownerName(d) + " (uid " + owner
                    + "), not by " + cfg.runAsUser().orElse(System.getProperty("user.name")) + " (uid " + expected
                    + ") who runs PostgreSQL");
        }
        if (!Fs.isEmptyDir(d)) {
            List<String> some = new ArrayList<>();
            try (Stream<Path> s = Files.list(d)) {
                s.limit(4).forEach(p -> some.add(p.getFileName().toString()));
            } catch (IOException e) {
                // the names are only for the message
            }
            throw new DataDirectoryException("cannot " + what + ": data directory " + d + " is not empty (holds "
                    + String.join(", ", some) + ")");
        }
    }

    private static String ownerName(Path p) {
        try {
            return Files.getOwner(p).getName();
        } catch (IOException e) {
            return "?";
        }
    }

    /** Data and work directories exist, belong to the server's user, and that user can reach them. */
    private void prepareDirectories() {
        fs.mkdir(cfg.dataDirectory());
        fs.mkdir(cfg.workDirectory());
        if (cfg.runAsUser().isPresent()) {
            Commands.Result r = cmds.run(Commands.Cmd.of(Duration.ofSeconds(10), List.of("test",
                    "-w", cfg.dataDirectory().toString(), "-a", "-x", cfg.dataDirectory().toString(),
                    "-a", "-w", cfg.workDirectory().toString())));
            if (!r.ok()) {
                throw new DataDirectoryException("user " + cfg.runAsUser().get() + " cannot write to " + cfg.dataDirectory() + " or "
                        + cfg.workDirectory() + ": check that every parent directory is searchable (x) for it");
            }
        }
    }

    private void requirePortFree() {
        for (String addr : cfg.listenAddresses().split(",")) {
            String a = addr.strip();
            if (a.isEmpty()) {
                continue;
            }
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                InetSocketAddress where = a.equals("*") ? new InetSocketAddress(cfg.port())
                        : new InetSocketAddress(InetAddress.getByName(a), cfg.port());
                s.bind(where);
            } catch (BindException e) {
                if (e.getMessage() == null || !e.getMessage().contains("in use")) {
                    continue; // "cannot assign requested address": not ours to judge, PostgreSQL will say
                }
                throw new PortInUseException(cfg.name() + ": port " + cfg.port() + " on " + a
                        + " is already in use by another process", cfg.port());
            } catch (IOException e) {
                // an address we cannot check from Java (e.g. not local yet): PostgreSQL will tell
            }
        }
    }

    private Optional<PidFile> livePostmaster() {
        return PidFile.read(cfg.dataDirectory()).filter(p -> Proc.isAliveIn(p.pid(), realDataDir()));
    }

    private Path realDataDir() {
        try {
            return cfg.dataDirectory().toRealPath();
        } catch (IOException e) {
            return cfg.dataDirectory();
        }
    }

    private ControlData readControlData() {
        Commands.Result r = cmds.run(Commands.Cmd.of(Duration.ofSeconds(30),
                List.of(bin.path("pg_controldata").toString(), "-D", cfg.dataDirectory().toString())));
        if (!r.ok()) {
            throw new DataDirectoryException(cfg.name() + ": pg_controldata failed: " + r.tail());
        }
        return ControlData.parse(r.stdout());
    }

    /** A libpq connection string without a password: libpq finds it in the pass file (PGPASSFILE). */
    private String conninfo(ConnUrl u, PgUser user, Optional<String> db, String applicationName) {
        return "host=" + Gucs.conninfoValue(u.host()) + " port=" + u.port() + " user=" + Gucs.conninfoValue(user.name())
                + db.map(d -> " dbname=" + Gucs.conninfoValue(d)).orElse("")
                + " application_name=" + Gucs.conninfoValue(applicationName) + " connect_timeout=10";
    }

    /** Turns a failed pg_basebackup / pg_rewind into the exception that names the problem. */
    private PostgresException programFailure(Commands.Result r, ConnUrl u, PgUser user, String what) {
        String out = r.stderr() + "\n" + r.stdout();
        if (out.contains("password authentication failed") || out.contains("no pg_hba.conf entry")
                || out.contains("no password supplied") || out.contains("authentication failed")) {
            return new AuthenticationFailedException(cfg.name() + ": " + what + ": " + u.hostPort() + " rejected user '"
                    + user.name() + "' (" + r.tail() + ")");
        }
        if (out.contains("Connection refused") || out.contains("could not connect") || out.contains("connection to server")) {
            return new PostgresException(cfg.name() + ": " + what + ": cannot connect to " + u.hostPort() + " (" + r.tail() + ")");
        }
        if (out.contains("timeout expired")) {
            return new PostgresTimeoutException(cfg.name() + ": " + what + ": " + u.hostPort() + " did not answer (" + r.tail() + ")");
        }
        return new CommandFailedException(cfg.name() + ": " + what + ": " + r.program() + " failed (exit " + r.exitCode() + "): "
                + r.tail(), r.program(), r.exitCode());
    }

    private void copyFiles(Path from, Path to, List<String> names) {
        try {
            if (!Files.isDirectory(to)) {
                fs.mkdir(to);
            }
            for (String n : names) {
                Path src = from.resolve(n);
                if (Files.isRegularFile(src)) {
                    Path dst = to.resolve(n);
                    Files.copy(src, dst, StandardCopyOption.REPLACE_EXISTING);
                    Files.setPosixFilePermissions(dst, Fs.FILE_600);
                    fs.own(dst);
                }
            }
        } catch (IOException e) {
            throw new DataDirectoryException(cfg.name() + ": cannot copy configuration files from " + from + " to " + to + ": "
                    + e.getMessage(), e);
        }
    }

    private long logSize() {
        try {
            return Files.exists(files.serverLog()) ? Files.size(files.serverLog()) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private String logSince(long offset) {
        try (RandomAccessFile f = new RandomAccessFile(files.serverLog().toFile(), "r")) {
            long len = f.length();
            long from = Math.max(offset, len - 64 * 1024);
            byte[] b = new byte[(int) Math.max(0, len - from)];
            f.seek(from);
            f.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static String lastLines(String text, int n) {
        String[] lines = text.strip().split("\n");
        return String.join(" | ", java.util.Arrays.asList(lines).subList(Math.max(0, lines.length - n), lines.length));
    }

    private static long seconds(Duration d) {
        return Math.max(1, (d.toMillis() + 999) / 1000);
    }

    private static Lsn lsn(String s) {
        return s == null ? Lsn.ZERO : Lsn.parse(s);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }

    static String quoteIdent(String id) {
        return "\"" + id.replace("\"", "\"\"") + "\"";
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PostgresException("interrupted");
        }
    }

    private void quietly(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.debug("{}: ignored: {}", cfg.name(), redactor.scrub(e.getMessage()));
        }
    }

    private void emit(PgEvent e) {
        for (PgListener l : listeners) {
            try {
                l.onEvent(e);
            } catch (RuntimeException ex) {
                LOG.warn("{}: a PgListener failed on {}", cfg.name(), e, ex);
            }
        }
    }

    /**
     * Runs on a worker thread; failures become {@link PostgresException}s with scrubbed messages.
     * Cancelling the returned future interrupts the work, which kills a running program.
     */
    private <T> CompletableFuture<T> async(String what, Callable<T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            Future<?> task = workers.submit(() -> {
                try {
                    f.complete(work.call());
                } catch (Throwable e) {
                    f.completeExceptionally(asPostgresException(what, e));
                }
            });
            f.whenComplete((v, e) -> {
                if (f.isCancelled()) {
                    task.cancel(true);
                }
            });
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(new PostgresException(cfg.name() + ": " + what + ": the controller is closed"));
        }
        return f;
    }

    /** Like {@link #async} but one at a time: operations that change the server never overlap. */
    private <T> CompletableFuture<T> changing(String what, Callable<T> work) {
        return async(what, () -> {
            changing.lockInterruptibly();
            try {
                return work.call();
            } finally {
                changing.unlock();
            }
        });
    }

    private PostgresException asPostgresException(String what, Throwable e) {
        Throwable t = e instanceof CompletionException || e instanceof ExecutionException ? e.getCause() : e;
        if (t instanceof PostgresException p) {
            return p;
        }
        if (t instanceof InterruptedException) {
            return new PostgresException(cfg.name() + ": " + what + " was interrupted");
        }
        PostgresException p = new PostgresException(cfg.name() + ": " + what + " failed: " + redactor.scrub(String.valueOf(t.getMessage())));
        p.setStackTrace(t.getStackTrace());
        return p;
    }

    private <T> CompletableFuture<T> deadline(CompletableFuture<T> f, Duration bound, String what) {
        if (f.isDone()) {
            return f;
        }
        CompletableFuture<T> r = new CompletableFuture<>();
        f.whenComplete((v, e) -> {
            if (e != null) {
                r.completeExceptionally(e instanceof CompletionException && e.getCause() != null ? e.getCause() : e);
            } else {
                r.complete(v);
            }
        });
        try {
            scheduler.schedule(() -> r.completeExceptionally(new PostgresTimeoutException(cfg.name() + ": " + what
                    + " got no answer within " + bound.toMillis() + " ms")), bound.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed: the work itself is bounded by its own timeouts
        }
        return r;
    }

    private static ThreadFactory daemon(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    // =========================================================================== builder

    /**
     * Builds a {@link PgController}. Each setter checks its argument at once and may be called only
     * once; {@link #build()} checks the combination, finds the PostgreSQL binaries and resolves the
     * server's user, so a controller that builds is ready to use.
     */
    public static final class Builder extends ControllerBuilder {
        private Builder() {
        }
    }
}
