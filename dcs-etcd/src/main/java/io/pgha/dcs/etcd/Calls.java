package io.pgha.dcs.etcd;

import io.grpc.Context;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.support.StoreOutage;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one session call (a few etcd requests) within its {@code retry_timeout} budget.
 *
 * <p>jetcd sets no deadline of its own and, with gRPC's wait-for-ready, a request to a store that
 * is down simply waits. So every call gets a timer that fails it with
 * {@link DcsUnreachableException} when the budget runs out, and every request inside it an
 * attempt timer: a request stuck on a hung etcd member is abandoned and, when repeating it is
 * safe, sent again, and gRPC's round-robin balancer then picks another member. That is how a dead
 * member does not eat the whole budget while another one is alive.
 *
 * <p>An etcd that cannot be reached is logged here, as a {@link StoreOutage}: one WARN line
 * naming the cause when calls begin to fail, a reminder with the count now and then, one INFO line
 * when a call is answered again ("etcd at [h:2379] is reachable again after 12.3 s, 12 failed
 * calls"). The failures themselves carry one-line messages ({@link Failures#describe}).
 */
final class Calls {
    private static final Logger LOG = LoggerFactory.getLogger(Calls.class);
    /** Pause before repeating a request that failed at once (connection refused, no leader). */
    private static final long RETRY_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** A call that failed to reach etcd with less than this left of its budget ran out of time. */
    private static final long END_OF_BUDGET_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final ScheduledExecutorService timer;
    private final Executor callbacks;
    private final String endpoints;
    private final Runnable reconnect;
    /** What is wrong with the connection, when something is (for the outage line). */
    private final Supplier<String> trouble;
    /** etcd unreachable: one line when it begins, a reminder now and then, one line when it ends. */
    private final StoreOutage outage;

    Calls(ScheduledExecutorService timer, Executor callbacks, String endpoints, Runnable reconnect, Supplier<String> trouble) {
        this.timer = timer;
        this.callbacks = callbacks;
        this.endpoints = endpoints;
        this.reconnect = reconnect;
        this.trouble = trouble;
        this.outage = new StoreOutage(LOG, "etcd at " + endpoints);
    }

    /** A call is about to wait on the channel: do not let it wait for gRPC's reconnect back-off. */
    void reconnectNow() {
        try {
            reconnect.run();
        } catch (RuntimeException e) {
            LOG.debug("resetting the reconnect back-off failed", e);
        }
    }

    String endpoints() {
        return endpoints;
    }

    ScheduledExecutorService timer() {
        return timer;
    }

    /** The executor on which results and watch deliveries reach the sessions' callers. */
    Executor callbacks() {
        return callbacks;
    }

    /** The time left for one session call. */
    static final class Budget {
        private final long deadline;
        private final long budget;
        private final long attempt;

        Budget(Duration budget, Duration attempt) {
            this.budget = budget.toNanos();
            this.deadline = System.nanoTime() + this.budget;
            this.attempt = Math.min(attempt.toNanos(), this.budget);
        }

        long remaining() {
            return deadline - System.nanoTime();
        }

        /** How long one request may take before it is abandoned (and, if safe, sent again). */
        long attemptNanos() {
            return Math.max(1, Math.min(attempt, remaining()));
        }

        Duration total() {
            return Duration.ofNanos(budget);
        }
    }

    /** Whether a request may be sent again when the first try's outcome is unknown. */
    enum Retry {
        /** Repeating it changes nothing (reads, keep-alives, unconditional puts, checked transactions). */
        SAFE,
        /** A second try could report the wrong result (a compare-and-set that did apply). Only "no leader" is retried. */
        UNSAFE
    }

    /**
     * Runs {@code body} with a fresh budget and completes the returned stage on the callback
     * executor, never on a gRPC or Vert.x thread, and never later than the budget.
     */
    <T> CompletableFuture<T> call(String what, Duration budget, Duration attempt, Function<Budget, CompletableFuture<T>> body) {
        Budget b = new Budget(budget, attempt);
        CompletableFuture<T> out = new CompletableFuture<>();
        long started = System.nanoTime();
        AtomicBoolean settled = new AtomicBoolean();
        reconnectNow();
        ScheduledFuture<?> deadline = schedule(() -> {
            if (settled.compareAndSet(false, true)) {
                String t = trouble.get();
                outage.failed(started, "no answer within retry_timeout (" + budget.toMillis() + " ms)" + (t == null ? "" : ", " + t));
            }
            fail(out, timedOut(what, budget));
        }, b.remaining());
        CompletableFuture<T> inner;
        try {
            inner = body.apply(b);
        } catch (RuntimeException e) {
            inner = CompletableFuture.failedFuture(e);
        }
        inner.whenComplete((v, e) -> {
            deadline.cancel(false);
            boolean first = settled.compareAndSet(false, true);
            if (e != null) {
                DcsException x = Failures.translate(e, what, endpoints);
                if (x instanceof DcsUnreachableException && b.remaining() < END_OF_BUDGET_NANOS) {
                    // gRPC's deadline or the last attempt's timer came a moment before the call's own:
                    // the same words, so that a node's log line stays the same through an outage
                    x = timedOut(what, budget);
                }
                if (first && x instanceof DcsUnreachableException) {
                    outage.failed(started, Failures.reason(e));
                }
                fail(out, x);
            } else {
                if (first) {
                    outage.answered(started);
                }
                succeed(out, v);
            }
        });
        return out;
    }

    private DcsUnreachableException timedOut(String what, Duration budget) {
        return new DcsUnreachableException("etcd at " + endpoints + " did not answer within retry_timeout (" + budget.toMillis()
                + " ms) while trying to " + what);
    }

    /** How many calls failed to reach etcd since it became unreachable; 0 while it is reachable. */
    long failedCallsInOutage() {
        return outage.failedCalls();
    }

    private <T> void succeed(CompletableFuture<T> out, T value) {
        try {
            callbacks.execute(() -> out.complete(value));
        } catch (RejectedExecutionException x) {
            out.complete(value);
        }
    }

    private <T> void fail(CompletableFuture<T> out, Throwable e) {
        try {
            callbacks.execute(() -> out.completeExceptionally(e));
        } catch (RejectedExecutionException x) {
            out.completeExceptionally(e);
        }
    }

    /**
     * Sends one request, repeating it within the budget when it failed for a reason that another
     * try (or another member) may not have. {@code request} gets the try number (0, 1, ...).
     */
    <T> CompletableFuture<T> attempt(Budget b, Retry retry, IntFunction<CompletableFuture<T>> request) {
        CompletableFuture<T> out = new CompletableFuture<>();
        run(b, retry, request, 0, null, out);
        return out;
    }

    private <T> void run(Budget b, Retry retry, IntFunction<CompletableFuture<T>> request, int n, Throwable last,
                         CompletableFuture<T> out) {
        if (out.isDone()) {
            return;
        }
        if (b.remaining() <= 0) {
            out.completeExceptionally(last != null ? last : new DcsUnreachableException("no time left"));
            return;
        }
        // An unsafe request gets the whole remaining budget: abandoning it would leave its outcome unknown.
        long limit = retry == Retry.SAFE ? b.attemptNanos() : b.remaining();
        // The request starts inside a gRPC context with the attempt's deadline: gRPC then fails it
        // with DEADLINE_EXCEEDED in time, and cancelling the context when we give up cancels a
        // request still waiting for a connection, so it cannot be delivered (stale) later. jetcd
        // starts keep-alives and watches on the calling thread and hands other requests to its
        // executor, which EtcdDcs wraps to carry the context along.
        // Forked from ROOT, not from the current context: a request chained onto an earlier one
        // runs on a thread where gRPC still has the earlier request's context attached, and
        // cancelling that one must not cancel this one.
        Context.CancellableContext ctx = Context.ROOT.withDeadlineAfter(limit, TimeUnit.NANOSECONDS, timer);
        CompletableFuture<T> f;
        try {
            f = ctx.call(() -> request.apply(n));
        } catch (Exception e) {
            ctx.cancel(null);
            out.completeExceptionally(e);
            return;
        }
        f.whenComplete((v, e) -> ctx.cancel(null));
        AtomicBoolean settled = new AtomicBoolean();
        // backstop for a client that does not carry the context (a shared client with its own executor)
        ScheduledFuture<?> giveUp = schedule(() -> {
            if (settled.compareAndSet(false, true)) {
                ctx.cancel(null);
                f.cancel(true);
                DcsUnreachableException timeout = new DcsUnreachableException("no answer within "
                        + TimeUnit.NANOSECONDS.toMillis(limit) + " ms");
                if (retry == Retry.SAFE && b.remaining() > 0) {
                    LOG.debug("etcd request try {} timed out; trying again", n);
                    run(b, retry, request, n + 1, timeout, out);
                } else {
                    out.completeExceptionally(timeout);
                }
            }
        }, limit + TimeUnit.MILLISECONDS.toNanos(20));
        f.whenComplete((v, e) -> {
            if (!settled.compareAndSet(false, true)) {
                return;
            }
            giveUp.cancel(false);
            if (e == null) {
                out.complete(v);
                return;
            }
            Failures.Kind kind = Failures.classify(e);
            boolean again = kind == Failures.Kind.NO_LEADER
                    || (kind == Failures.Kind.UNREACHABLE && retry == Retry.SAFE);
            if (again && b.remaining() > RETRY_PAUSE_NANOS) {
                LOG.debug("etcd request try {} failed ({}); trying again", n, Failures.describe(e));
                schedule(() -> run(b, retry, request, n + 1, e, out), RETRY_PAUSE_NANOS);
            } else {
                out.completeExceptionally(e);
            }
        });
    }

    ScheduledFuture<?> schedule(Runnable task, long delayNanos) {
        try {
            return timer.schedule(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.error("pgha etcd timer task failed", e);
                }
            }, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // the Dcs is closing: run now so that nothing waits forever
            CompletableFuture<?> f = CompletableFuture.runAsync(task);
            return new Done(f);
        }
    }

    /** A scheduled future for a task that could not be scheduled (already run). */
    private record Done(CompletableFuture<?> f) implements ScheduledFuture<Object> {
        @Override
        public long getDelay(TimeUnit unit) {
            return 0;
        }

        @Override
        public int compareTo(java.util.concurrent.Delayed o) {
            return 0;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            return false;
        }

        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public boolean isDone() {
            return true;
        }

        @Override
        public Object get() {
            return null;
        }

        @Override
        public Object get(long timeout, TimeUnit unit) {
            return null;
        }
    }
}
