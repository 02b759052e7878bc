package io.pgha.internal.engine;

import io.pgha.HaEvent;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.cluster.Member;
import io.pgha.internal.decision.Action;
import io.pgha.internal.decision.AdminRequest;
import io.pgha.internal.decision.Decision;
import io.pgha.internal.decision.DemoteMode;
import io.pgha.internal.decision.EffectiveConfig;
import io.pgha.internal.decision.NodeMemory.DivergenceResult;
import io.pgha.internal.decision.NodeMemory.RunningAction;
import io.pgha.internal.decision.PlantedBug;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.Lsn;
import io.pgha.spi.PostgresController;
import io.pgha.spi.PostgresException;
import io.pgha.spi.PostgresState;
import io.pgha.spi.StopMode;
import io.pgha.spi.Upstream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out a decision: its quick steps in order (a gate that does not succeed skips the rest),
 * then its long step, if any, in the node's single async slot while the cycles go on. Owns that
 * slot: the action in it, the controller operation it waits on, cancelling both, and the back-off
 * after a long action failed. What an action leaves for the node to remember comes back as an
 * {@link ActionOutcome} that the loop folds. Runs on the loop's lane; the SPI calls complete
 * wherever they like and hop back onto it.
 */
final class ActionRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ActionRunner.class);
    /** How long PostgreSQL takes to make commits wait for a new synchronous_standby_names after a reload. */
    private static final Duration SYNC_SETTLE = Duration.ofMillis(100);
    private static final Duration MIN_ACTION_TIMEOUT = Duration.ofSeconds(60);

    /** What the runner needs from the loop. Called on the lane. */
    interface Loop {
        /** Whether the node still runs (not stopping): no step starts otherwise. */
        boolean running();

        EffectiveConfig config();

        /** Folds what an action left to remember into the node's memory. */
        void fold(ActionOutcome outcome);

        /** A store call failed or was refused: the next view must come from the store itself. */
        void storeCallFailed();

        /**
         * A store call went unanswered (its outcome is unknown): besides {@link #storeCallFailed},
         * the store may be gone, which a primary in failsafe mode must act on at once.
         */
        void storeCallUnanswered();

        /** The store refused a gate: decide again at once. */
        void retrySoon();

        /** Answers the operator's pending request. */
        void answer(boolean ok, String message);

        /** Takes the operator's pending request over, to answer it when the long action it asked for ends. */
        Optional<CompletableFuture<AdminRequest.Outcome>> takeRequest();

        /** Stops the node for good. */
        void fail(String reason);

        /** Runs a cycle now, or right after the running one. */
        void wake();

        void emit(HaEvent event);

        /** The controller cannot copy logical slots: the decision is not to ask for it again. */
        void logicalSlotCopyUnsupported(String why);
    }

    /** What the steps of one decision share: the view it was made on. */
    record Context(Optional<Cluster> cluster, Optional<PostgresState> pg) {
    }

    /** How a quick step went: whether it succeeded, and what it leaves to remember. */
    private record StepResult(boolean succeeded, Optional<ActionOutcome> outcome) {
        static final StepResult DONE = new StepResult(true, Optional.empty());

        static StepResult of(Boolean ok) {
            return new StepResult(Boolean.TRUE.equals(ok), Optional.empty());
        }

        static StepResult remembering(ActionOutcome o) {
            return new StepResult(true, Optional.of(o));
        }
    }

    private final EngineConfig cfg;
    private final String me;
    private final PostgresController pg;
    private final DcsSession session;
    private final LeaseKeeper lease;
    private final SerialLane lane;
    private final Loop loop;

    /** Moves whenever a long action starts or ends: an observation begun before that is stale. */
    private long epoch;
    /** The long action in the slot (guarded by its timeout). */
    private CompletableFuture<?> slot;
    /** The controller operation the long action is waiting on. */
    private volatile CompletableFuture<?> pgOp;
    /** The kind of long action that failed last, and when (ticker): see {@link #holdingOff}. */
    private Class<? extends Action.LongRunning> failedLong;
    private long failedLongAt;
    /** The role the last reported change left the server in (lane-confined); null before any. */
    private String lastRole;

    ActionRunner(EngineConfig cfg, DcsSession session, LeaseKeeper lease, SerialLane lane, Loop loop) {
        this.cfg = cfg;
        this.me = cfg.name();
        this.pg = cfg.postgres();
        this.session = session;
        this.lease = lease;
        this.lane = lane;
        this.loop = loop;
    }

    /** Moves whenever a long action starts or ends. */
    long epoch() {
        return epoch;
    }

    /** How long a long action may take (PostgreSQL's start timeout, at least a minute). */
    static Duration actionTimeout(EffectiveConfig config) {
        Duration t = config.settings().primaryStartTimeout();
        return t.compareTo(MIN_ACTION_TIMEOUT) < 0 ? MIN_ACTION_TIMEOUT : t;
    }

    /**
     * Whether the decision would start again, within loop_wait of its failure, a long action that
     * just failed: a store change its failure path caused (a released initialize key) wakes the loop
     * at once, which would otherwise retry a failing bootstrap in a tight loop. A demotion is never
     * held back.
     */
    boolean holdingOff(Decision d, long now) {
        if (failedLong == null || now - failedLongAt >= loop.config().loopWaitNanos()) {
            return false;
        }
        return d.longStep().filter(a -> a.getClass() == failedLong && !(a instanceof Action.Demote)).isPresent();
    }

    /** The kind of long action being held back, for the log. */
    String heldBack() {
        return failedLong == null ? "" : failedLong.getSimpleName();
    }

    /** Runs the decision's steps; completes when the quick ones are done (a long one is only started). */
    CompletableFuture<Void> run(Decision d, Context ctx) {
        return run(d.quickSteps(), 0, d.longStep(), ctx);
    }

    private CompletableFuture<Void> run(List<Action.Quick> steps, int i, Optional<Action.LongRunning> last, Context ctx) {
        if (!loop.running()) {
            return CompletableFuture.completedFuture(null);
        }
        if (i >= steps.size()) {
            last.ifPresent(a -> startLong(a, ctx));
            return CompletableFuture.completedFuture(null);
        }
        Action.Quick a = steps.get(i);
        if (a instanceof Action.ClearFailover) {
            // nothing waits on it (a stale request is harmless once the lock is ours), so it does
            // not delay a promotion that follows by a store round trip
            Futures.call(() -> quick(a, ctx)).whenComplete((r, e) -> {
                if (e != null) {
                    lane.execute(() -> failed(a, e));
                }
            });
            return run(steps, i + 1, last, ctx);
        }
        CompletableFuture<Void> next = new CompletableFuture<>();
        Futures.call(() -> quick(a, ctx)).whenComplete((r, e) -> lane.execute(() -> {
            if (e == null && r != null) {
                r.outcome().ifPresent(loop::fold);
            }
            boolean success = e == null && r != null && r.succeeded();
            if (e != null) {
                failed(a, e);
                loop.storeCallUnanswered(); // the outcome is unknown: what the store shows now decides
            } else if (!success && a.isGate()) {
                LOG.info("{}: {} did not succeed; skipping the rest of this decision", me, a.describe());
                // the store disagreed with the view the decision was made on: decide again at once,
                // on a view from the store itself
                loop.retrySoon();
                loop.storeCallFailed();
            }
            if (!success && a.isGate()) {
                next.complete(null);
            } else {
                run(steps, i + 1, last, ctx).whenComplete((v, e2) -> next.complete(null));
            }
        }));
        return next;
    }

    /** Cancels the long action in the slot and the controller operation it waits on (an operator's or the decision's). */
    void cancel() {
        if (slot != null) {
            slot.cancel(true);
            slot = null;
            cancelPgOp();
            epoch++;
        }
    }

    /** On a graceful stop: the long action in the slot is given up; its end is still reported. */
    void abandon() {
        if (slot != null) {
            slot.cancel(true);
            cancelPgOp();
        }
    }

    // ------------------------------------------------------------------ quick steps

    private CompletionStage<StepResult> quick(Action.Quick a, Context ctx) {
        return a.accept(new QuickSteps(ctx));
    }

    private final class QuickSteps implements Action.Quick.Visitor<CompletionStage<StepResult>> {
        private final Context ctx;
        private final long retry;
        private final Duration retryTimeout;

        QuickSteps(Context ctx) {
            this.ctx = ctx;
            this.retryTimeout = loop.config().settings().retryTimeout();
            this.retry = retryTimeout.toNanos();
        }

        private CompletionStage<StepResult> store(Function<DcsSession, CompletionStage<Boolean>> call) {
            return Futures.storeCall(() -> call.apply(session), retry, cfg.loopScheduler()).thenApply(StepResult::of);
        }

        @Override
        public CompletionStage<StepResult> acquireLock(Action.AcquireLock a) {
            return lease.acquire().thenApply(StepResult::of);
        }

        @Override
        public CompletionStage<StepResult> renewLock(Action.RenewLock a) {
            return lease.renew(ctx.pg().map(PostgresState::walPosition).orElse(Lsn.ZERO)).thenApply(StepResult::of);
        }

        @Override
        public CompletionStage<StepResult> releaseLock(Action.ReleaseLock a) {
            return lease.release().thenApply(StepResult::of);
        }

        @Override
        public CompletionStage<StepResult> claimInitialize(Action.ClaimInitialize a) {
            return store(s -> s.compareAndSet(ClusterKey.INITIALIZE, "", DcsEntry.ABSENT));
        }

        @Override
        public CompletionStage<StepResult> clearInitialize(Action.ClearInitialize c) {
            return store(s -> s.compareAndDelete(ClusterKey.INITIALIZE, c.expectedVersion()));
        }

        @Override
        public CompletionStage<StepResult> writeInitialize(Action.WriteInitialize w) {
            return store(s -> s.compareAndSet(ClusterKey.INITIALIZE, w.systemId(), w.expectedVersion()));
        }

        @Override
        public CompletionStage<StepResult> writeConfig(Action.WriteConfig a) {
            return store(s -> s.compareAndSet(ClusterKey.CONFIG, DynamicConfigs.encode(cfg.settings(), cfg.initialConfig()),
                    DcsEntry.ABSENT));
        }

        @Override
        public CompletionStage<StepResult> clearFailover(Action.ClearFailover c) {
            return store(s -> s.compareAndDelete(ClusterKey.FAILOVER, c.expectedVersion()));
        }

        @Override
        public CompletionStage<StepResult> writeSync(Action.WriteSync w) {
            return store(s -> s.compareAndSet(ClusterKey.SYNC, ClusterCodec.encodeSync(w.leader(), w.standbys(), w.quorum()), w.expectedVersion()));
        }

        @Override
        public CompletionStage<StepResult> deleteSync(Action.DeleteSync d) {
            return store(s -> s.compareAndDelete(ClusterKey.SYNC, d.expectedVersion()));
        }

        @Override
        public CompletionStage<StepResult> writeHistory(Action.WriteHistory h) {
            return store(s -> s.compareAndSet(ClusterKey.HISTORY, ClusterCodec.encodeHistory(h.entries()), h.expectedVersion()));
        }

        @Override
        public CompletionStage<StepResult> writeFailsafe(Action.WriteFailsafe f) {
            return store(s -> s.compareAndSet(ClusterKey.FAILSAFE, ClusterCodec.encodeFailsafe(f.members()), f.expectedVersion()));
        }

        @Override
        public CompletionStage<StepResult> setSyncStandbys(Action.SetSyncStandbys s) {
            // PostgreSQL makes commits wait only once its checkpointer has taken the new setting, a
            // moment after the reload: the position that a new standby must reach is read after that
            return Futures.postgresCall(Futures.call(() -> pg.setSynchronousStandbys(s.value())), retryTimeout, cfg.loopScheduler())
                    .thenCompose(v -> Futures.delay(SYNC_SETTLE, cfg.loopScheduler()))
                    .thenCompose(v -> Futures.postgresCall(Futures.call(pg::observe), retryTimeout, cfg.loopScheduler()))
                    .thenApply(p -> StepResult.remembering(new ActionOutcome.SyncStandbysSet(p.walPosition())));
        }

        @Override
        public CompletionStage<StepResult> checkDivergence(Action.CheckDivergence c) {
            long now = cfg.ticker().read();
            int tl = ctx.cluster().flatMap(cl -> cl.member(c.upstream().member())).map(Member::timeline).orElse(0);
            return Futures.postgresCall(Futures.call(() -> pg.checkDivergence(c.upstream())), retryTimeout, cfg.loopScheduler())
                    .handle((r, e) -> {
                        DivergenceCheck result = e == null && r != null ? r : DivergenceCheck.UNKNOWN;
                        if (e != null) {
                            LOG.info("{}: divergence check against {} failed: {}", me, c.upstream().member(), Futures.describe(e));
                        }
                        return StepResult.remembering(new ActionOutcome.DivergenceChecked(
                                new DivergenceResult(c.upstream().member(), tl, result, now)));
                    });
        }

        @Override
        public CompletionStage<StepResult> reloadPostgres(Action.ReloadPostgres a) {
            return Futures.postgresCall(Futures.call(pg::reload), retryTimeout, cfg.loopScheduler()).thenApply(v -> {
                lane.execute(() -> loop.emit(new HaEvent.PostgresChanged(me, HaEvent.PostgresChange.RELOADED,
                        lastRole == null ? "replica" : lastRole)));
                return StepResult.DONE;
            });
        }

        @Override
        public CompletionStage<StepResult> answerRequest(Action.AnswerRequest r) {
            loop.answer(r.ok(), r.message());
            return CompletableFuture.completedFuture(StepResult.DONE);
        }

        @Override
        public CompletionStage<StepResult> cancelAction(Action.CancelAction a) {
            cancel();
            loop.fold(new ActionOutcome.LongCancelled());
            return CompletableFuture.completedFuture(StepResult.DONE);
        }

        @Override
        public CompletionStage<StepResult> fail(Action.Fail f) {
            loop.fail(f.reason());
            return CompletableFuture.completedFuture(StepResult.DONE);
        }
    }

    // ------------------------------------------------------------------ the long step

    private void startLong(Action.LongRunning a, Context ctx) {
        long now = cfg.ticker().read();
        epoch++;
        loop.fold(new ActionOutcome.LongStarted(new RunningAction(a, now)));
        boolean requested = a instanceof Action.RestartPostgres || a instanceof Action.Reinitialize;
        Optional<CompletableFuture<AdminRequest.Outcome>> answerWhenDone = requested ? loop.takeRequest() : Optional.empty();
        Duration timeout = actionTimeout(loop.config());
        CompletableFuture<Optional<ActionOutcome>> work = Futures.call(() -> a.accept(new LongSteps(ctx, timeout)));
        CompletableFuture<Optional<ActionOutcome>> guarded = Futures.withTimeout(work,
                timeout.plus(loop.config().settings().retryTimeout()).toNanos(), cfg.loopScheduler(),
                () -> new PostgresException(a.describe() + " did not finish within " + timeout.toSeconds() + " s"));
        slot = guarded;
        guarded.whenComplete((outcome, e) -> lane.execute(() -> {
            if (e == null && outcome != null) {
                outcome.ifPresent(loop::fold);
            }
            if (slot != guarded) {
                return; // cancelled and replaced
            }
            slot = null;
            epoch++;
            loop.fold(new ActionOutcome.LongEnded(a, e == null));
            if (e != null) {
                cancelPgOp(); // gave up (timeout) or failed: nothing of it may go on in the background
                failed(a, e);
                failedLong = a.getClass();
                failedLongAt = cfg.ticker().read();
            } else {
                LOG.info("{}: {} done", me, a.describe());
                if (failedLong == a.getClass()) {
                    failedLong = null;
                }
                reportPostgresChange(a, ctx);
            }
            answerWhenDone.ifPresent(f -> f.complete(e == null
                    ? new AdminRequest.Outcome(true, a instanceof Action.Reinitialize ? "reinitialize started" : "restarted successfully")
                    : new AdminRequest.Outcome(false, a.describe() + " failed: " + Futures.describe(e))));
            if (loop.running()) {
                loop.wake();
            }
        }));
    }

    /**
     * What a finished long action did to PostgreSQL, as Patroni's callbacks see it: a start as a
     * replica after having been the primary is a role change, not a start. On the lane.
     */
    private void reportPostgresChange(Action.LongRunning a, Context ctx) {
        boolean wasPrimary = ctx.pg().map(PostgresState::isRunningPrimary).orElse(false) || "primary".equals(lastRole)
                || "demoted".equals(lastRole);
        boolean wasRunning = ctx.pg().map(PostgresState::isRunning).orElse(false);
        HaEvent.PostgresChange change;
        String role;
        if (a instanceof Action.Bootstrap b) {
            change = HaEvent.PostgresChange.STARTED;
            role = b.standbyOf().isPresent() ? "standby_leader" : "primary";
        } else if (a instanceof Action.Promote) {
            change = HaEvent.PostgresChange.ROLE_CHANGED;
            role = "primary";
        } else if (a instanceof Action.Demote d) {
            lastRole = "demoted";
            if (d.mode() != DemoteMode.OFFLINE) {
                return; // the start as a replica that follows is the role change, as in Patroni
            }
            change = HaEvent.PostgresChange.STOPPED;
            role = "demoted";
        } else if (a instanceof Action.RestartPostgres) {
            change = HaEvent.PostgresChange.RESTARTED;
            role = ctx.pg().map(p -> p.inRecovery() ? "replica" : "primary").orElse("replica");
        } else if (a instanceof Action.Reinitialize) {
            change = HaEvent.PostgresChange.STOPPED;
            role = "replica";
        } else if (a instanceof Action.StartPostgres) {
            boolean standby = ctx.pg().map(PostgresState::inRecovery).orElse(true);
            role = standby ? "replica" : "primary";
            change = standby && wasPrimary ? HaEvent.PostgresChange.ROLE_CHANGED : HaEvent.PostgresChange.STARTED;
        } else if (a instanceof Action.Follow || a instanceof Action.CloneFrom || a instanceof Action.CreateReplicaWithoutLeader
                || a instanceof Action.Rewind) {
            boolean standbyLeader = a instanceof Action.Follow f && f.upstream().map(Upstream::remote).orElse(false);
            role = standbyLeader ? "standby_leader" : "replica";
            if (standbyLeader && !"standby_leader".equals(lastRole) && wasRunning) {
                change = HaEvent.PostgresChange.ROLE_CHANGED; // a replica that took the lock in a standby cluster (Patroni: on_role_change)
            } else if (wasPrimary) {
                change = HaEvent.PostgresChange.ROLE_CHANGED;
            } else if (!wasRunning) {
                change = HaEvent.PostgresChange.STARTED;
            } else {
                return; // a replica that now streams from another member: no callback in Patroni either
            }
        } else {
            return;
        }
        lastRole = role;
        loop.emit(new HaEvent.PostgresChanged(me, change, role));
    }

    /** The long steps: each completes with what it leaves to remember. */
    private final class LongSteps implements Action.LongRunning.Visitor<CompletionStage<Optional<ActionOutcome>>> {
        private final Context ctx;
        private final Duration timeout;

        LongSteps(Context ctx, Duration timeout) {
            this.ctx = ctx;
            this.timeout = timeout;
        }

        @Override
        public CompletionStage<Optional<ActionOutcome>> bootstrap(Action.Bootstrap a) {
            if (a.standbyOf().isPresent()) {
                // Patroni's bootstrap_standby_leader: the remote primary's copy, streaming from it, is the new cluster
                Upstream remote = a.standbyOf().get();
                return nothing(ActionRunner.this.bootstrap(() -> op(pg.cloneFrom(remote, a.replicaMethods()))
                        .thenCompose(v -> op(pg.follow(Optional.of(remote), timeout)))
                        .thenCompose(v -> pg.observe())
                        .thenApply(state -> state.systemId().orElseThrow(() -> new IllegalStateException(
                                "the copy of the remote primary reports no system identifier")))));
            }
            return nothing(ActionRunner.this.bootstrap(pg::bootstrap));
        }

        @Override
        public CompletionStage<Optional<ActionOutcome>> cloneFrom(Action.CloneFrom c) {
            return op(pg.cloneFrom(c.source()))
                    .thenCompose(v -> op(pg.follow(Optional.of(c.source()), timeout)))
                    .thenApply(v -> following(c.source()));
        }

        @Override
        public CompletionStage<Optional<ActionOutcome>> createReplicaWithoutLeader(Action.CreateReplicaWithoutLeader a) {
            return nothing(op(pg.createReplicaWithoutLeader()).thenCompose(v -> op(pg.follow(Optional.empty(), timeout))));
        }

        @Override
        public CompletionStage<Optional<ActionOutcome>> startPostgres(Action.StartPostgres a) {
            return nothing(op(pg.start(timeout)));
        }

        @Override
        public CompletionStage<Optional<ActionOutcome>> follow(Action.Follow f) {
            return nothing(op(pg.follow(f.upstream(), timeout)));
        }

        @Override
        public CompletionStage<Optional<ActionOutcome>> promote(Action.Promote a) {
            return nothing(op(pg.promote(timeout)).thenAccept(took -> LOG.info("{}: promoted in {} ms", me, took.toMillis())));
        }

        @Override
        public CompletionStage<Optional<ActionOutcome>> demote(Action.Demote d) {
            return nothing(ActionRunner.this.demote(d.mode(), timeout));
        }

        @Override
        public CompletionStage<Optional<ActionOutcome>> rewind(Action.Rewind r) {
            boolean running = ctx.pg().map(PostgresState::isRunning).orElse(false);
            CompletionStage<Void> stop = running ? op(pg.stop(StopMode.FAST, timeout)) : CompletableFuture.completedFuture(null);
            return stop.thenCompose(v -> op(pg.rewind(r.source())))
                    .thenCompose(v -> op(pg.follow(Optional.of(r.source()), timeout)))
                    .thenApply(v -> following(r.source()));
        }

        @Override
        public CompletionStage<Optional<ActionOutcome>> restartPostgres(Action.RestartPostgres r) {
            return nothing(op(pg.restart(StopMode.FAST, r.timeout())));
        }

        @Override
        public CompletionStage<Optional<ActionOutcome>> reinitialize(Action.Reinitialize a) {
            return nothing(op(pg.stop(StopMode.IMMEDIATE, timeout)).thenCompose(v -> op(pg.removeData())));
        }

        @Override
        public CompletionStage<Optional<ActionOutcome>> copyLogicalSlots(Action.CopyLogicalSlots c) {
            return op(pg.copyLogicalSlots(c.primary(), c.slots(), timeout)).handle((copied, e) -> {
                Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
                if (cause instanceof UnsupportedOperationException u) {
                    lane.execute(() -> loop.logicalSlotCopyUnsupported(u.getMessage()));
                    return Optional.empty();
                }
                if (cause != null) {
                    throw cause instanceof RuntimeException re ? re : new java.util.concurrent.CompletionException(cause);
                }
                if (copied.isEmpty()) {
                    LOG.info("{}: the primary {} has none of the logical slots {} yet: nothing copied", me, c.primary().member(),
                            new java.util.TreeSet<>(c.slots().keySet()));
                }
                return Optional.empty();
            });
        }

        private Optional<ActionOutcome> following(Upstream u) {
            int tl = ctx.cluster().flatMap(c -> c.member(u.member())).map(Member::timeline).orElse(0);
            return Optional.of(new ActionOutcome.Following(u.member(), tl));
        }

        private CompletionStage<Optional<ActionOutcome>> nothing(CompletionStage<?> stage) {
            return stage.thenApply(v -> Optional.empty());
        }
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

    /**
     * Creates the data of a new cluster under this node's bootstrap claim, then records its system
     * identifier in that claim. The claim's version is read before the data is created and the
     * identifier is written only over that version: a claim cleared as abandoned meanwhile (this
     * node frozen or cut off for a ttl) and made again by another member is not ours to fill.
     */
    private CompletionStage<Void> bootstrap(java.util.function.Supplier<CompletionStage<String>> create) {
        long retry = loop.config().settings().retryTimeout().toNanos();
        long[] claim = {DcsEntry.ABSENT};
        return Futures.storeCall(session::readAuthoritative, retry, cfg.loopScheduler())
                .thenCompose(snapshot -> {
                    Optional<DcsEntry> key = snapshot.get(ClusterKey.INITIALIZE);
                    if (key.isEmpty() || !key.get().value().isEmpty()) {
                        throw new IllegalStateException("the bootstrap claim is gone (the initialize key is "
                                + key.map(k -> "'" + k.value() + "'").orElse("absent") + ")");
                    }
                    claim[0] = key.get().version();
                    return create.get();
                })
                .thenCompose(sysid -> store(s -> s.compareAndSet(ClusterKey.INITIALIZE, sysid, claim[0]), retry)
                        .thenApply(ok -> {
                            if (!ok) {
                                throw new IllegalStateException("the bootstrap claim changed while the data was created (cleared as"
                                        + " abandoned, or taken by another member); not recording system identifier " + sysid);
                            }
                            return sysid;
                        }))
                .thenCompose(sysid -> store(s -> s.compareAndSet(ClusterKey.CONFIG, DynamicConfigs.encode(cfg.settings(), cfg.initialConfig()),
                        DcsEntry.ABSENT), retry)
                        .thenCompose(ok -> lease.acquire())
                        .thenAccept(acquired -> LOG.info("{}: bootstrapped a new {} (system identifier {}){}", me,
                                loop.config().isStandbyCluster() ? "standby cluster" : "cluster", sysid,
                                acquired ? " and took the leader lock" : ", but the leader lock was taken")))
                .exceptionallyCompose(e -> {
                    LOG.error("{}: bootstrap failed: {}; releasing the initialize key", me, Futures.describe(e));
                    // only our own claim, and only while it is still a claim
                    CompletionStage<Boolean> release = claim[0] == DcsEntry.ABSENT ? CompletableFuture.completedFuture(false)
                            : store(ss -> ss.compareAndDelete(ClusterKey.INITIALIZE, claim[0]), retry);
                    return release.handle((x, e2) -> {
                        throw new CompletionException(Futures.unwrap(e));
                    });
                });
    }

    private CompletableFuture<Boolean> store(Function<DcsSession, CompletionStage<Boolean>> call, long retry) {
        return Futures.storeCall(() -> call.apply(session), retry, cfg.loopScheduler());
    }

    private void failed(Action a, Throwable e) {
        String why = Futures.describe(e);
        LOG.warn("{}: {} failed: {}", me, a.describe(), why);
        loop.emit(new HaEvent.ActionFailed(me, a.describe(), why));
    }
}
