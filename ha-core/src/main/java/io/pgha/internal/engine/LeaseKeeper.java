package io.pgha.internal.engine;

import io.pgha.TaskScheduler;
import io.pgha.Ticker;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.decision.EffectiveConfig;
import io.pgha.internal.decision.LeaseView;
import io.pgha.internal.decision.PlantedBug;
import io.pgha.spi.DcsSession;
import io.pgha.spi.Lsn;
import io.pgha.spi.PostgresController;
import io.pgha.spi.StopMode;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns this node's hold on the leader lock: acquisition, renewal, release, and the fence.
 *
 * <p>Threads: the fence timer runs on the guard scheduler, which calls nothing but
 * {@link PostgresController#stop}; heartbeat renewals call the store from their own scheduler, so
 * a store call that blocks its thread cannot delay the fence.
 *
 * <p>The belief rule: after a renewal that was <em>sent</em> at {@code t} succeeds, the lease is
 * ours until {@code t + ttl} and not a nanosecond longer, measured on the monotonic ticker. Two
 * timers on the guard scheduler (independent of the loop, which may be stuck in a call) act on it:
 * <ul>
 *   <li>the <b>fence</b> fires at {@code t + ttl - fencing_margin} unless a later renewal moved it,
 *       stops PostgreSQL and drops the belief; the controller's own fence, armed for
 *       {@code t + ttl - fencing_margin / 2} (an absolute reading of the same ticker, so no pause of
 *       this JVM after the renewal was sent can move it later), covers a frozen JVM;</li>
 *   <li>the <b>heartbeat</b> renews when the loop has not done so for 1.5 × {@code loop_wait},
 *       provided the loop itself made progress within the last {@code ttl} — so a busy loop does
 *       not cost the lease, but a dead one does.</li>
 * </ul>
 *
 * <p>In maintenance mode (pause) neither fence stops PostgreSQL, as Patroni takes no automatic
 * action on PostgreSQL then and disables its watchdog: a paused primary that cannot renew its lease
 * keeps running and only stops believing it leads. Nobody races for the key in pause, so only an
 * operator's manual failover could start a second primary beside it.
 *
 * <p>Believing and guarding are separate: the belief ({@code held}) ends the moment the node stops
 * leading, but both fences stay armed until PostgreSQL is confirmed stopped (a demotion's stop
 * completed, or the release that follows it), because a stop that was only issued may still hang.
 * The controller's fence is armed and disarmed under a lock of its own, never under this object's
 * monitor, which the fence timer needs: starting the helper process cannot delay the fence.
 */
final class LeaseKeeper {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseKeeper.class);

    private final String member;
    private final DcsSession session;
    private final PostgresController postgres;
    private final Ticker ticker;
    private final TaskScheduler guard;
    private final TaskScheduler heartbeatScheduler;
    private final EngineCallbacks callbacks;
    private final boolean noFencing;
    private final Set<PlantedBug> bugs;
    /** The third fence, beside the timer and the controller's: a kernel watchdog, when there is one. */
    private volatile WatchdogGuard watchdog;

    private volatile long ttl;
    private volatile long loopWait;
    private volatile long retryTimeout;
    private volatile long margin;
    /**
     * Maintenance mode (Patroni's pause): no automatic action on PostgreSQL, so neither fence stops
     * it; the belief in the lease still ends on time. Patroni likewise disables its watchdog.
     */
    private volatile boolean paused;

    // guarded by this
    private boolean held;
    /** The fence timers are armed: from a renewal until PostgreSQL is confirmed stopped or the lock given up after a stop. */
    private boolean guarding;
    /** Moves whenever the guard is dropped: an arming computed before that must not re-arm the controller's fence. */
    private long guardEpoch;
    /** Set for a shutdown that could not stop PostgreSQL: no renewal is sent any more, the lease runs out. */
    private boolean renewalsStopped;
    /** The belief was last extended by failsafe mode's confirmations, not by the store. */
    private boolean failsafeExtended;
    private long validUntil;
    private String lost;
    private long lastSentAt;
    private long lastLoopAlive;
    private Lsn lastOptime = Lsn.ZERO;
    private TaskScheduler.Cancellable fenceTimer;
    private TaskScheduler.Cancellable heartbeatTimer;
    private CompletableFuture<Boolean> inflight;
    /**
     * Set when this node gives the lock up, cleared by the next acquisition: no renewal is sent
     * after a release, and none sent before it may count, or a renewal decided on an older
     * snapshot would take the key back (a renewal re-creates an absent key) right after a
     * switchover handed it over.
     */
    private boolean released;
    private boolean closed;

    /** Orders arming and disarming of the controller's fence; never taken under this object's monitor. */
    private final Object controllerFenceLock = new Object();
    // guarded by controllerFenceLock
    private long controllerFenceEpoch = -1;
    private long controllerFenceDeadline;

    LeaseKeeper(String member, DcsSession session, PostgresController postgres, Ticker ticker, TaskScheduler guard,
                TaskScheduler heartbeatScheduler, EngineCallbacks callbacks, EffectiveConfig config, Set<PlantedBug> bugs) {
        this.member = member;
        this.session = session;
        this.postgres = postgres;
        this.ticker = ticker;
        this.guard = guard;
        this.heartbeatScheduler = heartbeatScheduler;
        this.callbacks = callbacks;
        this.bugs = Set.copyOf(bugs);
        this.noFencing = bugs.contains(PlantedBug.NO_FENCING);
        configure(config);
        this.lastLoopAlive = ticker.read();
    }

    /** Sets the watchdog guard (before the first renewal). */
    void watchdog(WatchdogGuard guard) {
        this.watchdog = guard;
    }

    void configure(EffectiveConfig c) {
        ttl = c.ttlNanos();
        loopWait = c.loopWaitNanos();
        retryTimeout = c.settings().retryTimeout().toNanos();
        margin = bugs.contains(PlantedBug.NO_FENCING_MARGIN) ? 0 : c.settings().fencingMargin().toNanos();
        boolean pausing = c.paused() && !paused;
        paused = c.paused();
        if (pausing) {
            disarmControllerFence();
        }
    }

    synchronized LeaseView view() {
        return new LeaseView(held, validUntil, Optional.ofNullable(lost), released);
    }

    synchronized void loopAlive(long now) {
        lastLoopAlive = now;
    }

    /** Takes the lock if it is free. */
    CompletableFuture<Boolean> acquire() {
        long sentAt = ticker.read();
        return Futures.storeCall(session::acquireLeader, retryTimeout, guard).thenApply(ok -> {
            if (ok) {
                synchronized (this) {
                    released = false;
                }
                renewed(sentAt);
            }
            return ok;
        }).whenComplete((ok, err) -> {
            if (err != null) {
                // the key may or may not have been created: the next view must come from the store
                callbacks.storeCallUnanswered();
            }
        });
    }

    private volatile java.util.Map<String, Long> publishedSlots = java.util.Map.of();
    private volatile java.util.List<String> retainedSlots = java.util.List.of();

    /** The leader's slots and their positions, and the member slots it retains: published with each renewal. */
    void publishSlots(java.util.Map<String, Long> slots, java.util.List<String> retained) {
        this.publishedSlots = java.util.Map.copyOf(slots);
        this.retainedSlots = java.util.List.copyOf(retained);
    }

    /** Renews the lease and confirms the lock, publishing {@code optime}; joins a renewal already in flight. */
    CompletableFuture<Boolean> renew(Lsn optime) {
        CompletableFuture<Boolean> mine;
        long sentAt;
        synchronized (this) {
            lastOptime = optime;
            if (released || renewalsStopped) {
                return CompletableFuture.completedFuture(false);
            }
            if (inflight != null) {
                return inflight;
            }
            sentAt = ticker.read();
            lastSentAt = sentAt;
            mine = new CompletableFuture<>();
            inflight = mine;
        }
        String status = ClusterCodec.encodeStatus(optime, publishedSlots, retainedSlots);
        Futures.storeCall(() -> session.renewLeader(Optional.of(status)), retryTimeout, guard).whenComplete((ok, err) -> {
            boolean releasedMeanwhile;
            synchronized (this) {
                inflight = null;
                releasedMeanwhile = released;
            }
            if (releasedMeanwhile) {
                mine.complete(false); // the release that follows it decides
                return;
            }
            if (err == null && ok) {
                renewed(bugs.contains(PlantedBug.LEASE_FROM_RECEIPT) ? ticker.read() : sentAt);
            } else if (err == null) {
                lose("the leader key no longer names this member");
            } else {
                LOG.warn("{}: could not renew the leader lease: {}", member, Futures.describe(err));
                callbacks.storeCallUnanswered();
                if (bugs.contains(PlantedBug.UNKNOWN_RENEWAL_IS_SUCCESS)) {
                    renewed(sentAt);
                }
            }
            scheduleHeartbeat();
            if (err != null) {
                mine.completeExceptionally(err);
            } else {
                mine.complete(ok);
            }
        });
        return mine;
    }

    /** Deletes the leader key if it is still ours; afterwards this node does not hold the lock, whatever the store said. */
    CompletableFuture<Boolean> release() {
        CompletableFuture<Boolean> before;
        synchronized (this) {
            released = true;
            before = inflight;
        }
        // a renewal already sent goes first, so the delete comes after anything it wrote
        CompletableFuture<Boolean> settled = before == null ? CompletableFuture.completedFuture(null)
                : before.handle((ok, err) -> null);
        return settled.thenCompose(x -> Futures.storeCall(session::releaseLeader, retryTimeout, guard)).whenComplete((ok, err) -> {
            drop(null);
            if (err != null) {
                callbacks.storeCallUnanswered();
            }
        });
    }

    /**
     * We no longer lead (a demotion without a lock to release): the belief ends now; the fences stay
     * armed until {@code stopped} completes normally (PostgreSQL confirmed stopped), and stay armed
     * if it fails, so a stop that hangs or fails is still cut off before the lease can expire.
     */
    void markNotHeld(CompletionStage<?> stopped) {
        long epoch;
        synchronized (this) {
            held = false;
            epoch = guardEpoch;
        }
        CompletionStage<?> confirmed = bugs.contains(PlantedBug.DISARMS_BEFORE_STOP) ? CompletableFuture.completedFuture(null) : stopped;
        confirmed.whenComplete((v, e) -> {
            if (e == null) {
                unguard(epoch);
            } else {
                LOG.warn("{}: postgres was not confirmed stopped ({}); the fences stay armed", member, Futures.describe(e));
            }
        });
    }

    /**
     * A shutdown that could not stop PostgreSQL: no renewal is sent from now on, so the lease runs
     * out in the store by itself while both fences stay armed. Returns when (ticker) the lease is
     * certainly over here.
     */
    long stopRenewing() {
        synchronized (this) {
            renewalsStopped = true;
            if (heartbeatTimer != null) {
                heartbeatTimer.cancel();
                heartbeatTimer = null;
            }
            return validUntil;
        }
    }

    /** The store says our lease is gone: fence at once if we held it. */
    void leaseLost(String reason) {
        synchronized (this) {
            long left = validUntil - ticker.read();
            if (held && failsafeExtended && left > 0) {
                // every member of the failsafe topology accepted, until validUntil, that we run on without the
                // store's lease: none of them races meanwhile, and the loop takes the lock again once it can
                LOG.info("{}: the store ended our lease ({}) while failsafe mode ran on; the leader belief holds for {} ms more",
                        member, reason, left / 1_000_000);
                return;
            }
        }
        lose("the store reports the lease lost: " + reason);
    }

    /** The node stopped after PostgreSQL was confirmed stopped: nothing to guard any more. */
    void close() {
        synchronized (this) {
            closed = true;
        }
        drop(null);
    }

    /**
     * The process died (crash simulation): stop all timers, touch nothing. An out-of-process fence
     * stays armed, as it would after a real crash.
     */
    void abandon() {
        synchronized (this) {
            closed = true;
            held = false;
        }
        cancelTimers();
    }

    // ------------------------------------------------------------------------------------------

    /**
     * Failsafe mode: every member of the {@code failsafe} topology accepted, in answer to requests
     * sent at {@code sentAt}, that this primary runs on without the store; each of them stays out
     * of any leader race for the ttl from when it accepted, so the belief (and both fences) may run
     * to {@code sentAt + ttl}, as after a renewal sent then. Only a belief still held is extended:
     * a node that was fenced or demoted meanwhile does not lead again through this.
     *
     * @return whether the belief was extended
     */
    boolean failsafeConfirmed(long sentAt) {
        boolean extended = renewed(sentAt, true);
        if (extended) {
            synchronized (this) {
                failsafeExtended = true;
            }
        }
        return extended;
    }

    private void renewed(long sentAt) {
        if (renewed(sentAt, false)) {
            synchronized (this) {
                failsafeExtended = false;
            }
        }
    }

    /** @param onlyIfHeld extend a belief still held, never start one (checked under the monitor the fence takes) */
    private boolean renewed(long sentAt, boolean onlyIfHeld) {
        long controllerDeadline;
        long epoch;
        synchronized (this) {
            if (closed || released || renewalsStopped || (onlyIfHeld && (!held || lost != null))) {
                return false;
            }
            long until = noFencing ? sentAt + (1L << 62) : sentAt + ttl;
            if (!held || until - validUntil > 0) {
                validUntil = until;
            }
            if (!held) {
                // a new belief (after a fence, a demotion, or a late answer to a renewal sent before
                // them): a stop confirmed for the old one must not disarm the fences guarding this one
                guardEpoch++;
            }
            held = true;
            guarding = true;
            lost = null;
            if (noFencing) {
                return true;
            }
            if (fenceTimer != null) {
                fenceTimer.cancel();
            }
            fenceTimer = guard.schedule(this::fenceIfDue, Math.max(0, validUntil - margin - ticker.read()));
            controllerDeadline = validUntil - margin / 2;
            epoch = guardEpoch;
        }
        armControllerFence(controllerDeadline, epoch);
        WatchdogGuard w = watchdog;
        if (w != null && !paused && !w.armed()) {
            lose("the watchdog is required but could not be armed");
            return false;
        }
        return true;
    }

    /**
     * Arms the controller's fence for {@code deadline} (ticker time), outside this object's monitor
     * (arming may start a helper process). Never moves it earlier than an arming already sent, and
     * never re-arms it after the guard was dropped ({@code epoch} is no longer current).
     */
    private void armControllerFence(long deadline, long epoch) {
        if (paused) {
            return;
        }
        synchronized (controllerFenceLock) {
            synchronized (this) {
                if (epoch != guardEpoch || !guarding) {
                    return;
                }
            }
            if (controllerFenceEpoch == epoch && deadline - controllerFenceDeadline <= 0) {
                return;
            }
            controllerFenceEpoch = epoch;
            controllerFenceDeadline = deadline;
            postgres.armFence(deadline, ticker);
        }
    }

    private void disarmControllerFence() {
        WatchdogGuard w = watchdog;
        if (w != null) {
            w.disarmed();
        }
        synchronized (controllerFenceLock) {
            controllerFenceEpoch = -1;
            postgres.disarmFence();
        }
    }

    private void fenceIfDue() {
        synchronized (this) {
            long now = ticker.read();
            long due = validUntil - margin;
            if (!guarding) {
                return;
            }
            if (now - due < 0) {
                fenceTimer = guard.schedule(this::fenceIfDue, due - now);
                return;
            }
            held = false;
            lost = lost != null ? lost : "lease not renewed in time";
        }
        if (paused) {
            LOG.warn("{}: the leader lease was not renewed in time; paused, so postgres is left running (no automatic action)", member);
            callbacks.wake();
            return;
        }
        fence("could not renew the leader lease within ttl - fencing_margin: stopped postgres writes", true);
    }

    private void lose(String reason) {
        boolean wasHeld;
        synchronized (this) {
            if (closed) {
                return;
            }
            wasHeld = held;
            held = false;
            lost = reason;
        }
        if (wasHeld && paused) {
            LOG.warn("{}: {}; paused, so postgres is left running (no automatic action)", member, reason);
        } else if (wasHeld) {
            fence(reason, false);
        }
        callbacks.wake();
    }

    /**
     * Stops PostgreSQL writes. {@code leaseLeft}: the lease is still certainly ours for about half
     * the fencing margin or more (the fence timer fired), so a fast shutdown may go first. A fast
     * shutdown ends every backend at once, so writes stop as surely as with an immediate one, but it
     * lets the walsenders ship everything committed before it to the connected standbys, so the fence
     * does not cost an acknowledged commit. If it has not finished within half the margin (it queued
     * behind another operation, or the shutdown checkpoint is slow) PostgreSQL is stopped
     * immediately, still before the lease can expire. When the lease is already gone
     * ({@code leaseLeft} false) the stop is immediate.
     *
     * <p>The controller's own fence is disarmed only once PostgreSQL is confirmed stopped: if the
     * stop fails, that fence still fires at its deadline.
     */
    private void fence(String reason, boolean leaseLeft) {
        cancelTimers();
        long epoch;
        synchronized (this) {
            epoch = guardEpoch;
        }
        LOG.warn("{}: fencing: {}", member, reason);
        Duration immediateTimeout = Duration.ofNanos(Math.max(retryTimeout, Duration.ofSeconds(5).toNanos()));
        CompletableFuture<Void> stopped;
        if (leaseLeft) {
            long fast = Math.max(margin / 2, 1);
            stopped = Futures.withTimeout(Futures.call(() -> postgres.stop(StopMode.FAST, Duration.ofNanos(fast))), fast, guard,
                            () -> new java.util.concurrent.TimeoutException("fast shutdown not finished within fencing_margin / 2"))
                    .exceptionallyCompose(e -> {
                        LOG.warn("{}: fencing: {}; stopping postgres immediately", member, Futures.describe(e));
                        return Futures.call(() -> postgres.stop(StopMode.IMMEDIATE, immediateTimeout));
                    });
        } else {
            stopped = Futures.call(() -> postgres.stop(StopMode.IMMEDIATE, immediateTimeout));
        }
        CompletableFuture<?> confirmed = bugs.contains(PlantedBug.DISARMS_BEFORE_STOP) ? CompletableFuture.completedFuture(null) : stopped;
        confirmed.whenComplete((v, e) -> {
            if (e != null) {
                LOG.error("{}: fencing stop failed (the controller's own fence stays armed): {}", member, Futures.describe(e));
            } else {
                unguard(epoch);
            }
        });
        callbacks.fenced(reason);
        callbacks.wake();
    }

    /** The lock is given up after PostgreSQL stopped (a release, a clean close): nothing to guard any more. */
    private void drop(String reason) {
        synchronized (this) {
            held = false;
            lost = reason;
            guarding = false;
            guardEpoch++;
        }
        cancelTimers();
        disarmControllerFence();
    }

    /** PostgreSQL is confirmed stopped: the fences armed under {@code epoch} are no longer needed. */
    private void unguard(long epoch) {
        synchronized (this) {
            if (epoch != guardEpoch) {
                return; // renewed or dropped since: that decides
            }
            guarding = false;
            guardEpoch++;
            if (fenceTimer != null && !held) {
                fenceTimer.cancel();
                fenceTimer = null;
            }
        }
        disarmControllerFence();
    }

    private synchronized void cancelTimers() {
        if (fenceTimer != null) {
            fenceTimer.cancel();
            fenceTimer = null;
        }
        if (heartbeatTimer != null) {
            heartbeatTimer.cancel();
            heartbeatTimer = null;
        }
    }

    private void scheduleHeartbeat() {
        synchronized (this) {
            if (!held || closed) {
                return;
            }
            if (heartbeatTimer != null) {
                heartbeatTimer.cancel();
            }
            long at = lastSentAt + loopWait + loopWait / 2;
            heartbeatTimer = heartbeatScheduler.schedule(this::heartbeat, Math.max(0, at - ticker.read()));
        }
    }

    private void heartbeat() {
        Lsn optime;
        synchronized (this) {
            heartbeatTimer = null;
            if (!held || closed || renewalsStopped) {
                return;
            }
            long now = ticker.read();
            if (now - lastLoopAlive > ttl) {
                LOG.warn("{}: the HA loop made no progress for more than ttl; letting the lease lapse", member);
                return;
            }
            if (now - lastSentAt < loopWait) {
                return;
            }
            optime = lastOptime;
        }
        renew(optime);
    }
}
