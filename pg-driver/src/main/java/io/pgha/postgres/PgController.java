package io.pgha.postgres;

import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.PostgresController;
import io.pgha.spi.PostgresState;
import io.pgha.spi.ServerSettings;
import io.pgha.spi.StopMode;
import io.pgha.spi.Subscription;
import io.pgha.spi.SynchronousStandbys;
import io.pgha.spi.Upstream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.OptionalInt;
import java.util.concurrent.CompletionStage;

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
    /**
     * Settings every member shares (Patroni's command-line options: {@code max_connections},
     * {@code wal_level}, ...): the cluster's dynamic value wins over a member's own.
     */
    public static final Set<String> SHARED_SETTINGS = ServerParameters.CLUSTER_WIDE.keySet();
    /** Settings pgha derives itself (port, primary_conninfo, ...): {@code parameter()} refuses them. */
    public static final Set<String> MANAGED_SETTINGS = ServerParameters.OWNED;
    private static final Logger LOG = LoggerFactory.getLogger(PgController.class);

    // The work is done by package-private parts, one concern each (see package-info). This class
    // wires them together, decides for each call whether it waits its turn behind the operations
    // that change the server or runs beside them, and closes the parts in order.
    private final PgConfig cfg;
    private final Binaries bin;
    private final ManagedFiles files;
    private final Jdbc jdbc;
    private final WriteFence fence;
    private final PostmasterWatch watch;
    private final OperationRunner runner;
    private final DataDirectory dataDir;
    private final StateReader state;
    private final ServerProcess process;
    private final Provisioning provisioning;
    private final RoleChanges roles;
    private final Divergence divergence;
    private final Rewind rewind;
    private final Slots slots;
    private final AssignedRole role;
    private volatile boolean closed;

    PgController(PgConfig cfg, Binaries bin, OptionalInt uid, OptionalInt gid, List<PgListener> listenerList) {
        this.cfg = cfg;
        this.bin = bin;
        List<String> secrets = new ArrayList<>(List.of(cfg.replicationUser().password()));
        if (cfg.superuser().hasPassword()) {
            secrets.add(cfg.superuser().password());
        }
        cfg.rewindUser().ifPresent(u -> secrets.add(u.password()));
        for (PgUser u : List.of(cfg.superuser(), cfg.replicationUser(), cfg.rewindRole())) {
            u.ssl().password().ifPresent(secrets::add); // a client key's passphrase is a secret too
        }
        Redactor redactor = new Redactor(secrets);
        PgListeners listeners = new PgListeners(cfg.name(), listenerList);
        Fs fs = new Fs(uid, gid);
        this.files = new ManagedFiles(cfg, fs);
        Commands cmds = new Commands(cfg.runAsUser(), files.passFile(), files.serviceFile(), redactor);
        this.jdbc = new Jdbc(cfg, redactor);
        this.runner = new OperationRunner(cfg.name(), redactor);
        this.fence = new WriteFence(cfg.dataDirectory(), pid -> listeners.emit(new PgEvent.FenceFired(cfg.name(), pid)));
        this.watch = new PostmasterWatch(cfg.name(), runner.scheduler(), runner.callbacks(), cfg.crashPollInterval(),
                jdbc::openWatcher, (pid, expected) -> {
                    jdbc.invalidate();
                    if (!expected) {
                        LOG.warn("{}: postmaster {} exited unexpectedly", cfg.name(), pid);
                    }
                    listeners.emit(new PgEvent.PostmasterExited(cfg.name(), pid, expected));
                });
        this.dataDir = new DataDirectory(cfg, bin, fs, cmds, uid);
        this.role = new AssignedRole(files, dataDir);
        this.state = new StateReader(cfg, bin, jdbc, files, watch, dataDir, role);
        this.process = new ServerProcess(cfg, bin, cmds, redactor, files, jdbc, watch, dataDir, role);
        this.provisioning = new Provisioning(cfg, bin, fs, files, cmds, jdbc, dataDir, role, process, runner, listeners);
        this.roles = new RoleChanges(cfg, bin, cmds, files, jdbc, dataDir, role, process, state, runner, listeners);
        this.divergence = new Divergence(cfg, bin, cmds, jdbc, dataDir, state);
        this.rewind = new Rewind(cfg, bin, fs, files, cmds, jdbc, dataDir, role, process, provisioning, runner);
        this.slots = new Slots(cfg, jdbc, fs, on -> {
            if (role.enforceHotStandbyFeedback(on) && dataDir.livePostmaster().isPresent()) {
                process.reload();
            }
        });
        // a server that already runs (the JVM restarted) is watched from the start
        dataDir.livePostmaster().ifPresent(p -> watch.watch(p.pid()));
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
        return runner.async("pg_controldata", dataDir::controlData);
    }

    // =========================================================================== SPI

    @Override
    public CompletionStage<PostgresState> observe() {
        Duration bound = cfg.connectTimeout().plus(cfg.statementTimeout()).plusSeconds(2);
        return runner.withDeadline(runner.async("observe", state::read), bound, "observe");
    }

    @Override
    public CompletionStage<String> bootstrap() {
        return runner.changing("bootstrap", provisioning::bootstrap);
    }

    @Override
    public CompletionStage<Void> cloneFrom(Upstream source) {
        Objects.requireNonNull(source, "source");
        return runner.changing("clone from " + source.member(), () -> provisioning.cloneFrom(source));
    }

    /**
     * The standby leader's copy of a remote primary with {@code standby_cluster.create_replica_methods}:
     * {@code basebackup} is pg_basebackup (with this controller's basebackup options, if it has any),
     * another name one of the methods this controller was built with ({@code postgresql.create_replica_methods}).
     */
    @Override
    public CompletionStage<Void> cloneFrom(Upstream source, List<String> methods) {
        Objects.requireNonNull(source, "source");
        if (methods.isEmpty()) {
            return cloneFrom(source);
        }
        return runner.changing("clone from " + source.member(), () -> provisioning.cloneFrom(source, methods));
    }

    @Override
    public CompletionStage<List<io.pgha.spi.ReplicationSlot>> syncSlots(io.pgha.spi.SlotPlan plan) {
        java.util.Objects.requireNonNull(plan, "plan");
        return runner.async("synchronise replication slots", () -> slots.sync(plan));
    }

    /**
     * Copies the primary's permanent logical slots into this running standby (PostgreSQL 11 to 16;
     * Patroni's {@code copy_logical_slots}): reads their state files on {@code primary} first, and
     * only if it has any of them, stops this server (fast), writes them into its
     * {@code pg_replslot}, turns {@code hot_standby_feedback} on and starts it again as the standby
     * it was. Waits its turn behind the operations that change the server.
     */
    @Override
    public CompletionStage<Set<String>> copyLogicalSlots(io.pgha.spi.Upstream primary, Map<String, io.pgha.spi.SlotPlan.LogicalSlot> wanted,
                                                         Duration timeout) {
        Objects.requireNonNull(primary, "primary");
        Map<String, io.pgha.spi.SlotPlan.LogicalSlot> copy = Map.copyOf(wanted);
        if (bin.major() >= 17) {
            // PostgreSQL 17 synchronises failover slots itself (sync_replication_slots), which Patroni uses there; pgha does
            // not set that up yet, and the file copy below is Patroni's way up to 16 only. The engine warns once.
            return java.util.concurrent.CompletableFuture.failedFuture(new UnsupportedOperationException("PostgreSQL " + bin.major()
                    + " would need sync_replication_slots, which pgha does not set up yet"));
        }
        return runner.changing("copy logical slots " + new java.util.TreeSet<>(copy.keySet()) + " from " + primary.member(), () -> {
            if (dataDir.livePostmaster().isEmpty() || !role.get().upstream().isPresent() && !files.hasStandbySignal()) {
                throw new ServerStateException(cfg.name() + ": logical slots are copied into a running standby only");
            }
            Map<String, byte[]> states = slots.readFromPrimary(primary, copy);
            if (states.isEmpty()) {
                return Set.<String>of();
            }
            role.enforceHotStandbyFeedback(true);
            process.stop(StopMode.FAST, timeout);
            slots.writeStates(cfg.dataDirectory(), primary, states);
            process.start(timeout);
            return Set.copyOf(states.keySet());
        });
    }

    /** Copied logical slots not yet known to be safe after a failover (Patroni's readiness check; see {@code Slots}). */
    public Set<String> unreadyLogicalSlots() {
        return slots.unready();
    }

    /** True when a replica method is marked {@code noLeader} (Patroni's {@code no_leader}). */
    @Override
    public boolean canCreateReplicaWithoutLeader() {
        return provisioning.canCreateWithoutLeader();
    }

    @Override
    public CompletionStage<Void> createReplicaWithoutLeader() {
        return runner.changing("create a replica without a leader", provisioning::createWithoutLeader);
    }

    @Override
    public CompletionStage<Void> start(Duration timeout) {
        return runner.changing("start", () -> process.start(timeout));
    }

    @Override
    public CompletionStage<Void> stop(StopMode mode, Duration timeout) {
        Objects.requireNonNull(mode, "mode");
        if (mode == StopMode.IMMEDIATE) {
            // fencing: do not queue behind a long operation (a start waiting on a standby's consistency)
            return runner.async("stop (immediate)", () -> process.stop(mode, timeout));
        }
        return runner.changing("stop (" + mode.name().toLowerCase(Locale.ROOT) + ")", () -> process.stop(mode, timeout));
    }

    @Override
    public CompletionStage<Void> restart(StopMode mode, Duration timeout) {
        return runner.changing("restart", () -> {
            process.stop(mode, timeout);
            process.start(timeout);
        });
    }

    @Override
    public CompletionStage<Void> reload() {
        return runner.async("reload", process::reload);
    }

    /**
     * Layers the cluster's dynamic parameters under this member's own ({@code parameter()}), except
     * for {@link #SHARED_SETTINGS}, where they win; takes the cluster's {@code pg_hba} and
     * {@code pg_ident} lines unless the member has its own ({@code hba()}, {@code ident()}); rewrites
     * the files and reloads a running server if they changed. Takes effect at once for the next start, so a bootstrap or a clone
     * queued behind this call starts with the new parameters. A value left out (a managed setting, a
     * shared setting below Patroni's minimum) is logged once, naming its key. Settings that need a
     * restart are reported by {@link #observe()} ({@code pendingRestart}).
     */
    @Override
    public CompletionStage<Void> applySettings(ServerSettings settings) {
        // at once: a start queued behind this writes them
        files.setDynamicParameters(settings.parameters());
        files.setDynamicAccess(settings.pgHba(), settings.pgIdent());
        files.setDynamicRecovery(settings.recoveryConf());
        return runner.async("apply settings", () -> {
            if (role.applySettings(settings)) {
                process.reload();
            }
        });
    }

    /**
     * Replaces this member's own server settings while it runs, as Patroni does when its
     * configuration file is re-read (SIGHUP, {@code POST /reload}): takes {@code parameter()},
     * {@code hba()}, {@code ident()} and {@code recoveryConf()} from {@code settings}, a builder set up
     * as for {@link Builder#build()} (it is not built; its other settings are ignored and need a new
     * controller). Rewrites the files and reloads a running server if they changed; settings that
     * need a restart then show in {@link #observe()}'s {@code pendingRestart}.
     *
     * @return the keys that changed ({@code postgresql.parameters.work_mem}, {@code postgresql.pg_hba}, ...), empty if none
     */
    public CompletionStage<List<String>> reconfigure(Builder settings) {
        java.util.Objects.requireNonNull(settings, "settings");
        OwnSettings next = settings.ownSettings();
        return runner.async("reconfigure", () -> {
            List<String> changed = next.changedFrom(files.ownSettings());
            if (!changed.isEmpty() && role.applyOwnSettings(next)) {
                process.reload();
            }
            return changed;
        });
    }

    @Override
    public CompletionStage<Duration> promote(Duration timeout) {
        return runner.changing("promote", () -> {
            Set<String> unready = slots.unready();
            if (!unready.isEmpty()) {
                // Patroni's on_promote: the readiness check never holds a failover back, it is reported
                LOG.warn("{}: logical replication slots that might be unsafe to use after promote: {}", cfg.name(), unready);
            }
            Duration d = roles.promote(timeout);
            slots.promoted();
            return d;
        });
    }

    @Override
    public CompletionStage<Void> follow(Optional<Upstream> upstream, Duration timeout) {
        Objects.requireNonNull(upstream, "upstream");
        return runner.changing("follow " + upstream.map(Upstream::member).orElse("nobody"), () -> roles.follow(upstream, timeout));
    }

    @Override
    public CompletionStage<DivergenceCheck> checkDivergence(Upstream upstream) {
        Objects.requireNonNull(upstream, "upstream");
        return runner.async("divergence check against " + upstream.member(), () -> divergence.check(upstream));
    }

    @Override
    public CompletionStage<Void> rewind(Upstream source) {
        Objects.requireNonNull(source, "source");
        return runner.changing("rewind from " + source.member(), () -> rewind.from(source));
    }

    @Override
    public CompletionStage<Void> removeData() {
        return runner.changing("remove the data directory", provisioning::removeData);
    }

    @Override
    public CompletionStage<Void> setSynchronousStandbys(SynchronousStandbys value) {
        Objects.requireNonNull(value, "value");
        return runner.async("set synchronous_standby_names", () -> roles.setSynchronousStandbys(value));
    }

    @Override
    public CompletionStage<Void> checkpoint() {
        return runner.async("checkpoint", roles::checkpoint);
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
        runner.close();
    }

    @Override
    public String toString() {
        return "PgController[" + cfg.name() + " " + cfg.dataDirectory() + " port " + cfg.port() + "]";
    }

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
