package io.pgha.internal.engine;

import io.pgha.HaEvent;
import io.pgha.HaListener;
import io.pgha.NodeStatus;
import io.pgha.Role;
import io.pgha.TaskScheduler;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.cluster.Member;
import io.pgha.internal.decision.Action;
import io.pgha.internal.decision.AdminRequest;
import io.pgha.internal.decision.Decider;
import io.pgha.internal.decision.Decision;
import io.pgha.internal.decision.DecisionInput;
import io.pgha.internal.decision.DemoteMode;
import io.pgha.internal.decision.EffectiveConfig;
import io.pgha.internal.decision.LeaseView;
import io.pgha.internal.decision.NodeMemory;
import io.pgha.internal.decision.NodeMemory.DivergenceResult;
import io.pgha.internal.decision.NodeMemory.RunningAction;
import io.pgha.internal.decision.PlantedBug;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.Lsn;
import io.pgha.spi.PeerStatus;
import io.pgha.spi.PostgresController;
import io.pgha.spi.PostgresException;
import io.pgha.spi.PostgresState;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.StopMode;
import io.pgha.spi.Subscription;
import io.pgha.spi.Upstream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loop around the pure {@link Decider}: observe, decide, act, wake. All of its state is
 * confined to one {@link SerialLane}; the store and PostgreSQL complete their calls on whatever
 * threads they like and the results hop back onto the lane. Long actions run in one async slot
 * while the cycles go on. The {@link LeaseKeeper} fences independently of this loop.
 */
public final class HaEngine {
    private static final Logger LOG = LoggerFactory.getLogger(HaEngine.class);
    private static final int MAX_SOON_CYCLES = 10;
    private static final Duration SYNC_SETTLE = Duration.ofMillis(100);
    private static final Duration MIN_ACTION_TIMEOUT = Duration.ofSeconds(60);
    /**
     * Changes that wake the loop at once. Member entries and the leader's status change every
     * cycle and would only make every node spin; they are read at the next tick.
     */
    private static final Set<String> WAKING_KEYS = Set.of(ClusterKey.LEADER.path(), ClusterKey.FAILOVER.path(),
            ClusterKey.CONFIG.path(), ClusterKey.SYNC.path(), ClusterKey.INITIALIZE.path(), ClusterKey.HISTORY.path());

    private final EngineConfig cfg;
    private final String me;
    private final PostgresController pg;
    private final SerialLane lane;
    private final Set<String> warned = new HashSet<>();

    // lane-confined state
    private volatile DcsSession session;
    private volatile LeaseKeeper lease;
    private EffectiveConfig config;
    /** Starts not knowing where synchronous_standby_names last changed: a setting left in PostgreSQL by an earlier run proves nothing. */
    private NodeMemory memory = NodeMemory.INITIAL;
    private Optional<Cluster> lastCluster = Optional.empty();
    private Optional<PostgresState> lastPg = Optional.empty();
    private Optional<Instant> dcsLastSeen = Optional.empty();
    private boolean dcsReachable;
    private Role role = Role.STOPPED;
    private String lastReason = "not started";
    private String lastMemberJson;
    private boolean started;
    private boolean stopping;
    private boolean cycleRunning;
    private boolean wakeRequested;
    /** A step the store refused ran less than a cycle ago: the next cycle comes at once, a bounded number of times. */
    private boolean retrySoon;
    private int soonCycles;
    /**
     * The next cycle reads from the store itself ({@link DcsSession#readAuthoritative}): a store
     * call failed or had an unknown outcome, or the last view was contradicted by what this node
     * knows. True at start, so the first decision never comes from a cache.
     */
    private boolean readFromStore = true;
    /** When (ticker) the last read from the store itself began: a cached view is trusted for at most a ttl after it. */
    private long lastAuthoritativeAt;
    /**
     * Completed by the watch when the leader key changes (or may have): a cycle waiting for its
     * peers during a leader race stops waiting, because what it read is out of date anyway. A fresh
     * one per race.
     */
    private volatile CompletableFuture<Void> leaderKeyMayHaveChanged = new CompletableFuture<>();
    /** The newest store revision this node decided on: a later read older than it is stale. */
    private long actedRevision;
    /** The session's write revision when the store was seen to go back in time (restored): writes up to it no longer count. */
    private long discountedWrites;
    private long cycles;
    /** Moves whenever a long action starts or ends: an observation begun before that is stale. */
    private long actionEpoch;
    private TaskScheduler.Cancellable nextTick;
    private CompletableFuture<?> asyncAction;
    /** The controller operation the async action is waiting on. */
    private volatile CompletableFuture<?> pgOp;
    private final List<Subscription> subscriptions = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean killed;
    private volatile Optional<String> apiUrl = Optional.empty();
    private Duration leaseGuarantee;
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();

    private volatile NodeStatus status;
    private volatile EngineView view;
    private long lastCycleAt;
    /** Completes the operator's request being carried out. */
    private CompletableFuture<AdminRequest.Outcome> requestDone;

    public HaEngine(EngineConfig cfg) {
        this.cfg = cfg;
        this.me = cfg.name();
        this.pg = cfg.postgres();
        this.lane = new SerialLane(cfg.loopScheduler());
        this.config = EffectiveConfig.of(cfg.settings());
        this.status = new NodeStatus(me, cfg.scope(), Role.STOPPED, Optional.empty(), false, Optional.empty(), false,
                Optional.empty(), false, lastReason, 0, pg.externalFence());
        this.view = new EngineView(status, Optional.empty(), Optional.empty(), LeaseView.NOT_HELD, config, cfg.ticker().read(),
                Optional.empty());
    }

    // ================================================================== lifecycle

    /** Opens the store session and starts the loop. Returns at once. */
    public void start() {
        start(cfg.apiUrl());
    }

    /** As {@link #start()}, publishing {@code apiUrl} (known only once the REST API is bound). */
    public void start(Optional<String> apiUrl) {
        this.apiUrl = apiUrl;
        synchronized (this) {
            if (started) {
                throw new IllegalStateException("node '" + me + "' was already started");
            }
            started = true;
        }
        session = cfg.dcs().open(SessionSpec.member(cfg.scope(), me, cfg.settings().ttl(), cfg.settings().retryTimeout()));
        leaseGuarantee = session.leaseGuarantee();
        config = EffectiveConfig.merge(cfg.settings(), io.pgha.internal.cluster.DynamicConfig.EMPTY, leaseGuarantee);
        config.warnings().forEach(w -> warnOnce("config: " + w));
        lease = new LeaseKeeper(me, session, pg, cfg.ticker(), cfg.guardScheduler(), cfg.leaseScheduler(), new EngineCallbacks() {
            @Override
            public void fenced(String reason) {
                emit(new HaEvent.Fenced(me, reason));
            }

            @Override
            public void wake() {
                HaEngine.this.wake();
            }

            @Override
            public void storeCallFailed() {
                lane.execute(() -> readFromStore = true);
            }
        }, config, cfg.bugs());
        subscriptions.add(session.watch(new DcsListener() {
            @Override
            public void clusterChanged(Optional<String> path) {
                if (path.isEmpty() || path.get().equals(ClusterKey.LEADER.path())) {
                    leaderKeyMayHaveChanged.complete(null);
                }
                if (path.isEmpty() || WAKING_KEYS.contains(path.get())) {
                    wake();
                }
            }

            @Override
            public void leaseLost(String reason) {
                lane.execute(() -> readFromStore = true);
                lease.leaseLost(reason);
            }
        }));
        subscriptions.add(pg.onStateChange(this::wake));
        LOG.info("{}: starting pgha node in cluster '{}'", me, cfg.scope());
        wake();
    }

    /** Runs a cycle now, or right after the running one. Safe from any thread. */
    public void wake() {
        if (killed) {
            return;
        }
        lane.execute(() -> {
            if (stopping || memory.fatal().isPresent()) {
                return;
            }
            if (cycleRunning) {
                wakeRequested = true;
                return;
            }
            if (nextTick != null) {
                nextTick.cancel();
                nextTick = null;
            }
            runCycle();
        });
    }

    /**
     * Graceful stop: no more cycles; PostgreSQL stopped (fast); the leader key released only after
     * PostgreSQL stopped; the session closed (which removes the member entry). In maintenance mode
     * PostgreSQL and the key are left alone, as in Patroni.
     */
    public CompletableFuture<Void> shutdown() {
        lane.execute(() -> {
            if (stopping) {
                return;
            }
            stopping = true;
            if (requestDone != null) {
                answer(false, "the node is stopping");
            }
            if (!started || session == null) {
                stopped.complete(null);
                return;
            }
            if (nextTick != null) {
                nextTick.cancel();
            }
            if (asyncAction != null) {
                asyncAction.cancel(true);
                cancelPgOp();
            }
            boolean leader = lastCluster.map(c -> c.isLeader(me)).orElse(false) || lease.view().held();
            CompletableFuture<Void> stopPg = config.paused() ? CompletableFuture.completedFuture(null)
                    : timedPg(pg.stop(StopMode.FAST, actionTimeout()), actionTimeout()).thenApply(v -> (Void) null);
            stopPg.handle((v, e) -> {
                if (e == null || cfg.bugs().contains(PlantedBug.HANDS_OVER_ON_FAILED_STOP)) {
                    CompletableFuture<?> release = leader && !config.paused()
                            ? lease.release().handle((ok, err) -> null)
                            : CompletableFuture.completedFuture(null);
                    return release.thenRun(() -> lane.execute(() -> finishShutdown(false)));
                }
                if (!leader || config.paused()) {
                    LOG.warn("{}: stopping postgres on shutdown failed: {}", me, Futures.describe(e));
                    lane.execute(() -> finishShutdown(false));
                    return CompletableFuture.completedFuture(null);
                }
                // PostgreSQL may still accept writes: handing the key over (a release, or ending the
                // session, which revokes the lease) would let another member promote beside it. No
                // more renewals; the lease runs out in the store by itself, the fences stay armed
                // (the in-process one tries again before the lease ends, the controller's kills the
                // postmaster if the JVM cannot), and the session ends only after that.
                long until = lease.stopRenewing();
                long wait = Math.max(0, until - cfg.ticker().read());
                LOG.error("{}: stopping postgres on shutdown failed ({}); the leader key is not handed over: the lease runs out "
                        + "in {} ms and the fence stays armed", me, Futures.describe(e), Duration.ofNanos(wait).toMillis());
                return delay(Duration.ofNanos(wait)).thenRun(() -> lane.execute(() -> finishShutdown(true)));
            });
        });
        return stopped;
    }

    /** {@code postgresMayRun}: PostgreSQL was not confirmed stopped, so the fences stay armed (as after a crash). */
    private void finishShutdown(boolean postgresMayRun) {
        for (Subscription s : subscriptions) {
            try {
                s.close();
            } catch (RuntimeException e) {
                LOG.debug("closing a subscription failed", e);
            }
        }
        if (postgresMayRun) {
            lease.abandon();
        } else {
            lease.close();
        }
        session.close();
        setRole(Role.STOPPED, "node stopped");
        publishStatus();
        LOG.info("{}: stopped", me);
        stopped.complete(null);
    }

    /**
     * Crash simulation: from this call on the node does nothing at all, as if its process died: no
     * more cycles, no events, nothing released or disarmed. Its lease expires in the store by itself.
     */
    public void kill() {
        killed = true;
        if (lease != null) {
            lease.abandon();
        }
        subscriptions.forEach(Subscription::close);
        lane.execute(() -> {
            stopping = true;
            if (nextTick != null) {
                nextTick.cancel();
            }
            stopped.complete(null);
        });
    }

    public NodeStatus status() {
        return status;
    }

    /** The engine's knowledge as of its last cycle, for the REST API. */
    public EngineView view() {
        return view;
    }

    /** The lease belief right now (not as of the last cycle). */
    public LeaseView leaseNow() {
        LeaseKeeper k = lease;
        return k == null ? LeaseView.NOT_HELD : k.view();
    }

    /** The engine's store session (the REST API writes failover requests and configuration through it). */
    public DcsSession session() {
        return session;
    }

    public EngineConfig config() {
        return cfg;
    }

    /** Ticker time now. */
    public long now() {
        return cfg.ticker().read();
    }

    /**
     * Hands an operator's request to the loop; completes when it was carried out (a restart), started
     * (a reinitialization) or refused. One request at a time.
     */
    public CompletableFuture<AdminRequest.Outcome> submit(AdminRequest request) {
        CompletableFuture<AdminRequest.Outcome> f = new CompletableFuture<>();
        lane.execute(() -> {
            if (stopping || !started) {
                f.complete(new AdminRequest.Outcome(false, "the node is not running"));
                return;
            }
            if (memory.request().isPresent() || requestDone != null) {
                f.complete(new AdminRequest.Outcome(false, "another request is in progress"));
                return;
            }
            memory = memory.withRequest(Optional.of(request));
            requestDone = f;
            wake();
        });
        return f;
    }

    private void answer(boolean ok, String message) {
        CompletableFuture<AdminRequest.Outcome> f = requestDone;
        requestDone = null;
        memory = memory.withRequest(Optional.empty());
        if (f != null) {
            f.complete(new AdminRequest.Outcome(ok, message));
        }
    }

    /** Test hook: freeze or unfreeze the loop lane (a loop thread stuck in a call). */
    public void setLoopFrozen(boolean frozen) {
        lane.setFrozen(frozen);
    }

    // ================================================================== the cycle

    private void runCycle() {
        cycleRunning = true;
        wakeRequested = false;
        cycles++;
        long start = cfg.ticker().read();
        long epoch = actionEpoch;
        lease.loopAlive(start);
        // At least once a ttl the view comes from the store itself, whatever else happened: a watch
        // cache that went wrong without anyone noticing (etcd#15220 made one skip changes for good)
        // misleads a node for at most that long.
        boolean authoritative = (readFromStore || start - lastAuthoritativeAt >= config.ttlNanos())
                && !cfg.bugs().contains(PlantedBug.TRUSTS_STALE_VIEWS);
        CompletableFuture<ClusterSnapshot> read = readCluster(authoritative);
        CompletableFuture<PostgresState> observed = timedPg(Futures.call(pg::observe), config.settings().retryTimeout());
        read.handle((s, e) -> observed.handle((p, pe) -> {
            lane.execute(() -> {
                if (epoch != actionEpoch) {
                    // a long action finished while we observed: what we saw may predate its effects
                    cycleRunning = false;
                    if (!stopping) {
                        runCycle();
                    }
                    return;
                }
                afterObserve(start, authoritative, s, e, p, pe);
            });
            return null;
        }));
    }

    /** One read of the cluster, from the store itself when {@code authoritative}, bounded by retry_timeout. */
    private CompletableFuture<ClusterSnapshot> readCluster(boolean authoritative) {
        return Futures.storeCall(authoritative ? session::readAuthoritative : session::read,
                config.settings().retryTimeout().toNanos(), cfg.loopScheduler());
    }

    /**
     * Why a view that did not come from the store itself cannot be acted on, if it cannot: it is
     * older than a view this node already acted on or than its own last write, or it does not show
     * the leader key that this node holds under a lease it renewed less than a ttl ago. Either the
     * view is stale (a watch cache behind, a lagging server) or the store really changed; only a
     * read from the store itself tells which.
     */
    private Optional<String> stale(ClusterSnapshot snapshot, Cluster c) {
        if (cfg.bugs().contains(PlantedBug.TRUSTS_STALE_VIEWS)) {
            return Optional.empty();
        }
        long written = session.writeRevision();
        long floor = Math.max(actedRevision, written > discountedWrites ? written : 0);
        if (snapshot.revision() > 0 && snapshot.revision() < floor) {
            return Optional.of("the view (revision " + snapshot.revision() + ") is older than what this node already saw or wrote (revision "
                    + floor + ")");
        }
        if (lease.view().isValid(cfg.ticker().read()) && !c.isLeader(me)) {
            return Optional.of("the view shows " + c.leader().map(l -> "leader '" + l + "'").orElse("no leader")
                    + " while this node holds the leader lease");
        }
        return Optional.empty();
    }

    /** Starts the cycle over with a read from the store itself. Called on the lane instead of deciding. */
    private void rereadFromStore(String why) {
        LOG.info("{}: {}: reading again from the store itself", me, why);
        readFromStore = true;
        cycleRunning = false;
        if (!stopping) {
            runCycle();
        }
    }

    private void afterObserve(long start, boolean authoritative, ClusterSnapshot snapshot, Throwable readError, PostgresState observed,
                              Throwable pgError) {
        Optional<Cluster> cluster = Optional.empty();
        Optional<String> dcsError = Optional.empty();
        if (readError != null) {
            dcsError = Optional.of(Futures.describe(readError));
            dcsReachable = false;
            readFromStore = true;
            if (cfg.bugs().contains(PlantedBug.QUITS_AFTER_A_LONG_STORE_OUTAGE) && dcsLastSeen.map(
                    seen -> seen.plus(config.settings().ttl()).isBefore(cfg.wallClock().instant())).orElse(false)) {
                memory = memory.withFatal("the store has been unreachable for longer than the ttl");
            }
        } else {
            Cluster c = ClusterCodec.decode(snapshot);
            if (!authoritative) {
                Optional<String> stale = stale(snapshot, c);
                if (stale.isPresent()) {
                    rereadFromStore(stale.get());
                    return;
                }
            } else {
                readFromStore = false;
                lastAuthoritativeAt = start;
                long written = session.writeRevision();
                if (snapshot.revision() > 0 && snapshot.revision() < Math.max(actedRevision, written > discountedWrites ? written : 0)) {
                    // a store restored from a backup, or Consul's index after its tombstones were reaped
                    LOG.info("{}: the store's revision went back from {} to {}; going on from what it shows now", me,
                            Math.max(actedRevision, written), snapshot.revision());
                    actedRevision = snapshot.revision();
                    discountedWrites = Math.max(discountedWrites, written);
                }
            }
            actedRevision = Math.max(actedRevision, snapshot.revision());
            c.warnings().forEach(w -> warnOnce("store: " + w));
            cluster = Optional.of(c);
            dcsReachable = true;
            dcsLastSeen = Optional.of(cfg.wallClock().instant());
            EffectiveConfig merged = EffectiveConfig.merge(cfg.settings(), c.dynamicConfig(), leaseGuarantee);
            merged.warnings().forEach(w -> warnOnce("config: " + w));
            config = merged;
            lease.configure(merged);
            noteLeader(c);
        }
        Optional<PostgresState> pgState = Optional.ofNullable(observed);
        Optional<String> pgErr = pgError == null ? Optional.empty() : Optional.of(Futures.describe(pgError));
        if (pgState.isPresent()) {
            lastPg = pgState;
        }
        long now = cfg.ticker().read();
        trackPrimaryHealth(cluster, pgState, now);
        Optional<Cluster> c = cluster;
        boolean race = c.isPresent() && Decider.wantsPeerStatus(c.get(), me);
        CompletableFuture<Void> leaderChanged = race ? (leaderKeyMayHaveChanged = new CompletableFuture<>()) : new CompletableFuture<>();
        CompletableFuture<Map<String, PeerStatus>> peers = race ? fetchPeers(c.get()) : CompletableFuture.completedFuture(Map.of());
        Optional<String> dErr = dcsError;
        long epoch = actionEpoch;
        // A peer that does not answer (a frozen agent accepts the connection and says nothing) holds
        // the race up to peer_timeout; when the key is taken meanwhile, there is nothing left to race
        // for: read again at once, so a replica retargets as soon as a new leader appears.
        CompletableFuture.anyOf(peers, leaderChanged).whenComplete((x, e) -> lane.execute(() -> {
            if (!peers.isDone()) {
                cycleRunning = false;
                if (!stopping) {
                    runCycle();
                }
                return;
            }
            Map<String, PeerStatus> p = peers.isCompletedExceptionally() ? Map.of() : peers.join();
            decideAndAct(start, authoritative, c, dErr, pgState, pgErr, p == null ? Map.of() : p, epoch);
        }));
    }

    private void decideAndAct(long start, boolean authoritative, Optional<Cluster> cluster, Optional<String> dcsError,
                              Optional<PostgresState> pgState, Optional<String> pgErr, Map<String, PeerStatus> peers, long epoch) {
        if (stopping) {
            cycleRunning = false;
            return;
        }
        if (epoch != actionEpoch) {
            cycleRunning = false;
            runCycle();
            return;
        }
        if (!authoritative && cluster.isPresent() && !cluster.get().hasLeader() && !cfg.bugs().contains(PlantedBug.TRUSTS_STALE_VIEWS)) {
            Optional<PeerStatus> primary = peers.values().stream()
                    .filter(p -> !p.member().equals(me) && p.running() && !p.inRecovery()).findFirst();
            if (primary.isPresent()) {
                // a leader that took the key after our view was taken is the likeliest reason
                rereadFromStore("peer '" + primary.get().member() + "' runs as a primary but the view shows no leader");
                return;
            }
        }
        long now = cfg.ticker().read();
        LeaseView leaseView = lease.view();
        DecisionInput in = new DecisionInput(me, cfg.tags(), cluster, dcsError, pgState, pgErr, leaseView, peers, config,
                memory, now, cfg.wallClock().instant(), cfg.bugs());
        Decision d = Decider.decide(in);
        if (!d.reason().equals(lastReason)) {
            LOG.info("{}: {}{}", me, d.reason(), d.isNothing() ? "" : " -> " + d.describe());
        } else {
            LOG.debug("{}: {}", me, d.reason());
        }
        lastReason = d.reason();
        cluster.ifPresent(c -> lastCluster = Optional.of(c));
        updateRole(pgState, cluster, "cycle");
        // peers ask for our status during a leader race: what we just observed (a primary that has
        // just crashed is not a running primary) must be what they hear, before we act on it
        publishStatus();
        emit(new HaEvent.Decision(me, d.reason(), d.describe()));
        ActionContext ctx = new ActionContext(cluster, pgState);
        if (holdingOff(d, now)) {
            LOG.debug("{}: {} failed less than loop_wait ago; retrying at the next regular cycle", me, failedLong.getSimpleName());
            finishCycle(start, d, ctx);
            return;
        }
        execute(d.actions(), 0, ctx).whenComplete((v, e) -> lane.execute(() -> finishCycle(start, d, ctx)));
    }

    /**
     * Whether the decision would start again, within loop_wait of its failure, a long action that
     * just failed: a store change its failure path caused (a released initialize key) wakes the loop
     * at once, which would otherwise retry a failing bootstrap in a tight loop. A demotion is never
     * held back.
     */
    private boolean holdingOff(Decision d, long now) {
        if (failedLong == null || now - failedLongAt >= config.loopWaitNanos()) {
            return false;
        }
        return d.actions().stream().anyMatch(a -> a.isLong() && a.getClass() == failedLong && !(a instanceof Action.Demote));
    }

    private void finishCycle(long start, Decision d, ActionContext ctx) {
        CompletableFuture<Void> touch = ctx.cluster.isPresent() && memory.fatal().isEmpty() ? touchMember(ctx) : CompletableFuture.completedFuture(null);
        touch.whenComplete((v, e) -> lane.execute(() -> {
            cycleRunning = false;
            lastCycleAt = cfg.ticker().read();
            publishStatus();
            if (stopping || memory.fatal().isPresent()) {
                return;
            }
            boolean again = d.recheckSoon() || retrySoon;
            retrySoon = false;
            boolean soon = wakeRequested || (again && soonCycles < MAX_SOON_CYCLES);
            soonCycles = again ? soonCycles + 1 : 0;
            long elapsed = cfg.ticker().read() - start;
            long delay = soon ? 0 : Math.max(0, config.loopWaitNanos() - elapsed);
            if (delay == 0) {
                runCycle();
            } else {
                nextTick = cfg.loopScheduler().schedule(this::wake, delay);
            }
        }));
    }

    // ================================================================== observation helpers

    private void noteLeader(Cluster c) {
        Optional<String> before = lastCluster.flatMap(Cluster::leader);
        if (!before.equals(c.leader())) {
            memory = memory.withDivergence(Optional.empty());
            if (lastCluster.isPresent()) {
                emit(new HaEvent.LeaderChanged(me, before, c.leader()));
            }
        }
    }

    private void trackPrimaryHealth(Optional<Cluster> cluster, Optional<PostgresState> pgState, long now) {
        if (cluster.isEmpty()) {
            return;
        }
        boolean iLead = cluster.get().isLeader(me);
        boolean healthyPrimary = pgState.map(PostgresState::isRunningPrimary).orElse(false);
        if (!iLead || healthyPrimary) {
            if (memory.primaryUnhealthySince().isPresent()) {
                memory = memory.withPrimaryUnhealthySince(OptionalLong.empty());
            }
        } else if (memory.primaryUnhealthySince().isEmpty()) {
            memory = memory.withPrimaryUnhealthySince(OptionalLong.of(now));
        }
    }

    private CompletableFuture<Map<String, PeerStatus>> fetchPeers(Cluster c) {
        List<Member> others = c.members().values().stream().filter(m -> !m.name().equals(me)).toList();
        if (others.isEmpty()) {
            return CompletableFuture.completedFuture(Map.of());
        }
        // a client that reaches peers only through their api_url (the default HTTP client) cannot ask
        // a peer that publishes none (it runs no REST API): its member entry speaks for it
        boolean entriesForUnreachable = cfg.peerClient().map(io.pgha.spi.PeerClient::needsApiUrl).orElse(true);
        Map<String, PeerStatus> fromStore = new java.util.concurrent.ConcurrentHashMap<>();
        for (Member m : others) {
            if (cfg.peerClient().isEmpty() || (entriesForUnreachable && m.apiUrl().isEmpty())) {
                fromStore.put(m.name(), new PeerStatus(m.name(), m.isRunning(), !m.isPrimary(), m.xlogLocation(), m.timeline(),
                        m.tags().nofailover(), m.tags().failoverPriority()));
            }
        }
        if (cfg.peerClient().isEmpty() || fromStore.size() == others.size()) {
            return CompletableFuture.completedFuture(Map.copyOf(fromStore));
        }
        Duration timeout = config.settings().peerTimeout();
        Map<String, PeerStatus> answers = fromStore;
        List<CompletableFuture<?>> calls = new ArrayList<>();
        for (Member m : others) {
            if (answers.containsKey(m.name())) {
                continue;
            }
            CompletableFuture<Optional<PeerStatus>> f = Futures.withTimeout(
                    Futures.call(() -> cfg.peerClient().get().fetch(m.name(), m.apiUrl(), timeout)),
                    timeout.toNanos(), cfg.loopScheduler(), () -> new java.util.concurrent.TimeoutException("peer timeout"));
            calls.add(f.handle((opt, e) -> {
                if (e == null && opt != null) {
                    opt.ifPresent(p -> answers.put(m.name(), p));
                }
                return null;
            }));
        }
        return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).thenApply(v -> Map.copyOf(answers));
    }

    // ================================================================== acting

    /** What the steps of one decision share. */
    private static final class ActionContext {
        final Optional<Cluster> cluster;
        final Optional<PostgresState> pg;

        ActionContext(Optional<Cluster> cluster, Optional<PostgresState> pg) {
            this.cluster = cluster;
            this.pg = pg;
        }
    }

    private CompletableFuture<Void> execute(List<Action> steps, int i, ActionContext ctx) {
        if (i >= steps.size() || stopping) {
            return CompletableFuture.completedFuture(null);
        }
        Action a = steps.get(i);
        if (a.isLong()) {
            startLong(a, ctx);
            return CompletableFuture.completedFuture(null);
        }
        if (a instanceof Action.ClearFailover) {
            // nothing waits on it (a stale request is harmless once the lock is ours), so it does
            // not delay a promotion that follows by a store round trip
            Futures.call(() -> quick(a, ctx)).whenComplete((ok, e) -> {
                if (e != null) {
                    lane.execute(() -> actionFailed(a, e));
                }
            });
            return execute(steps, i + 1, ctx);
        }
        CompletableFuture<Void> next = new CompletableFuture<>();
        Futures.call(() -> quick(a, ctx)).whenComplete((ok, e) -> lane.execute(() -> {
            boolean success = e == null && Boolean.TRUE.equals(ok);
            if (e != null) {
                actionFailed(a, e);
                readFromStore = true; // the outcome is unknown: what the store shows now decides
            } else if (!success && a.isGate()) {
                LOG.info("{}: {} did not succeed; skipping the rest of this decision", me, a.describe());
                // the store disagreed with the view the decision was made on: decide again at once,
                // on a view from the store itself
                retrySoon = true;
                readFromStore = true;
            }
            if (!success && a.isGate()) {
                next.complete(null);
            } else {
                execute(steps, i + 1, ctx).whenComplete((v, e2) -> next.complete(null));
            }
        }));
        return next;
    }

    /** Runs a quick step; completes with whether it succeeded. */
    private CompletionStage<Boolean> quick(Action a, ActionContext ctx) {
        long retry = config.settings().retryTimeout().toNanos();
        if (a instanceof Action.AcquireLock) {
            return lease.acquire();
        }
        if (a instanceof Action.RenewLock) {
            return lease.renew(ctx.pg.map(PostgresState::walPosition).orElse(Lsn.ZERO));
        }
        if (a instanceof Action.ReleaseLock) {
            return lease.release();
        }
        if (a instanceof Action.ClaimInitialize) {
            return dcs(s -> s.compareAndSet(ClusterKey.INITIALIZE, "", DcsEntry.ABSENT), retry);
        }
        if (a instanceof Action.WriteInitialize w) {
            return dcs(s -> s.compareAndSet(ClusterKey.INITIALIZE, w.systemId(), w.expectedVersion()), retry);
        }
        if (a instanceof Action.WriteConfig) {
            return dcs(s -> s.compareAndSet(ClusterKey.CONFIG, DynamicConfigs.encode(cfg.settings(), cfg.initialConfig()), DcsEntry.ABSENT), retry);
        }
        if (a instanceof Action.ClearFailover c) {
            return dcs(s -> s.compareAndDelete(ClusterKey.FAILOVER, c.expectedVersion()), retry);
        }
        if (a instanceof Action.WriteSync w) {
            return dcs(s -> s.compareAndSet(ClusterKey.SYNC, ClusterCodec.encodeSync(w.leader(), w.standbys()), w.expectedVersion()), retry);
        }
        if (a instanceof Action.DeleteSync d) {
            return dcs(s -> s.compareAndDelete(ClusterKey.SYNC, d.expectedVersion()), retry);
        }
        if (a instanceof Action.WriteHistory h) {
            return dcs(s -> s.compareAndSet(ClusterKey.HISTORY, ClusterCodec.encodeHistory(h.entries()), h.expectedVersion()), retry);
        }
        if (a instanceof Action.SetSyncStandbys s) {
            // PostgreSQL makes commits wait only once its checkpointer has taken the new setting, a
            // moment after the reload: the position that a new standby must reach is read after that
            return timedPg(Futures.call(() -> pg.setSynchronousStandbys(s.value())), config.settings().retryTimeout())
                    .thenCompose(v -> delay(SYNC_SETTLE))
                    .thenCompose(v -> timedPg(Futures.call(pg::observe), config.settings().retryTimeout()))
                    .thenApply(p -> {
                        lane.execute(() -> memory = memory.withSyncChangedAtFlush(p.walPosition()));
                        return true;
                    });
        }
        if (a instanceof Action.CheckDivergence c) {
            long now = cfg.ticker().read();
            int tl = ctx.cluster.flatMap(cl -> cl.member(c.upstream().member())).map(Member::timeline).orElse(0);
            return timedPg(Futures.call(() -> pg.checkDivergence(c.upstream())), config.settings().retryTimeout())
                    .handle((r, e) -> {
                        DivergenceCheck result = e == null && r != null ? r : DivergenceCheck.UNKNOWN;
                        if (e != null) {
                            LOG.info("{}: divergence check against {} failed: {}", me, c.upstream().member(), Futures.describe(e));
                        }
                        lane.execute(() -> memory = memory.withDivergence(
                                Optional.of(new DivergenceResult(c.upstream().member(), tl, result, now))));
                        return true;
                    });
        }
        if (a instanceof Action.AnswerRequest r) {
            answer(r.ok(), r.message());
            return CompletableFuture.completedFuture(true);
        }
        if (a instanceof Action.ReloadPostgres) {
            return timedPg(Futures.call(pg::reload), config.settings().retryTimeout()).thenApply(v -> true);
        }
        if (a instanceof Action.CancelAction) {
            if (asyncAction != null) {
                asyncAction.cancel(true);
                asyncAction = null;
                cancelPgOp();
                actionEpoch++;
            }
            memory = memory.withAction(Optional.empty());
            return CompletableFuture.completedFuture(true);
        }
        if (a instanceof Action.Fail f) {
            memory = memory.withFatal(f.reason());
            LOG.error("{}: stopping the node: {}", me, f.reason());
            emit(new HaEvent.NodeFailed(me, f.reason()));
            setRole(Role.FAILED, f.reason());
            return CompletableFuture.completedFuture(true);
        }
        return CompletableFuture.failedFuture(new IllegalStateException("not a quick action: " + a));
    }

    private CompletableFuture<Void> delay(Duration d) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        cfg.loopScheduler().schedule(() -> f.complete(null), d.toNanos());
        return f;
    }

    private CompletableFuture<Boolean> dcs(java.util.function.Function<DcsSession, CompletionStage<Boolean>> call, long timeout) {
        return Futures.storeCall(() -> call.apply(session), timeout, cfg.loopScheduler());
    }

    private <T> CompletableFuture<T> timedPg(CompletionStage<T> stage, Duration timeout) {
        return Futures.withTimeout(stage, timeout.toNanos(), cfg.loopScheduler(),
                () -> new PostgresException("postgres did not answer within " + timeout.toMillis() + " ms"));
    }

    private Duration actionTimeout() {
        Duration t = config.settings().primaryStartTimeout();
        return t.compareTo(MIN_ACTION_TIMEOUT) < 0 ? MIN_ACTION_TIMEOUT : t;
    }

    // ------------------------------------------------------------------ long actions

    /** The kind of long action that failed last, and when (ticker): see {@link #holdingOff}. */
    private Class<? extends Action> failedLong;
    private long failedLongAt;

    private void startLong(Action a, ActionContext ctx) {
        long now = cfg.ticker().read();
        actionEpoch++;
        memory = memory.withAction(Optional.of(new RunningAction(a, now)));
        CompletableFuture<AdminRequest.Outcome> request = null;
        if (a instanceof Action.RestartPostgres || a instanceof Action.Reinitialize) {
            request = requestDone;
            requestDone = null;
            memory = memory.withRequest(Optional.empty());
        }
        CompletableFuture<AdminRequest.Outcome> answerWhenDone = request;
        Duration timeout = actionTimeout();
        CompletableFuture<Void> work = Futures.call(() -> runLong(a, ctx, timeout));
        CompletableFuture<Void> guarded = Futures.withTimeout(work, timeout.plus(config.settings().retryTimeout()).toNanos(),
                cfg.loopScheduler(), () -> new PostgresException(a.describe() + " did not finish within " + timeout.toSeconds() + " s"));
        asyncAction = guarded;
        guarded.whenComplete((v, e) -> lane.execute(() -> {
            if (asyncAction != guarded) {
                return; // cancelled and replaced
            }
            asyncAction = null;
            actionEpoch++;
            memory = memory.withAction(Optional.empty());
            if (e != null) {
                cancelPgOp(); // gave up (timeout) or failed: nothing of it may go on in the background
                actionFailed(a, e);
                failedLong = a.getClass();
                failedLongAt = cfg.ticker().read();
            } else {
                LOG.info("{}: {} done", me, a.describe());
                if (failedLong == a.getClass()) {
                    failedLong = null;
                }
            }
            if (answerWhenDone != null) {
                answerWhenDone.complete(e == null
                        ? new AdminRequest.Outcome(true, a instanceof Action.Reinitialize ? "reinitialize started" : "restarted successfully")
                        : new AdminRequest.Outcome(false, a.describe() + " failed: " + Futures.describe(e)));
            }
            if (a instanceof Action.Promote || a instanceof Action.Demote || a instanceof Action.StartPostgres
                    || a instanceof Action.Bootstrap || a instanceof Action.Reinitialize) {
                memory = memory.withDivergence(Optional.empty());
            }
            if (a instanceof Action.Promote && e == null) {
                // a new tenure: where synchronous_standby_names took effect is known again only once it is set
                memory = memory.withSyncChangeUnknown();
            }
            if (!stopping) {
                wake();
            }
        }));
    }

    private CompletionStage<Void> runLong(Action a, ActionContext ctx, Duration timeout) {
        if (a instanceof Action.Bootstrap) {
            return bootstrap();
        }
        if (a instanceof Action.CloneFrom c) {
            return op(pg.cloneFrom(c.source()))
                    .thenCompose(v -> op(pg.follow(Optional.of(c.source()), timeout)))
                    .thenRun(() -> lane.execute(() -> memory = memory.withDivergence(Optional.of(
                            new DivergenceResult(c.source().member(), memberTimeline(ctx, c.source()), DivergenceCheck.NOT_DIVERGED,
                                    cfg.ticker().read())))));
        }
        if (a instanceof Action.StartPostgres) {
            return op(pg.start(timeout));
        }
        if (a instanceof Action.Follow f) {
            return op(pg.follow(f.upstream(), timeout));
        }
        if (a instanceof Action.Promote) {
            return op(pg.promote(timeout)).thenAccept(took -> LOG.info("{}: promoted in {} ms", me, took.toMillis()));
        }
        if (a instanceof Action.Demote d) {
            return demote(d.mode(), timeout);
        }
        if (a instanceof Action.RestartPostgres r) {
            return op(pg.restart(StopMode.FAST, r.timeout()));
        }
        if (a instanceof Action.Reinitialize) {
            return op(pg.stop(StopMode.IMMEDIATE, timeout)).thenCompose(v -> op(pg.removeData()));
        }
        if (a instanceof Action.Rewind r) {
            boolean running = ctx.pg.map(PostgresState::isRunning).orElse(false);
            CompletionStage<Void> stop = running ? op(pg.stop(StopMode.FAST, timeout)) : CompletableFuture.completedFuture(null);
            return stop.thenCompose(v -> op(pg.rewind(r.source())))
                    .thenCompose(v -> op(pg.follow(Optional.of(r.source()), timeout)))
                    .thenRun(() -> lane.execute(() -> memory = memory.withDivergence(Optional.of(
                            new DivergenceResult(r.source().member(), memberTimeline(ctx, r.source()), DivergenceCheck.NOT_DIVERGED,
                                    cfg.ticker().read())))));
        }
        return CompletableFuture.failedFuture(new IllegalStateException("not a long action: " + a));
    }

    /** Remembers the controller operation in flight, so giving up on the action cancels it too. */
    private <T> CompletionStage<T> op(CompletionStage<T> stage) {
        pgOp = stage.toCompletableFuture();
        return stage;
    }

    private void cancelPgOp() {
        CompletableFuture<?> f = pgOp;
        pgOp = null;
        if (f != null) {
            f.cancel(true);
        }
    }

    private static int memberTimeline(ActionContext ctx, Upstream u) {
        return ctx.cluster.flatMap(c -> c.member(u.member())).map(Member::timeline).orElse(0);
    }

    private CompletionStage<Void> demote(DemoteMode mode, Duration timeout) {
        CompletableFuture<Void> stopped = new CompletableFuture<>();
        if (!mode.releasesLock()) {
            // the belief ends now, the fences only once the stop is confirmed
            lease.markNotHeld(stopped);
        }
        CompletionStage<Void> checkpoint = mode.checkpointFirst()
                ? pg.checkpoint().exceptionally(e -> {
                    LOG.warn("{}: checkpoint before demotion failed: {}", me, Futures.describe(e));
                    return null;
                })
                : CompletableFuture.completedFuture(null);
        CompletionStage<Void> stop = checkpoint.thenCompose(v -> pg.stop(mode.stopMode(), timeout));
        stop.whenComplete((v, e) -> {
            if (e == null) {
                stopped.complete(null);
            } else {
                stopped.completeExceptionally(e);
            }
        });
        CompletionStage<Void> release = !mode.releasesLock() ? stop
                : cfg.bugs().contains(PlantedBug.RELEASES_BEFORE_STOP) ? lease.release().thenCombine(stop, (ok, v) -> (Void) null)
                : stop.thenCompose(v -> lease.release()).thenApply(ok -> (Void) null);
        return mode == DemoteMode.OFFLINE ? release.thenCompose(v -> pg.follow(Optional.empty(), timeout)) : release;
    }

    private CompletionStage<Void> bootstrap() {
        long retry = config.settings().retryTimeout().toNanos();
        return pg.bootstrap().thenCompose(sysid -> Futures.storeCall(session::readAuthoritative, retry, cfg.loopScheduler())
                .thenCompose(snapshot -> {
                    long version = snapshot.get(ClusterKey.INITIALIZE).map(DcsEntry::version).orElse(DcsEntry.ABSENT);
                    return dcs(s -> s.compareAndSet(ClusterKey.INITIALIZE, sysid, version), retry);
                })
                .thenCompose(ok -> dcs(s -> s.compareAndSet(ClusterKey.CONFIG, DynamicConfigs.encode(cfg.settings(), cfg.initialConfig()), DcsEntry.ABSENT), retry))
                .thenCompose(ok -> lease.acquire())
                .thenAccept(acquired -> LOG.info("{}: bootstrapped a new cluster (system identifier {}){}", me, sysid,
                        acquired ? " and took the leader lock" : ", but the leader lock was taken"))
        ).exceptionallyCompose(e -> {
            LOG.error("{}: bootstrap failed: {}; releasing the initialize key", me, Futures.describe(e));
            return Futures.call(session::readAuthoritative)
                    .thenCompose(s -> s.get(ClusterKey.INITIALIZE).filter(x -> x.value().isEmpty())
                            .map(x -> dcs(ss -> ss.compareAndDelete(ClusterKey.INITIALIZE, x.version()), retry))
                            .orElse(CompletableFuture.completedFuture(false)))
                    .handle((x, e2) -> {
                        throw new java.util.concurrent.CompletionException(Futures.unwrap(e));
                    });
        });
    }

    private void actionFailed(Action a, Throwable e) {
        String why = Futures.describe(e);
        LOG.warn("{}: {} failed: {}", me, a.describe(), why);
        emit(new HaEvent.ActionFailed(me, a.describe(), why));
    }

    // ================================================================== member entry, role, status, events

    private CompletableFuture<Void> touchMember(ActionContext ctx) {
        Optional<PostgresState> p = lastPg;
        String state = p.map(x -> switch (x.runState()) {
            case RUNNING -> "running";
            case STARTING -> "starting";
            case STOPPED -> "stopped";
            case CRASHED -> "crashed";
            case UNINITIALIZED -> "uninitialized";
        }).orElse("unknown");
        if (memory.action().map(a -> a.action() instanceof Action.CloneFrom).orElse(false)) {
            state = "creating replica";
        } else if (memory.action().map(a -> a.action() instanceof Action.Bootstrap).orElse(false)) {
            state = "initializing new cluster";
        }
        String roleName = switch (role) {
            case PRIMARY -> "primary";
            case REPLICA -> "replica";
            case UNINITIALIZED -> "uninitialized";
            case DEMOTING -> "demoted";
            default -> p.map(x -> x.inRecovery() ? "replica" : "primary").orElse("uninitialized");
        };
        Member m = new Member(me, safeConnUrl(), apiUrl, state, roleName,
                p.map(PostgresState::walPosition).orElse(Lsn.ZERO),
                p.map(PostgresState::receiveLsn).orElse(Lsn.ZERO),
                p.map(PostgresState::replayLsn).orElse(Lsn.ZERO),
                p.map(PostgresState::timeline).orElse(0), cfg.tags(),
                p.filter(PostgresState::streaming).map(x -> "streaming"), 0);
        String json = ClusterCodec.encodeMember(m);
        boolean leader = ctx.cluster.map(c -> c.isLeader(me)).orElse(false) && lease.view().held();
        boolean missing = ctx.cluster.map(c -> c.member(me).isEmpty()).orElse(true);
        if (leader && json.equals(lastMemberJson) && !missing) {
            return CompletableFuture.completedFuture(null);
        }
        return Futures.storeCall(() -> session.touchMember(json), config.settings().retryTimeout().toNanos(), cfg.loopScheduler())
                .handle((v, e) -> {
                    if (e != null) {
                        LOG.debug("{}: could not write the member entry: {}", me, Futures.describe(e));
                        lane.execute(() -> readFromStore = true);
                    } else {
                        lane.execute(() -> lastMemberJson = json);
                    }
                    return null;
                });
    }

    private String safeConnUrl() {
        try {
            return pg.connectionUrl();
        } catch (RuntimeException e) {
            return "";
        }
    }

    private void updateRole(Optional<PostgresState> pgState, Optional<Cluster> cluster, String why) {
        boolean named = cluster.or(() -> lastCluster).map(c -> c.isLeader(me)).orElse(false);
        boolean holds = named && lease.view().isValid(cfg.ticker().read());
        Role next = Decider.roleOf(pgState.isPresent() ? pgState : lastPg, holds, memory.fatal().isPresent());
        if (next == Role.DEMOTING && memory.action().map(a -> a.action() instanceof Action.Bootstrap).orElse(false)) {
            next = Role.STARTING; // a new cluster runs as a primary just before its first leader lock
        }
        setRole(next, why);
    }

    private void setRole(Role next, String why) {
        if (next != role) {
            Role before = role;
            role = next;
            LOG.info("{}: role {} -> {}", me, before, next);
            emit(new HaEvent.RoleChanged(me, before, next, lastReason));
        }
    }

    private void publishStatus() {
        long now = cfg.ticker().read();
        LeaseView lv = lease == null ? LeaseView.NOT_HELD : lease.view();
        boolean holds = lastCluster.map(c -> c.isLeader(me)).orElse(false) && lv.isValid(now);
        status = new NodeStatus(me, cfg.scope(), role, lastCluster.flatMap(Cluster::leader), holds, lastPg, dcsReachable,
                dcsLastSeen, config.paused(), lastReason, cycles, pg.externalFence());
        view = new EngineView(status, lastCluster, lastPg, lv, config, lastCycleAt,
                memory.action().map(a -> a.action().describe()));
    }

    private void warnOnce(String warning) {
        if (warned.add(warning)) {
            LOG.warn("{}: {}", me, warning);
        }
    }

    private void emit(HaEvent e) {
        if (killed) {
            return;
        }
        for (HaListener l : cfg.listeners()) {
            try {
                cfg.listenerExecutor().execute(() -> {
                    try {
                        l.onEvent(e);
                    } catch (RuntimeException ex) {
                        LOG.warn("{}: an event listener failed on {}", me, e, ex);
                    }
                });
            } catch (RuntimeException ex) {
                LOG.warn("{}: could not deliver {}", me, e, ex);
            }
        }
    }
}
