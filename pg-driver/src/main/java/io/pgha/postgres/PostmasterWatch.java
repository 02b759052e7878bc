package io.pgha.postgres;

import io.pgha.spi.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Notices when the postmaster exits. The postmaster is not the JVM's child, so there is no wait()
 * to block in; {@link ProcessHandle#onExit()} polls for such processes with a back-off that reaches
 * seconds, and counts a zombie as alive. This polls {@code /proc/<pid>/stat} at a fixed short
 * interval instead (a few microseconds per poll), so the engine learns about a crash within it.
 */
final class PostmasterWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PostmasterWatch.class);

    private final Path dataDir;
    private final ScheduledExecutorService scheduler;
    private final Executor callbacks;
    private final Duration interval;
    private final BiConsumer<Long, Boolean> onExit;
    private final List<Runnable> subscribers = new CopyOnWriteArrayList<>();
    private long watched;
    private int expectedExits;
    private ScheduledFuture<?> task;

    /**
     * @param onExit called with (pid, expected) for every exit seen, before the subscribers
     */
    PostmasterWatch(Path dataDir, ScheduledExecutorService scheduler, Executor callbacks, Duration interval,
                    BiConsumer<Long, Boolean> onExit) {
        this.dataDir = dataDir;
        this.scheduler = scheduler;
        this.callbacks = callbacks;
        this.interval = interval;
        this.onExit = onExit;
    }

    Subscription subscribe(Runnable callback) {
        subscribers.add(callback);
        return () -> subscribers.remove(callback);
    }

    /** Starts watching {@code pid} (a live postmaster of our data directory). */
    synchronized void watch(long pid) {
        if (pid == watched) {
            return;
        }
        watched = pid;
        if (task == null) {
            task = scheduler.scheduleWithFixedDelay(this::poll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Brackets a stop or restart pgha itself performs: an exit inside is not reported to the
     * subscribers as a crash. Returns what ends the bracket.
     */
    synchronized Runnable expectingExit() {
        expectedExits++;
        return () -> {
            poll(); // an exit we caused is settled while still expected, not attributed to the next crash
            synchronized (PostmasterWatch.this) {
                expectedExits--;
            }
        };
    }

    private void poll() {
        long pid;
        boolean expected;
        synchronized (this) {
            if (watched == 0 || Proc.isAliveIn(watched, dataDir)) {
                return;
            }
            pid = watched;
            watched = 0;
            expected = expectedExits > 0;
        }
        LOG.debug("postmaster {} exited ({})", pid, expected ? "stopped by pgha" : "unexpectedly");
        onExit.accept(pid, expected);
        if (!expected) {
            for (Runnable r : subscribers) {
                callbacks.execute(() -> {
                    try {
                        r.run();
                    } catch (RuntimeException e) {
                        LOG.warn("state-change callback failed", e);
                    }
                });
            }
        }
    }

    @Override
    public synchronized void close() {
        if (task != null) {
            task.cancel(false);
            task = null;
        }
        subscribers.clear();
    }
}
