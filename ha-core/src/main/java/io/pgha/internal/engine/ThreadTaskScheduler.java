package io.pgha.internal.engine;

import io.pgha.TaskScheduler;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The production scheduler: one named daemon thread on {@link System#nanoTime()}. */
public final class ThreadTaskScheduler implements TaskScheduler, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ThreadTaskScheduler.class);

    private final ScheduledThreadPoolExecutor executor;

    public ThreadTaskScheduler(String threadName) {
        executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    @Override
    public Cancellable schedule(Runnable task, long delayNanos) {
        if (executor.isShutdown()) {
            return () -> { };
        }
        try {
            ScheduledFuture<?> f = executor.schedule(() -> {
                try {
                    task.run();
                } catch (RuntimeException | Error e) {
                    LOG.error("pgha scheduled task failed", e);
                }
            }, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
            return () -> f.cancel(false);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return () -> { };
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
