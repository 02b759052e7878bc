package io.pgha.testkit;

import io.pgha.TaskScheduler;
import io.pgha.Ticker;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongConsumer;

/**
 * A PostgreSQL server in memory, faithful where HA safety is decided: a WAL made of records with
 * unique ids (so two histories that forked are told apart exactly), timelines that switch on
 * promotion, standbys that stream a prefix-compatible history from their upstream and stop
 * streaming when it diverged, {@code pg_rewind} back to a common prefix, commits that wait for the
 * standbys named in {@code synchronous_standby_names}, a shutdown checkpoint sent to the standbys
 * by a fast stop, and an out-of-process write fence.
 *
 * <p>Every operation takes a configurable, randomly drawn time on the server's own scheduler;
 * {@link #crash()} kills the postmaster. Servers find each other through a shared {@link Network}
 * by their connection URL ({@code fake://<name>}).
 */
public final class FakePostgres implements PostgresController {
    /** Bytes of WAL per record: LSNs are {@code (index + 1) * LSN_STEP}. */
    public static final long LSN_STEP = 128;
    private boolean failBootstraps;
    private boolean refuseGracefulStops;
    private boolean failEveryStop;
    /** How fast this machine's clock runs against true (virtual) time: the fence helper counts on it. */
    private double machineClockRate = 1.0;
    private volatile java.util.concurrent.CountDownLatch fenceArmingGate;
    private int bootstrapAttempts;

    /** The servers of one test, reachable from each other by connection URL. */
    public static final class Network {
        private final Map<String, FakePostgres> servers = new HashMap<>();
        private final Random random;
        private long nextRecordId = 1;

        public Network(long seed) {
            this.random = new Random(seed);
        }

        synchronized FakePostgres lookup(String url) {
            return servers.get(url);
        }

        /** Whether a running standby streams from {@code url} through a slot named {@code slot}. */
        synchronized boolean streamsThrough(String url, String slot) {
            return servers.values().stream().anyMatch(s -> s.runState == RunState.RUNNING && s.standbySignal
                    && s.upstream.map(u -> u.connectionUrl().equals(url)).orElse(false)
                    && io.pgha.spi.SlotNames.forMember(s.name).equals(slot));
        }

        synchronized void register(FakePostgres pg) {
            servers.put(pg.connectionUrl(), pg);
        }

        synchronized long nextId() {
            return nextRecordId++;
        }

        synchronized long draw(Duration min, Duration max) {
            long lo = min.toNanos();
            long hi = max.toNanos();
            return hi <= lo ? lo : lo + (long) (random.nextDouble() * (hi - lo));
        }

        synchronized String newSystemId() {
            return "7" + String.format("%018d", Math.floorMod(random.nextLong(), 1_000_000_000_000_000_000L));
        }
    }

    /** How long operations take: each drawn uniformly from its range. Mutable, for "slow operation" faults. */
    public static final class Timings {
        public Duration minStart = Duration.ofMillis(100);
        public Duration maxStart = Duration.ofMillis(300);
        public Duration crashRecovery = Duration.ofMillis(200);
        public Duration minStop = Duration.ofMillis(20);
        public Duration maxStop = Duration.ofMillis(80);
        public Duration minPromote = Duration.ofMillis(50);
        public Duration maxPromote = Duration.ofMillis(250);
        public Duration minClone = Duration.ofMillis(300);
        public Duration maxClone = Duration.ofMillis(900);
        public Duration minRewind = Duration.ofMillis(200);
        public Duration maxRewind = Duration.ofMillis(600);
        public Duration bootstrap = Duration.ofMillis(500);
        public Duration minQuick = Duration.ofMillis(1);
        public Duration maxQuick = Duration.ofMillis(5);
        public Duration replicationInterval = Duration.ofMillis(30);
        /** Most records a standby receives per replication interval (lag appears under load). */
        public int maxRecordsPerInterval = 8;
    }

    private record Wal(long id, int timeline, char kind) {
    }

    private record Pending(long lsn, long id, LongConsumer onAck) {
    }

    private final String name;
    private final Network network;
    private final Ticker ticker;
    private final TaskScheduler proc;
    private final Timings timings;
    private final List<Runnable> stateListeners = new CopyOnWriteArrayList<>();
    /** One lock for every server of the network: replication touches two servers at once. */
    private final Object lock;

    // guarded by this
    private RunState runState = RunState.UNINITIALIZED;
    private boolean inRecovery;
    private boolean stopping;
    private boolean promoting;
    private boolean standbySignal;
    private Optional<Upstream> upstream = Optional.empty();
    private boolean streaming;
    private String systemId;
    private int timeline;
    private long timelineStart;
    private final ArrayList<Wal> wal = new ArrayList<>();
    private SynchronousStandbys syncNames = SynchronousStandbys.NONE;
    private final List<Pending> pending = new ArrayList<>();
    private boolean fenceArmed;
    private Map<String, String> appliedParameters = Map.of();
    private io.pgha.spi.ServerSettings appliedSettings = io.pgha.spi.ServerSettings.NONE;
    private int parameterHandovers;
    private int restarts;
    private long fenceDeadline;
    private boolean externalFence = true;
    private long generation;
    private boolean replicationScheduled;

    /** This server's replication slots by name. */
    private final Map<String, io.pgha.spi.ReplicationSlot> slots = new java.util.TreeMap<>();

    /** The backup a no_leader restore takes its data from; empty: this server cannot restore without a leader. */
    private Optional<Backup> restoreSource = Optional.empty();

    public FakePostgres(String name, Network network, Ticker ticker, TaskScheduler processScheduler, Timings timings) {
        this.name = Objects.requireNonNull(name);
        this.network = Objects.requireNonNull(network);
        this.ticker = Objects.requireNonNull(ticker);
        this.proc = Objects.requireNonNull(processScheduler);
        this.timings = Objects.requireNonNull(timings);
        this.lock = network;
        network.register(this);
    }

    public String name() {
        return name;
    }

    public Timings timings() {
        return timings;
    }

    // ================================================================== client side (the simulator's workload)

    /** Whether a client write would be accepted right now. */
    public boolean acceptsWrites() {
        synchronized (lock) {
            return runState == RunState.RUNNING && !inRecovery && !stopping && !(fenceArmed && ticker.read() - fenceDeadline >= 0);
        }
    }

    /**
     * Commits one write if this server accepts writes; {@code onAck} runs when the commit is
     * acknowledged to the client (at once without synchronous standbys, else once enough of them
     * flushed it). Returns the commit's id, or empty if refused.
     */
    public Optional<Long> write(LongConsumer onAck) {
        synchronized (lock) {
            if (!acceptsWrites()) {
                return Optional.empty();
            }
            long id = network.nextId();
            wal.add(new Wal(id, timeline, 'C'));
            pending.add(new Pending(lastLsn(), id, onAck));
            releaseCommits();
            return Optional.of(id);
        }
    }

    /** Whether this server's WAL holds the commit. */
    public boolean contains(long commitId) {
        synchronized (lock) {
            for (Wal w : wal) {
                if (w.id == commitId) {
                    return true;
                }
            }
            return false;
        }
    }

    /** The {@code synchronous_standby_names} this server runs with. */
    public SynchronousStandbys synchronousStandbys() {
        synchronized (lock) {
            return syncNames;
        }
    }

    public int walRecords() {
        synchronized (lock) {
            return wal.size();
        }
    }

    public RunState runState() {
        synchronized (lock) {
            return runState;
        }
    }

    public boolean isRunningReplica() {
        synchronized (lock) {
            return runState == RunState.RUNNING && inRecovery;
        }
    }

    public boolean isStreaming() {
        synchronized (lock) {
            return streaming;
        }
    }

    public Optional<Upstream> upstream() {
        synchronized (lock) {
            return upstream;
        }
    }

    public int timeline() {
        synchronized (lock) {
            return timeline;
        }
    }

    /** The postmaster dies ({@code kill -9}): not running, unclean, waiting commits never acknowledged. */
    public void crash() {
        synchronized (lock) {
            if (runState != RunState.RUNNING && runState != RunState.STARTING) {
                return;
            }
            die();
        }
        stateListeners.forEach(r -> proc.schedule(r, 0));
    }

    private void die() {
        runState = RunState.CRASHED;
        stopping = false;
        promoting = false;
        streaming = false;
        pending.clear();
        generation++;
    }

    // ================================================================== PostgresController

    @Override
    public CompletionStage<PostgresState> observe() {
        return later(draw(timings.minQuick, timings.maxQuick), this::snapshot);
    }

    private PostgresState snapshot() {
        synchronized (lock) {
            return snapshotLocked();
        }
    }

    private PostgresState snapshotLocked() {
        if (runState == RunState.UNINITIALIZED) {
            return PostgresState.uninitialized();
        }
        Lsn last = Lsn.of(lastLsn());
        boolean running = runState == RunState.RUNNING;
        boolean recovery = running ? inRecovery : standbySignal;
        List<ReplicationConnection> rows = new ArrayList<>();
        if (running && !inRecovery) {
            for (FakePostgres s : network.servers.values()) {
                if (s != this) {
                    synchronized (lock) {
                        if (s.runState == RunState.RUNNING && s.inRecovery && s.streaming
                                && s.upstream.map(u -> u.connectionUrl().equals(connectionUrl())).orElse(false)) {
                            boolean sync = syncNames.names().contains(s.name);
                            // PostgreSQL's pg_stat_replication.sync_state: 'quorum' for every standby of ANY n (...)
                            String state = !sync ? "async" : syncNames.isQuorum() ? "quorum" : "sync";
                            rows.add(new ReplicationConnection(s.name, "streaming", state,
                                    Lsn.of(s.lastLsn()), Lsn.of(s.lastLsn())));
                        }
                    }
                }
            }
            rows.sort(java.util.Comparator.comparing(ReplicationConnection::applicationName));
        }
        return new PostgresState(runState, recovery, Optional.ofNullable(systemId), timeline,
                running && !inRecovery ? last : Lsn.ZERO,
                running && !inRecovery ? last : Lsn.ZERO,
                recovery ? last : Lsn.ZERO,
                recovery ? last : Lsn.ZERO,
                recovery ? upstream : Optional.empty(),
                running && inRecovery && streaming, rows, syncNames, Lsn.of(timelineStart), 150000, List.of());
    }

    /**
     * Makes every bootstrap fail (as initdb into an unwritable folder would) while {@code true};
     * counts the attempts.
     */
    public void failBootstraps(boolean fail) {
        synchronized (lock) {
            failBootstraps = fail;
        }
    }

    /**
     * While {@code true}, a fast or smart stop fails after the usual stop time and the server keeps
     * running and accepting writes (a backend stuck in an uninterruptible call, a stop command
     * that fails); an immediate stop still works.
     */
    public void refuseGracefulStops(boolean refuse) {
        synchronized (lock) {
            refuseGracefulStops = refuse;
        }
    }

    /**
     * While {@code true}, every stop fails, an immediate one too, and the server keeps running and
     * accepting writes: the stop command itself cannot run (pg_ctl missing, fork failing). Only the
     * out-of-process fence, a helper already running, can still kill the postmaster.
     */
    public void failEveryStop(boolean fail) {
        synchronized (lock) {
            failEveryStop = fail;
        }
    }

    /**
     * This machine's clock runs at {@code rate} against true time (a node whose clock drifts): a
     * fence armed for a deadline on the node's ticker fires when that ticker, not true time, gets
     * there, as a helper process on the same machine would.
     */
    public void machineClockRate(double rate) {
        if (!(rate > 0)) {
            throw new IllegalArgumentException("rate must be positive, got " + rate);
        }
        synchronized (lock) {
            machineClockRate = rate;
        }
    }

    /** Which of {@code commitIds} this server's WAL does not hold. */
    public java.util.Set<Long> missing(java.util.Collection<Long> commitIds) {
        java.util.Set<Long> held = new java.util.HashSet<>();
        synchronized (lock) {
            for (Wal w : wal) {
                held.add(w.id);
            }
        }
        java.util.Set<Long> out = new java.util.HashSet<>();
        for (long id : commitIds) {
            if (!held.contains(id)) {
                out.add(id);
            }
        }
        return out;
    }

    /**
     * While set, arming the external fence blocks its caller until {@code gate} opens, as a fence
     * helper process that hangs on start would; {@code null} ends it.
     */
    public void blockFenceArming(java.util.concurrent.CountDownLatch gate) {
        this.fenceArmingGate = gate;
    }

    /** How many bootstraps were attempted. */
    public int bootstrapAttempts() {
        synchronized (lock) {
            return bootstrapAttempts;
        }
    }

    @Override
    public CompletionStage<String> bootstrap() {
        synchronized (lock) {
            bootstrapAttempts++;
            if (failBootstraps) {
                return failed("bootstrap: initdb of " + name + " failed (injected)");
            }
            if (runState != RunState.UNINITIALIZED) {
                return failed("bootstrap: the data directory of " + name + " is not empty");
            }
            runState = RunState.STARTING;
        }
        long gen = generation;
        return later(timings.bootstrap.toNanos(), () -> {
            synchronized (lock) {
                if (gen != generation) {
                    throw new PostgresException("bootstrap of " + name + " was interrupted");
                }
                systemId = network.newSystemId();
                timeline = 1;
                timelineStart = 0;
                wal.add(new Wal(network.nextId(), 1, 'K'));
                runState = RunState.RUNNING;
                inRecovery = false;
                standbySignal = false;
                return systemId;
            }
        });
    }

    @Override
    public CompletionStage<Void> cloneFrom(Upstream source) {
        synchronized (lock) {
            if (runState != RunState.UNINITIALIZED) {
                return failed("clone: the data directory of " + name + " is not empty");
            }
        }
        return later(draw(timings.minClone, timings.maxClone), () -> {
            FakePostgres src = network.lookup(source.connectionUrl());
            if (src == null) {
                throw new PostgresException("clone: no server at " + source.connectionUrl());
            }
            List<Wal> copy;
            String sysid;
            int tl;
            long tlStart;
            synchronized (lock) {
                if (src.runState != RunState.RUNNING) {
                    throw new PostgresException("clone: " + source.member() + " is not running");
                }
                copy = new ArrayList<>(src.wal);
                sysid = src.systemId;
                tl = src.timeline;
                tlStart = src.timelineStart;
            }
            synchronized (lock) {
                if (runState != RunState.UNINITIALIZED) {
                    throw new PostgresException("clone: the data directory of " + name + " changed meanwhile");
                }
                wal.clear();
                wal.addAll(copy);
                systemId = sysid;
                timeline = tl;
                timelineStart = tlStart;
                runState = RunState.STOPPED;
                standbySignal = true;
                upstream = Optional.of(source);
            }
            return null;
        });
    }

    /**
     * Replication slots as a server keeps them: created, advanced on a standby and dropped as the
     * plan says (an active one, which a running standby streams through, is not dropped), answered
     * at once. The physical slot a standby streams through is active; positions are this server's
     * WAL end when created, or the advance target.
     */
    @Override
    public CompletionStage<List<io.pgha.spi.ReplicationSlot>> syncSlots(io.pgha.spi.SlotPlan plan) {
        synchronized (lock) {
            if (runState != RunState.RUNNING) {
                return failed("slots: " + name + " is not running");
            }
            Lsn end = new Lsn(wal.size());
            plan.physical().forEach((slot, target) -> {
                io.pgha.spi.ReplicationSlot had = slots.get(slot);
                Lsn at = had == null ? end : had.position();
                if (target.isPresent() && standbySignal && target.get().compareTo(at) > 0) {
                    at = target.get();
                }
                slots.put(slot, io.pgha.spi.ReplicationSlot.physical(slot, at, false));
            });
            if (!standbySignal) {
                plan.logical().forEach((slot, kind) -> slots.putIfAbsent(slot, new io.pgha.spi.ReplicationSlot(slot, "logical",
                        Optional.of(kind.database()), Optional.of(kind.plugin()), end, false)));
            }
            if (standbySignal) {
                plan.logicalAdvance().forEach((slot, target) -> {
                    io.pgha.spi.ReplicationSlot had = slots.get(slot);
                    if (had != null && !had.isPhysical() && target.compareTo(had.position()) > 0) {
                        slots.put(slot, new io.pgha.spi.ReplicationSlot(slot, had.type(), had.database(), had.plugin(), target, false));
                    }
                });
            }
            for (String d : plan.drop()) {
                io.pgha.spi.ReplicationSlot had = slots.get(d);
                if (had != null && (had.isPhysical() ? !streamsThrough(d) : standbySignal)) {
                    slots.remove(d);
                }
            }
            List<io.pgha.spi.ReplicationSlot> out = new ArrayList<>();
            slots.values().forEach(x -> out.add(new io.pgha.spi.ReplicationSlot(x.name(), x.type(), x.database(), x.plugin(),
                    x.position(), x.isPhysical() && streamsThrough(x.name()))));
            return CompletableFuture.completedFuture(out);
        }
    }

    /**
     * Copies the primary's logical slots named in {@code wanted} whose database and plugin match, as
     * the real controller does: the copy is where the primary has the slot now, and the standby
     * restarts (counted in {@link #restarts()}) when anything was copied.
     */
    @Override
    public CompletionStage<java.util.Set<String>> copyLogicalSlots(Upstream primary, java.util.Map<String, io.pgha.spi.SlotPlan.LogicalSlot> wanted,
                                                                   Duration timeout) {
        FakePostgres src = network.lookup(primary.connectionUrl());
        if (src == null) {
            return failed("copy logical slots: no server at " + primary.connectionUrl());
        }
        java.util.Map<String, io.pgha.spi.ReplicationSlot> copies = new java.util.TreeMap<>();
        synchronized (src.lock) {
            if (src.runState != RunState.RUNNING || src.inRecovery) {
                return failed("copy logical slots: " + primary.member() + " is not a running primary");
            }
            wanted.forEach((slot, kind) -> {
                io.pgha.spi.ReplicationSlot s = src.slots.get(slot);
                if (s != null && !s.isPhysical() && s.database().equals(Optional.of(kind.database()))
                        && s.plugin().equals(Optional.of(kind.plugin()))) {
                    copies.put(slot, new io.pgha.spi.ReplicationSlot(slot, s.type(), s.database(), s.plugin(), s.position(), false));
                }
            });
        }
        if (copies.isEmpty()) {
            return CompletableFuture.completedFuture(java.util.Set.of());
        }
        synchronized (lock) {
            if (runState != RunState.RUNNING || !standbySignal) {
                return failed("copy logical slots: " + name + " is not a running standby");
            }
        }
        return stop(StopMode.FAST, timeout).thenCompose(v -> {
            synchronized (lock) {
                slots.putAll(copies);
                restarts++;
            }
            return start(timeout);
        }).thenApply(v -> java.util.Set.copyOf(copies.keySet()));
    }

    /** Gives this server a slot (one another tool made, say), as a test sets it up. */
    public void addSlot(io.pgha.spi.ReplicationSlot slot) {
        synchronized (lock) {
            slots.put(slot.name(), slot);
        }
    }

    /** The names of the slots this server has now. */
    public java.util.Set<String> slotNames() {
        synchronized (lock) {
            return java.util.Set.copyOf(slots.keySet());
        }
    }

    /** Whether a running standby streams from this server through the slot (the caller holds {@code lock}). */
    private boolean streamsThrough(String slot) {
        return network.streamsThrough(connectionUrl(), slot);
    }

    /** A copy of a server's data taken at one moment, as a backup store keeps it (for {@link #restoreWithoutLeaderFrom}). */
    public static final class Backup {
        private final List<Wal> wal;
        private final String systemId;
        private final int timeline;
        private final long timelineStart;

        private Backup(List<Wal> wal, String systemId, int timeline, long timelineStart) {
            this.wal = List.copyOf(wal);
            this.systemId = systemId;
            this.timeline = timeline;
            this.timelineStart = timelineStart;
        }

        /** Whether the backup holds this commit. */
        public boolean contains(long commitId) {
            return wal.stream().anyMatch(w -> w.id() == commitId);
        }
    }

    /** A backup of this server's data as it is now (it must have data). */
    public Backup backup() {
        synchronized (lock) {
            if (systemId == null) {
                throw new IllegalStateException(name + " has no data to back up");
            }
            return new Backup(wal, systemId, timeline, timelineStart);
        }
    }

    /**
     * From now on this server can create a replica with no running member, restoring {@code backup}
     * (a no_leader replica method such as a restore from a backup store); empty: it cannot.
     */
    public void restoreWithoutLeaderFrom(Optional<Backup> backup) {
        synchronized (lock) {
            restoreSource = backup;
        }
    }

    @Override
    public boolean canCreateReplicaWithoutLeader() {
        synchronized (lock) {
            return restoreSource.isPresent();
        }
    }

    @Override
    public CompletionStage<Void> createReplicaWithoutLeader() {
        Backup b;
        synchronized (lock) {
            if (restoreSource.isEmpty()) {
                return failed("restore: " + name + " has no backup to restore from");
            }
            if (runState != RunState.UNINITIALIZED) {
                return failed("restore: the data directory of " + name + " is not empty");
            }
            b = restoreSource.get();
        }
        return later(draw(timings.minClone, timings.maxClone), () -> {
            synchronized (lock) {
                if (runState != RunState.UNINITIALIZED) {
                    throw new PostgresException("restore: the data directory of " + name + " changed meanwhile");
                }
                wal.clear();
                wal.addAll(b.wal);
                systemId = b.systemId;
                timeline = b.timeline;
                timelineStart = b.timelineStart;
                runState = RunState.STOPPED;
                standbySignal = true;
                upstream = Optional.empty();
            }
            return null;
        });
    }

    @Override
    public CompletionStage<Void> start(Duration timeout) {
        synchronized (lock) {
            if (runState == RunState.UNINITIALIZED) {
                return failed("start: " + name + " has no data directory");
            }
            if (runState == RunState.RUNNING || runState == RunState.STARTING) {
                return CompletableFuture.completedFuture(null);
            }
            return startLocked();
        }
    }

    private CompletionStage<Void> startLocked() {
        boolean unclean = runState == RunState.CRASHED;
        runState = RunState.STARTING;
        long gen = ++generation;
        long delay = draw(timings.minStart, timings.maxStart) + (unclean ? timings.crashRecovery.toNanos() : 0);
        return later(delay, () -> {
            boolean replica;
            synchronized (lock) {
                if (gen != generation || runState != RunState.STARTING) {
                    throw new PostgresException("start of " + name + " was interrupted");
                }
                runState = RunState.RUNNING;
                inRecovery = standbySignal;
                stopping = false;
                replica = inRecovery;
            }
            if (replica) {
                scheduleReplication();
            }
            return null;
        });
    }

    @Override
    public CompletionStage<Void> stop(StopMode mode, Duration timeout) {
        long gen;
        synchronized (lock) {
            if (runState != RunState.RUNNING && runState != RunState.STARTING) {
                return CompletableFuture.completedFuture(null);
            }
            if (failEveryStop) {
                return later(draw(timings.minQuick, timings.maxQuick), () -> {
                    throw new PostgresException("stop (" + mode + ") of " + name + " failed: the stop command could not run (injected)");
                });
            }
            if (refuseGracefulStops && mode != StopMode.IMMEDIATE) {
                return later(draw(timings.minStop, timings.maxStop), () -> {
                    throw new PostgresException("stop (" + mode + ") of " + name + " failed: a backend did not exit (injected)");
                });
            }
            stopping = true;
            gen = ++generation;
            if (mode == StopMode.IMMEDIATE) {
                die();
                return later(draw(timings.minQuick, timings.maxQuick), () -> null);
            }
            if (runState == RunState.RUNNING && !inRecovery) {
                wal.add(new Wal(network.nextId(), timeline, 'K'));
                pushToStandbys();
            }
            pending.clear();
        }
        return later(draw(timings.minStop, timings.maxStop), () -> {
            synchronized (lock) {
                if (gen == generation && stopping) {
                    runState = RunState.STOPPED;
                    stopping = false;
                    streaming = false;
                    generation++;
                }
            }
            return null;
        });
    }

    /** A fast shutdown: walsenders send everything up to the shutdown checkpoint before exiting. */
    private void pushToStandbys() {
        for (FakePostgres s : network.servers.values()) {
            if (s != this) {
                synchronized (lock) {
                    if (s.runState == RunState.RUNNING && s.inRecovery && s.streaming
                            && s.upstream.map(u -> u.connectionUrl().equals(connectionUrl())).orElse(false)
                            && isPrefixOf(s.wal, wal)) {
                        for (int i = s.wal.size(); i < wal.size(); i++) {
                            s.wal.add(wal.get(i));
                        }
                    }
                }
            }
        }
    }

    @Override
    public CompletionStage<Void> restart(StopMode mode, Duration timeout) {
        synchronized (lock) {
            restarts++;
        }
        return stop(mode, timeout).thenCompose(v -> start(timeout));
    }

    /** How many restarts were asked for. */
    public int restarts() {
        synchronized (lock) {
            return restarts;
        }
    }

    /**
     * Keeps the parameters as a real controller would hand them to its server. Answers at once and
     * draws nothing from the random source, so a simulation's course does not depend on it.
     */
    @Override
    public CompletionStage<Void> applySettings(io.pgha.spi.ServerSettings settings) {
        synchronized (lock) {
            appliedParameters = settings.parameters();
            appliedSettings = settings;
            parameterHandovers++;
        }
        return CompletableFuture.completedFuture(null);
    }

    /** The dynamic parameters last handed over (empty before any). */
    public Map<String, String> appliedParameters() {
        synchronized (lock) {
            return appliedParameters;
        }
    }

    /** The dynamic settings last handed over. */
    public io.pgha.spi.ServerSettings appliedSettings() {
        synchronized (lock) {
            return appliedSettings;
        }
    }

    /** How many times parameters were handed over. */
    public int parameterHandovers() {
        synchronized (lock) {
            return parameterHandovers;
        }
    }

    @Override
    public CompletionStage<Void> reload() {
        return later(draw(timings.minQuick, timings.maxQuick), () -> null);
    }

    @Override
    public CompletionStage<Duration> promote(Duration timeout) {
        long gen;
        synchronized (lock) {
            if (runState != RunState.RUNNING || !inRecovery) {
                return failed("promote: " + name + " is not a running standby");
            }
            promoting = true;
            gen = generation;
        }
        long delay = draw(timings.minPromote, timings.maxPromote);
        return later(delay, () -> {
            synchronized (lock) {
                if (gen != generation || runState != RunState.RUNNING || !inRecovery || !promoting) {
                    throw new PostgresException("promotion of " + name + " was interrupted");
                }
                promoting = false;
                timeline++;
                wal.add(new Wal(network.nextId(), timeline, 'T'));
                timelineStart = lastLsn();
                inRecovery = false;
                standbySignal = false;
                upstream = Optional.empty();
                streaming = false;
            }
            return Duration.ofNanos(delay);
        });
    }

    @Override
    public CompletionStage<Void> follow(Optional<Upstream> newUpstream, Duration timeout) {
        synchronized (lock) {
            if (runState == RunState.UNINITIALIZED) {
                return failed("follow: " + name + " has no data directory");
            }
            if (runState == RunState.RUNNING && !inRecovery) {
                return failed("follow: " + name + " is running as a primary; stop it first");
            }
            standbySignal = true;
            if (!newUpstream.equals(upstream)) {
                streaming = false;
            }
            upstream = newUpstream;
            if (runState.isDown()) {
                return startLocked();
            }
        }
        return later(draw(timings.minQuick, timings.maxQuick), () -> null);
    }

    @Override
    public CompletionStage<DivergenceCheck> checkDivergence(Upstream up) {
        return later(draw(timings.minQuick, timings.maxQuick), () -> {
            FakePostgres src = network.lookup(up.connectionUrl());
            if (src == null) {
                return DivergenceCheck.UNKNOWN;
            }
            List<Wal> theirs;
            synchronized (lock) {
                if (src.runState != RunState.RUNNING) {
                    return DivergenceCheck.UNKNOWN;
                }
                theirs = new ArrayList<>(src.wal);
            }
            synchronized (lock) {
                return isPrefixOf(wal, theirs) ? DivergenceCheck.NOT_DIVERGED : DivergenceCheck.DIVERGED;
            }
        });
    }

    @Override
    public CompletionStage<Void> rewind(Upstream source) {
        synchronized (lock) {
            if (!runState.isDown()) {
                return failed("rewind: " + name + " must be stopped");
            }
        }
        return later(draw(timings.minRewind, timings.maxRewind), () -> {
            FakePostgres src = network.lookup(source.connectionUrl());
            if (src == null) {
                throw new PostgresException("rewind: no server at " + source.connectionUrl());
            }
            List<Wal> theirs;
            int tl;
            long tlStart;
            String sysid;
            synchronized (lock) {
                if (src.runState != RunState.RUNNING) {
                    throw new PostgresException("rewind: " + source.member() + " is not running");
                }
                theirs = new ArrayList<>(src.wal);
                tl = src.timeline;
                tlStart = src.timelineStart;
                sysid = src.systemId;
            }
            synchronized (lock) {
                if (!Objects.equals(sysid, systemId)) {
                    throw new PostgresException("rewind: " + source.member() + " belongs to another cluster");
                }
                if (!runState.isDown()) {
                    throw new PostgresException("rewind: " + name + " was started meanwhile");
                }
                wal.clear();
                wal.addAll(theirs);
                timeline = tl;
                timelineStart = tlStart;
                standbySignal = true;
                runState = RunState.STOPPED;
            }
            return null;
        });
    }

    @Override
    public CompletionStage<Void> setSynchronousStandbys(SynchronousStandbys value) {
        return later(draw(timings.minQuick, timings.maxQuick), () -> {
            synchronized (lock) {
                if (runState != RunState.RUNNING) {
                    throw new PostgresException("set synchronous_standby_names: " + name + " is not running");
                }
                syncNames = value;
                releaseCommits();
            }
            return null;
        });
    }

    @Override
    public CompletionStage<Void> removeData() {
        return later(draw(timings.minQuick, timings.maxQuick), () -> {
            synchronized (lock) {
                if (runState == RunState.RUNNING || runState == RunState.STARTING) {
                    throw new PostgresException("remove data: " + name + " is running");
                }
                wal.clear();
                systemId = null;
                timeline = 0;
                timelineStart = 0;
                standbySignal = false;
                upstream = Optional.empty();
                syncNames = SynchronousStandbys.NONE;
                runState = RunState.UNINITIALIZED;
            }
            return null;
        });
    }

    @Override
    public CompletionStage<Void> checkpoint() {
        return later(draw(timings.minQuick, timings.maxQuick), () -> {
            synchronized (lock) {
                if (runState != RunState.RUNNING) {
                    throw new PostgresException("checkpoint: " + name + " is not running");
                }
            }
            return null;
        });
    }

    @Override
    public String connectionUrl() {
        return "fake://" + name;
    }

    /**
     * Whether this server offers the out-of-process write fence (default yes). Tests that prove the
     * engine's own fence switch it off.
     */
    public void setExternalFence(boolean enabled) {
        synchronized (lock) {
            externalFence = enabled;
            if (!enabled) {
                fenceArmed = false;
            }
        }
    }

    @Override
    public boolean armFence(long at, io.pgha.Ticker clock) {
        java.util.concurrent.CountDownLatch gate = fenceArmingGate;
        if (gate != null) {
            try {
                gate.await(); // a helper process that takes forever to start
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        long deadline;
        Duration within;
        synchronized (lock) {
            if (!externalFence) {
                return false;
            }
            long now = ticker.read();
            fenceArmed = true;
            fenceDeadline = now + (long) (Math.max(0, at - clock.read()) / machineClockRate);
            deadline = fenceDeadline;
            within = Duration.ofNanos(deadline - now);
        }
        proc.schedule(() -> {
            boolean kill;
            synchronized (lock) {
                kill = fenceArmed && fenceDeadline == deadline;
            }
            if (kill) {
                crash();
            }
        }, within.toNanos());
        return true;
    }

    @Override
    public Optional<String> externalFence() {
        synchronized (lock) {
            return externalFence ? Optional.of("the fake server's own timer") : Optional.empty();
        }
    }

    @Override
    public void disarmFence() {
        synchronized (lock) {
            fenceArmed = false;
        }
    }

    @Override
    public Subscription onStateChange(Runnable callback) {
        stateListeners.add(callback);
        return () -> stateListeners.remove(callback);
    }

    @Override
    public void close() {
    }

    // ================================================================== replication

    private void scheduleReplication() {
        synchronized (lock) {
            if (replicationScheduled) {
                return;
            }
            replicationScheduled = true;
        }
        proc.schedule(this::replicate, timings.replicationInterval.toNanos());
    }

    private void replicate() {
        FakePostgres up;
        synchronized (lock) {
            replicationScheduled = false;
            if (runState != RunState.RUNNING || !inRecovery) {
                streaming = false;
                return;
            }
            up = upstream.map(u -> network.lookup(u.connectionUrl())).orElse(null);
        }
        if (up != null && up != this) {
            synchronized (lock) {
                if (up.runState == RunState.RUNNING && !up.stopping && isPrefixOf(wal, up.wal)) {
                    int n = Math.min(up.wal.size() - wal.size(), timings.maxRecordsPerInterval);
                    for (int i = 0; i < n; i++) {
                        wal.add(up.wal.get(wal.size()));
                    }
                    streaming = true;
                    int lastTimeline = wal.get(wal.size() - 1).timeline;
                    if (lastTimeline > timeline) {
                        timeline = lastTimeline;
                        timelineStart = lastTimeline == up.timeline ? up.timelineStart : timelineStart;
                    }
                } else {
                    streaming = false;
                }
            }
            up.releaseCommitsFromReplication();
        } else {
            synchronized (lock) {
                streaming = false;
            }
        }
        scheduleReplication();
    }

    private void releaseCommitsFromReplication() {
        synchronized (lock) {
            releaseCommits();
        }
    }

    /** Acknowledges waiting commits that enough named standbys have flushed. Caller holds the lock. */
    private void releaseCommits() {
        if (pending.isEmpty()) {
            return;
        }
        List<Pending> acked = new ArrayList<>();
        for (Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (syncNames.isEmpty() || confirmations(p.lsn) >= syncNames.count()) {
                acked.add(p);
                it.remove();
            }
        }
        for (Pending p : acked) {
            p.onAck.accept(p.id);
        }
    }

    private int confirmations(long lsn) {
        int n = 0;
        for (String standby : syncNames.names()) {
            FakePostgres s = network.servers.get("fake://" + standby);
            if (s != null && s != this && s.runState == RunState.RUNNING && s.inRecovery && s.streaming
                    && s.upstream.map(u -> u.connectionUrl().equals(connectionUrl())).orElse(false)
                    && s.lastLsn() >= lsn && isPrefixOf(s.wal, wal)) {
                n++;
            }
        }
        return n;
    }

    // ================================================================== helpers

    private long lastLsn() {
        return wal.size() * LSN_STEP;
    }

    /** Whether {@code mine} is a prefix of {@code theirs}, compared by record id. */
    private static boolean isPrefixOf(List<Wal> mine, List<Wal> theirs) {
        if (mine.size() > theirs.size()) {
            return false;
        }
        return mine.isEmpty() || mine.get(mine.size() - 1).id == theirs.get(mine.size() - 1).id;
    }

    private long draw(Duration min, Duration max) {
        return network.draw(min, max);
    }

    private <T> CompletionStage<T> later(long delayNanos, java.util.concurrent.Callable<T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        proc.schedule(() -> {
            try {
                f.complete(work.call());
            } catch (Exception e) {
                f.completeExceptionally(e);
            }
        }, delayNanos);
        return f;
    }

    private static <T> CompletionStage<T> failed(String message) {
        return CompletableFuture.failedFuture(new PostgresException(message));
    }

    @Override
    public String toString() {
        return "FakePostgres[" + name + " " + runState + (inRecovery ? " standby" : "") + " tl" + timeline + " wal=" + wal.size() + "]";
    }
}
