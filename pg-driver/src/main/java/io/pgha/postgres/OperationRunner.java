package io.pgha.postgres;

import io.pgha.spi.PostgresException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The controller's threads. Every {@link PgController} method returns at once and its work runs
 * here: operations that change the server one at a time, everything else beside them. A failure
 * reaches the caller as a {@link PostgresException} whose message was scrubbed of passwords, and a
 * deadline answers a call whose work hangs, so the engine never waits on a stuck server.
 */
final class OperationRunner implements AutoCloseable {
    // one logger name for the whole controller, as before it was split into parts: operators filter on it
    private static final Logger LOG = LoggerFactory.getLogger(PgController.class);

    /** Work that returns nothing, so callers need no {@code return null}. */
    @FunctionalInterface
    interface Step {
        void run() throws Exception;
    }

    private final String member;
    private final Redactor redactor;
    private final ExecutorService workers;
    private final ScheduledExecutorService scheduler;
    private final ReentrantLock changing = new ReentrantLock();

    OperationRunner(String member, Redactor redactor) {
        this.member = member;
        this.redactor = redactor;
        this.workers = Executors.newCachedThreadPool(daemon("pgha-pg-" + member));
        this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("pgha-pg-watch-" + member));
    }

    /** The pool that callbacks (the postmaster watch's) run on. */
    Executor callbacks() {
        return workers;
    }

    /** The single thread that the postmaster watch polls on and deadlines fire on. */
    ScheduledExecutorService scheduler() {
        return scheduler;
    }

    /**
     * Runs on a worker thread; failures become {@link PostgresException}s with scrubbed messages.
     * Cancelling the returned future interrupts the work, which kills a running program.
     */
    <T> CompletableFuture<T> async(String what, Callable<T> work) {
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
            f.completeExceptionally(new PostgresException(member + ": " + what + ": the controller is closed"));
        }
        return f;
    }

    CompletableFuture<Void> async(String what, Step work) {
        return async(what, () -> {
            work.run();
            return null;
        });
    }

    /** Like {@link #async} but one at a time: operations that change the server never overlap. */
    <T> CompletableFuture<T> changing(String what, Callable<T> work) {
        return async(what, () -> {
            changing.lockInterruptibly();
            try {
                return work.call();
            } finally {
                changing.unlock();
            }
        });
    }

    CompletableFuture<Void> changing(String what, Step work) {
        return changing(what, () -> {
            work.run();
            return null;
        });
    }

    /**
     * {@code f}, or a {@link PostgresTimeoutException} once {@code bound} has passed without an
     * answer. The work itself goes on (it is bounded by its own timeouts); only the caller stops waiting.
     */
    <T> CompletableFuture<T> withDeadline(CompletableFuture<T> f, Duration bound, String what) {
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
            scheduler.schedule(() -> r.completeExceptionally(new PostgresTimeoutException(member + ": " + what
                    + " got no answer within " + bound.toMillis() + " ms")), bound.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed: the work itself is bounded by its own timeouts
        }
        return r;
    }

    /** Best-effort work that nobody waits for (the checkpoint after a promotion); a failure is only logged. */
    void background(Runnable work) {
        workers.execute(() -> quietly(work));
    }

    /** Runs a best-effort step (a cleanup after a failure): its own failure must not hide the one being reported. */
    void quietly(Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            LOG.debug("{}: ignored: {}", member, redactor.scrub(e.getMessage()));
        }
    }

    private PostgresException asPostgresException(String what, Throwable e) {
        Throwable t = e instanceof CompletionException || e instanceof ExecutionException ? e.getCause() : e;
        if (t instanceof PostgresException p) {
            return p;
        }
        if (t instanceof InterruptedException) {
            return new PostgresException(member + ": " + what + " was interrupted");
        }
        PostgresException p = new PostgresException(member + ": " + what + " failed: " + redactor.scrub(String.valueOf(t.getMessage())));
        p.setStackTrace(t.getStackTrace());
        return p;
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        workers.shutdownNow();
    }

    private static ThreadFactory daemon(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
