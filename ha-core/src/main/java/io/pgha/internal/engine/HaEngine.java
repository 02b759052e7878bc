package io.pgha.internal.engine;

import io.pgha.MemberTags;
import io.pgha.HaEvent;
import io.pgha.NodeStatus;
import io.pgha.Role;
import io.pgha.TaskScheduler;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.DynamicConfig;
import io.pgha.internal.decision.Action;
import io.pgha.internal.decision.AdminRequest;
import io.pgha.internal.decision.RestartRequest;
import io.pgha.internal.decision.Decider;
import io.pgha.internal.decision.Decision;
import io.pgha.internal.decision.DecisionInput;
import io.pgha.internal.decision.EffectiveConfig;
import io.pgha.internal.decision.LeaseView;
import io.pgha.internal.decision.NodeMemory;
import io.pgha.internal.decision.PlantedBug;
import io.pgha.internal.engine.CycleObserver.PeerProbe;
import io.pgha.internal.engine.CycleObserver.StoreView;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.PeerStatus;
import io.pgha.spi.PostgresController;
import io.pgha.spi.PostgresState;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.StopMode;
import io.pgha.spi.Subscription;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loop around the pure {@link Decider}: observe ({@link CycleObserver}), decide, act
 * ({@link ActionRunner}), write the member entry ({@link MemberEntryWriter}), wake. All of its
 * state is confined to one {@link SerialLane}; the store and PostgreSQL complete their calls on
 * whatever threads they like and the results hop back onto the lane. What actions leave to
 * remember comes back as {@link ActionOutcome}s that the loop folds into its {@link NodeMemory}.
 * The {@link LeaseKeeper} fences independently of this loop.
 */
public final class HaEngine {
    private static final Logger LOG = LoggerFactory.getLogger(HaEngine.class);
    private static final int MAX_SOON_CYCLES = 10;
    /**
     * Changes that wake the loop at once. Member entries and the leader's status change every
     * cycle and would only make every node spin; they are read at the next tick.
     */
    private static final Set<String> WAKING_KEYS = Set.of(ClusterKey.LEADER.path(), ClusterKey.FAILOVER.path(),
            ClusterKey.CONFIG.path(), ClusterKey.SYNC.path(), ClusterKey.INITIALIZE.path(), ClusterKey.HISTORY.path());

    /** The engine's life, in one place (as Curator's LeaderLatch keeps its state). */
    enum State {
        /** Built, not started. */
        LATENT,
        /** Cycles run. */
        STARTED,
        /** A graceful stop is under way: no more cycles or actions. */
        STOPPING,
        /** Stopped gracefully (or before it ever started). */
        STOPPED,
        /** Crash simulation: the node does nothing at all from now on, not even report. */
        KILLED
    }

    /** Read by each cycle, written by {@link #updateTags} (a reloaded configuration). */
    private volatile MemberTags tags;
    private final EngineConfig cfg;
    private final String me;
    private final PostgresController pg;
    private final SerialLane lane;
    private final NodeReport report;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final List<Subscription> subscriptions = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();

    // the parts, made at start
    private volatile DcsSession session;
    private volatile LeaseKeeper lease;
    private volatile CycleObserver observer;
    private ActionRunner actions;
    private MemberEntryWriter memberEntry;
    private ParameterApplier parameters;
    private SlotManager slots;
    private Failsafe failsafe;
    private WatchdogGuard watchdog;
    /** This node's REST API URL, as published in its member entry. */
    private volatile Optional<String> myApiUrl = Optional.empty();
    private final AtomicReference<RestartRequest> scheduledRestart = new AtomicReference<>();
    private Duration leaseGuarantee;

    // lane-confined state
    private EffectiveConfig config;
    /** Starts not knowing where synchronous_standby_names last changed: a setting left in PostgreSQL by an earlier run proves nothing. */
    private NodeMemory memory = NodeMemory.INITIAL;
    private Optional<Cluster> lastCluster = Optional.empty();
    private boolean cycleRunning;
    private boolean wakeRequested;
    /** A step the store refused ran less than a cycle ago: the next cycle comes at once, a bounded number of times. */
    private boolean retrySoon;
    /** A store call of this cycle went unanswered: the member entry waits for the next cycle. */
    private boolean storeUnansweredThisCycle;
    private int soonCycles;
    private long cycles;
    /** Cycles that finished, and the ticker time they took together (NodeStatus: a meter's count and total). */
    private long cyclesCompleted;
    private long cycleNanos;
    private long lastCycleAt;
    private TaskScheduler.Cancellable nextTick;
    /** Completes the operator's request being carried out. */
    private CompletableFuture<AdminRequest.Outcome> requestDone;

    public HaEngine(EngineConfig cfg) {
        this.cfg = cfg;
        this.tags = cfg.tags();
        this.me = cfg.name();
        this.pg = cfg.postgres();
        this.lane = new SerialLane(cfg.loopScheduler());
        this.config = EffectiveConfig.of(cfg.settings());
        this.report = new NodeReport(cfg, config, () -> state.get() == State.KILLED);
    }

    // ================================================================== lifecycle

    /** Opens the store session and starts the loop. Returns at once. */
    public void start() {
        start(cfg.apiUrl());
    }

    /** As {@link #start()}, publishing {@code apiUrl} (known only once the REST API is bound). */
    public void start(Optional<String> apiUrl) {
        this.myApiUrl = apiUrl;
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("node '" + me + "' was already started");
        }
        session = cfg.dcs().open(SessionSpec.member(cfg.scope(), me, cfg.settings().ttl(), cfg.settings().retryTimeout()));
        leaseGuarantee = session.leaseGuarantee();
        config = EffectiveConfig.merge(cfg.settings(), DynamicConfig.EMPTY, leaseGuarantee);
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
            public void storeCallUnanswered() {
                lane.execute(HaEngine.this::storeCallUnanswered);
            }
        }, config, cfg.bugs());
        watchdog = new WatchdogGuard(me, cfg.watchdog(), cfg.watchdogMode(), cfg.watchdogSafetyMargin(), () -> config.ttlNanos(),
                this::warnOnce);
        lease.watchdog(watchdog);
        observer = new CycleObserver(cfg, session, lease);
        actions = new ActionRunner(cfg, session, lease, lane, new LoopForActions());
        memberEntry = new MemberEntryWriter(cfg, this::tags, session, apiUrl);
        parameters = new ParameterApplier(me, pg, cfg.initialConfig().map(DynamicConfig::new), lane::execute, this::warnOnce);
        slots = new SlotManager(me, pg, lease, lane::execute, this::warnOnce);
        failsafe = new Failsafe(me, cfg.ticker(), () -> config.ttlNanos(), lane::execute, cfg.bugs());
        subscriptions.add(session.watch(new DcsListener() {
            @Override
            public void clusterChanged(Optional<String> path) {
                if (path.isEmpty() || path.get().equals(ClusterKey.LEADER.path())) {
                    observer.leaderKeyMayHaveChanged();
                }
                if (path.isEmpty() || WAKING_KEYS.contains(path.get())) {
                    wake();
                }
            }

            @Override
            public void leaseLost(String reason) {
                lane.execute(() -> observer.mustReadFromStore());
                lease.leaseLost(reason);
            }
        }));
        subscriptions.add(pg.onStateChange(this::wake));
        LOG.info("{}: starting pgha node in cluster '{}'", me, cfg.scope());
        wake();
    }

    /** Whether cycles run: started, and neither stopping nor killed. */
    private boolean running() {
        return state.get() == State.STARTED;
    }

    /** Runs a cycle now, or right after the running one. Safe from any thread. */
    public void wake() {
        if (state.get() == State.KILLED) {
            return;
        }
        lane.execute(() -> {
            if (!running() || memory.fatal().isPresent()) {
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
            if (state.compareAndSet(State.LATENT, State.STOPPED)) {
                stopped.complete(null);
                return;
            }
            if (!state.compareAndSet(State.STARTED, State.STOPPING)) {
                return;
            }
            if (requestDone != null) {
                answer(false, "the node is stopping");
            }
            if (session == null) {
                stopped.complete(null);
                return;
            }
            if (nextTick != null) {
                nextTick.cancel();
            }
            actions.abandon();
            boolean leader = lastCluster.map(c -> c.isLeader(me)).orElse(false) || lease.view().held();
            Duration timeout = ActionRunner.actionTimeout(config);
            CompletableFuture<Void> stopPg = config.paused() ? CompletableFuture.completedFuture(null)
                    : Futures.postgresCall(pg.stop(StopMode.FAST, timeout), timeout, cfg.loopScheduler()).thenApply(v -> (Void) null);
            stopPg.handle((v, e) -> {
                if (e == null && !config.paused()) {
                    emit(new HaEvent.PostgresChanged(me, HaEvent.PostgresChange.STOPPED, leader ? "primary" : "replica"));
                }
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
                return Futures.delay(Duration.ofNanos(wait), cfg.loopScheduler()).thenRun(() -> lane.execute(() -> finishShutdown(true)));
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
        setRole(Role.STOPPED);
        publishStatus();
        LOG.info("{}: stopped", me);
        state.compareAndSet(State.STOPPING, State.STOPPED);
        stopped.complete(null);
    }

    /**
     * Crash simulation: from this call on the node does nothing at all, as if its process died: no
     * more cycles, no events, nothing released or disarmed. Its lease expires in the store by itself.
     */
    public void kill() {
        state.set(State.KILLED);
        if (lease != null) {
            lease.abandon();
        }
        subscriptions.forEach(Subscription::close);
        lane.execute(() -> {
            if (nextTick != null) {
                nextTick.cancel();
            }
            stopped.complete(null);
        });
    }

    public NodeStatus status() {
        return report.status();
    }

    /** The engine's knowledge as of its last cycle, for the REST API. */
    public EngineView view() {
        return report.view();
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

    /**
     * A primary's {@code POST /failsafe} to this member (the REST API's, or the simulator's, thread):
     * accepted unless failsafe mode is off here or this member runs as a primary itself.
     */
    public FailsafeAnswer acceptFailsafe(io.pgha.spi.FailsafeRequest request) {
        boolean enabled = lastCluster.map(c -> c.dynamicConfig().failsafeMode().orElse(false)).orElse(false);
        return failsafe.accept(request, enabled, observer.lastPostgres());
    }

    /**
     * Patroni's {@code failsafe_mode_is_active}: this primary runs on without the store because every
     * member confirmed it, or this member confirmed a primary's request within the ttl.
     */
    public boolean failsafeActive() {
        return failsafe.active() || failsafe.freshLeader(cfg.ticker().read()).isPresent();
    }

    private String connectionUrlOrEmpty() {
        try {
            return pg.connectionUrl();
        } catch (RuntimeException e) {
            return "";
        }
    }

    private boolean canCreateReplicaWithoutLeader() {
        try {
            return cfg.postgres().canCreateReplicaWithoutLeader();
        } catch (RuntimeException e) {
            return false; // a controller that cannot say cannot do it
        }
    }

    /** The member's tags as now in force: the builder's, until {@link #updateTags(MemberTags)} replaces them. */
    public MemberTags tags() {
        return tags;
    }

    /** Replaces the member's tags; the next cycle decides and publishes with them. */
    public void updateTags(MemberTags next) {
        this.tags = java.util.Objects.requireNonNull(next, "tags");
        wake();
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
            if (!running()) {
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

    /** The restart an operator scheduled on this member, if any (Patroni keeps one at a time). */
    public Optional<RestartRequest> scheduledRestart() {
        return Optional.ofNullable(scheduledRestart.get());
    }

    /**
     * Schedules {@code request} (which has a schedule); false if another restart is scheduled
     * already (Patroni answers 409).
     */
    public boolean scheduleRestart(RestartRequest request) {
        if (request.schedule().isEmpty()) {
            throw new IllegalArgumentException("a scheduled restart needs its time");
        }
        boolean set = scheduledRestart.compareAndSet(null, request);
        if (set) {
            LOG.info("{}: restart scheduled for {}", me, request.schedule().get());
        }
        return set;
    }

    /** Cancels the scheduled restart; false if there was none. */
    public boolean cancelScheduledRestart() {
        RestartRequest r = scheduledRestart.getAndSet(null);
        if (r != null) {
            LOG.info("{}: the restart scheduled for {} was cancelled", me, r.schedule().orElseThrow());
        }
        return r != null;
    }

    /**
     * At the first cycle at or after its time, a scheduled restart runs if this member still matches
     * its filters (role, version, pending restart), and is dropped with the reason otherwise, as
     * Patroni does. On the lane.
     */
    private void runScheduledRestartIfDue() {
        RestartRequest r = scheduledRestart.get();
        if (r == null || r.schedule().orElseThrow().toInstant().isAfter(cfg.wallClock().instant())
                || memory.request().isPresent() || requestDone != null || !scheduledRestart.compareAndSet(r, null)) {
            return;
        }
        Optional<PostgresState> pgState = observer.lastPostgres();
        Optional<String> mismatch = r.mismatch(report.role() == Role.PRIMARY ? "primary" : "replica",
                pgState.map(PostgresState::serverVersion).orElse(0),
                pgState.map(p -> !p.pendingRestart().isEmpty()).orElse(false));
        if (mismatch.isPresent()) {
            LOG.info("{}: the restart scheduled for {} is cancelled: {}", me, r.schedule().get(), mismatch.get());
            return;
        }
        LOG.info("{}: restarting PostgreSQL as scheduled for {}", me, r.schedule().get());
        memory = memory.withRequest(Optional.of(new AdminRequest.Restart(r.timeout())));
        requestDone = new CompletableFuture<>();
        requestDone.thenAccept(o -> LOG.info("{}: scheduled restart: {}", me, o.message()));
        wakeRequested = true;
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

    /** Observe: a view of the store and of PostgreSQL, each bounded by retry_timeout. */
    private void runCycle() {
        cycleRunning = true;
        wakeRequested = false;
        storeUnansweredThisCycle = false;
        cycles++;
        long start = cfg.ticker().read();
        long epoch = actions.epoch();
        lease.loopAlive(start);
        boolean authoritative = observer.readsFromStore(start, config);
        observer.observe(authoritative, config).thenAccept(raw -> lane.execute(() -> {
            if (epoch != actions.epoch()) {
                // a long action finished while we observed: what we saw may predate its effects
                startOver();
                return;
            }
            afterObserve(start, authoritative, raw);
        }));
    }

    /**
     * A store call went unanswered, in an action or a heartbeat renewal (on the lane): the next view
     * comes from the store itself, this cycle writes no member entry (it would only wait out
     * retry_timeout again), and a primary in failsafe mode asks the members now. Patroni does the
     * same when its lock update raises a store error ({@code _handle_dcs_error}): a cycle that
     * decided on the watch's copy just before the store went away finds out only here, a
     * retry_timeout later, and the next cycle's read would take another one, past the lease.
     */
    private void storeCallUnanswered() {
        observer.mustReadFromStore();
        storeUnansweredThisCycle = true;
        askFailsafeMembers(observer.lastPostgres());
    }

    /** A primary in failsafe mode that cannot reach the store asks the members to let it run on (lane). */
    private void askFailsafeMembers(Optional<PostgresState> pg) {
        if (lastCluster.isPresent() && pg.isPresent()) {
            failsafe.confirm(lastCluster.get(), pg.get(), connectionUrlOrEmpty(), myApiUrl, cfg.peerClient(), slots.positions(), lease,
                    cfg.loopScheduler());
        }
    }

    /** Ends this cycle without deciding and runs the next one at once. */
    private void startOver() {
        cycleRunning = false;
        if (running()) {
            runCycle();
        }
    }

    /** Starts the cycle over with a read from the store itself. Called on the lane instead of deciding. */
    private void rereadFromStore(String why) {
        LOG.info("{}: {}: reading again from the store itself", me, why);
        observer.mustReadFromStore();
        startOver();
    }

    /** Takes in what was observed, then asks the peers during a leader race. */
    private void afterObserve(long start, boolean authoritative, CycleObserver.Raw raw) {
        StoreView storeView = observer.judge(start, authoritative, raw);
        Optional<Cluster> cluster = Optional.empty();
        Optional<String> dcsError = Optional.empty();
        if (storeView instanceof StoreView.Stale stale) {
            rereadFromStore(stale.why());
            return;
        }
        if (storeView instanceof StoreView.Unreachable u) {
            dcsError = Optional.of(u.error());
            askFailsafeMembers(Optional.ofNullable(raw.postgres()));
            if (cfg.bugs().contains(PlantedBug.QUITS_AFTER_A_LONG_STORE_OUTAGE) && observer.storeLastSeen().map(
                    seen -> seen.plus(config.settings().ttl()).isBefore(cfg.wallClock().instant())).orElse(false)) {
                memory = memory.withFatal("the store has been unreachable for longer than the ttl");
            }
        } else if (storeView instanceof StoreView.Current current) {
            Cluster c = current.cluster();
            failsafe.storeReachable(c);
            c.warnings().forEach(w -> warnOnce("store: " + w));
            cluster = Optional.of(c);
            EffectiveConfig merged = EffectiveConfig.merge(cfg.settings(), c.dynamicConfig(), leaseGuarantee);
            if (c.config().isEmpty()) {
                // a new cluster: the bootstrap configuration says whether it is a standby cluster, so the
                // race winner clones the remote primary instead of running initdb (Patroni's bootstrap_standby_leader)
                merged = merged.withStandbyClusterOf(cfg.initialConfig().map(DynamicConfig::new).orElse(DynamicConfig.EMPTY));
            }
            merged.warnings().forEach(w -> warnOnce("config: " + w));
            c.dynamicConfig().notActedOn().forEach(w -> warnOnce("config: " + w));
            config = merged;
            lease.configure(merged);
            noteLeader(c);
            c.leader().ifPresent(l -> memory = memory.withLeaderSeen(l, c.revision()));
            parameters.offer(c);
        }
        observer.notePostgres(raw);
        Optional<PostgresState> pgState = Optional.ofNullable(raw.postgres());
        Optional<String> pgErr = raw.pgError() == null ? Optional.empty() : Optional.of(Futures.describe(raw.pgError()));
        if (cluster.isPresent() && pgState.isPresent() && memory.action().isEmpty()) {
            long t = cfg.ticker().read();
            slots.offer(cluster.get(), pgState.get(), lease.view().isValid(t) && cluster.get().isLeader(me), tags.canFailover(), t,
                    actions.epoch());
        }
        trackPrimaryHealth(cluster, pgState, cfg.ticker().read());
        cluster.ifPresent(this::trackBootstrapClaim);
        Optional<Cluster> c = cluster;
        Optional<String> dErr = dcsError;
        PeerProbe peers = observer.probePeers(c, config);
        long epoch = actions.epoch();
        // A peer that does not answer (a frozen agent accepts the connection and says nothing) holds
        // the race up to peer_timeout; when the key is taken meanwhile, there is nothing left to race
        // for: read again at once, so a replica retargets as soon as a new leader appears.
        peers.settled().whenComplete((x, e) -> lane.execute(() -> {
            Optional<Map<String, PeerStatus>> answers = peers.answers();
            if (answers.isEmpty()) {
                startOver();
                return;
            }
            decideAndAct(start, authoritative, c, dErr, pgState, pgErr, answers.get(), epoch);
        }));
    }

    /** Decide, then act. */
    private void decideAndAct(long start, boolean authoritative, Optional<Cluster> cluster, Optional<String> dcsError,
                              Optional<PostgresState> pgState, Optional<String> pgErr, Map<String, PeerStatus> peers, long epoch) {
        if (!running()) {
            cycleRunning = false;
            return;
        }
        if (epoch != actions.epoch()) {
            cycleRunning = false;
            runCycle();
            return;
        }
        Optional<String> contradicted = observer.contradictedByPeers(authoritative, cluster, peers);
        if (contradicted.isPresent()) {
            rereadFromStore(contradicted.get());
            return;
        }
        long now = cfg.ticker().read();
        LeaseView leaseView = lease.view();
        DecisionInput in = new DecisionInput(me, tags, cluster, dcsError, pgState, pgErr, leaseView, peers, config,
                memory, now, cfg.wallClock().instant(), cfg.bugs(), canCreateReplicaWithoutLeader(), failsafe.freshLeader(now),
                watchdog.ready(), slots.logicalSlotsToCopy(actions.epoch()));
        Decision d = Decider.decide(in);
        if (d.reason().contains(Decider.DEMOTE_CLUSTER_REFUSED)) {
            warnOnce(Decider.DEMOTE_CLUSTER_REFUSED + "; remove standby_cluster from the dynamic configuration, or rebuild"
                    + " this cluster as a standby cluster");
        }
        report.decided(d);
        d.actions().stream().filter(Action.WriteFailsafe.class::isInstance).map(Action.WriteFailsafe.class::cast)
                .forEach(w -> failsafe.writing(w.members()));
        cluster.ifPresent(c -> lastCluster = Optional.of(c));
        updateRole(pgState, cluster);
        // peers ask for our status during a leader race: what we just observed (a primary that has
        // just crashed is not a running primary) must be what they hear, before we act on it
        publishStatus();
        emit(new HaEvent.Decision(me, d.reason(), d.describe()));
        ActionRunner.Context ctx = new ActionRunner.Context(cluster, pgState);
        if (actions.holdingOff(d, now)) {
            LOG.debug("{}: {} failed less than loop_wait ago; retrying at the next regular cycle", me, actions.heldBack());
            finishCycle(start, d, ctx);
            return;
        }
        actions.run(d, ctx).whenComplete((v, e) -> lane.execute(() -> finishCycle(start, d, ctx)));
    }

    /** Writes the member entry, then schedules the next cycle. */
    private void finishCycle(long start, Decision d, ActionRunner.Context ctx) {
        runScheduledRestartIfDue();
        CompletableFuture<MemberEntryWriter.Result> touch = ctx.cluster().isPresent() && memory.fatal().isEmpty() && !storeUnansweredThisCycle
                ? memberEntry.write(ctx.cluster(), observer.lastPostgres(), report.role(), memory.action(), lease.view().held(),
                        config.settings().retryTimeout().toNanos(),
                        Optional.ofNullable(scheduledRestart.get()).flatMap(RestartRequest::schedule))
                : CompletableFuture.completedFuture(MemberEntryWriter.Result.SKIPPED);
        touch.whenComplete((written, e) -> lane.execute(() -> {
            if (written != null) {
                memberEntry.confirm(written);
                if (written.failed()) {
                    observer.mustReadFromStore();
                }
            }
            cycleRunning = false;
            lastCycleAt = cfg.ticker().read();
            cyclesCompleted++;
            cycleNanos += lastCycleAt - start;
            publishStatus();
            if (!running() || memory.fatal().isPresent()) {
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

    private void noteLeader(Cluster c) {
        Optional<String> before = lastCluster.flatMap(Cluster::leader);
        if (!before.equals(c.leader())) {
            memory = memory.withDivergence(Optional.empty());
            if (lastCluster.isPresent()) {
                emit(new HaEvent.LeaderChanged(me, before, c.leader()));
            }
        }
    }

    /** Times how long the view has shown the same bootstrap claim (an empty {@code initialize} key). */
    private void trackBootstrapClaim(Cluster c) {
        OptionalLong claim = c.initialize().filter(String::isEmpty).isPresent() ? OptionalLong.of(c.initializeVersion()) : OptionalLong.empty();
        memory = memory.withBootstrapClaimSeen(claim, cfg.ticker().read());
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

    /** What the action runner may ask of the loop. On the lane. */
    private final class LoopForActions implements ActionRunner.Loop {
        @Override
        public boolean running() {
            return HaEngine.this.running();
        }

        @Override
        public EffectiveConfig config() {
            return config;
        }

        @Override
        public void fold(ActionOutcome outcome) {
            memory = outcome.applyTo(memory, cfg.ticker().read());
        }

        @Override
        public void storeCallFailed() {
            observer.mustReadFromStore();
        }

        @Override
        public void storeCallUnanswered() {
            HaEngine.this.storeCallUnanswered();
        }

        @Override
        public void retrySoon() {
            retrySoon = true;
        }

        @Override
        public void answer(boolean ok, String message) {
            HaEngine.this.answer(ok, message);
        }

        @Override
        public Optional<CompletableFuture<AdminRequest.Outcome>> takeRequest() {
            CompletableFuture<AdminRequest.Outcome> f = requestDone;
            requestDone = null;
            memory = memory.withRequest(Optional.empty());
            return Optional.ofNullable(f);
        }

        @Override
        public void fail(String reason) {
            memory = memory.withFatal(reason);
            LOG.error("{}: stopping the node: {}", me, reason);
            emit(new HaEvent.NodeFailed(me, reason));
            setRole(Role.FAILED);
        }

        @Override
        public void wake() {
            HaEngine.this.wake();
        }

        @Override
        public void emit(HaEvent event) {
            HaEngine.this.emit(event);
        }

        @Override
        public void logicalSlotCopyUnsupported(String why) {
            slots.copyUnsupported(why);
        }
    }

    // ================================================================== role, status, events

    private void updateRole(Optional<PostgresState> pgState, Optional<Cluster> cluster) {
        boolean named = cluster.or(() -> lastCluster).map(c -> c.isLeader(me)).orElse(false);
        boolean holds = named && lease.view().isValid(cfg.ticker().read());
        Role next = Decider.roleOf(pgState.isPresent() ? pgState : observer.lastPostgres(), holds, memory.fatal().isPresent(),
                config.isStandbyCluster());
        if (next == Role.DEMOTING && memory.action().map(a -> a.action() instanceof Action.Bootstrap).orElse(false)) {
            next = Role.STARTING; // a new cluster runs as a primary just before its first leader lock
        }
        setRole(next);
    }

    private void setRole(Role next) {
        report.setRole(next);
    }

    private void publishStatus() {
        LeaseView lv = lease == null ? LeaseView.NOT_HELD : lease.view();
        boolean observed = observer != null;
        report.publish(lastCluster, lv, observed ? observer.lastPostgres() : Optional.empty(), observed && observer.storeReachable(),
                observed ? observer.storeLastSeen() : Optional.empty(), config, cycles, lastCycleAt,
                memory.action().map(a -> a.action().describe()), cyclesCompleted, cycleNanos);
    }

    private void warnOnce(String warning) {
        report.warnOnce(warning);
    }

    private void emit(HaEvent e) {
        report.emit(e);
    }
}
