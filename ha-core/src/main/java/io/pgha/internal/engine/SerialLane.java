package io.pgha.internal.engine;

import io.pgha.TaskScheduler;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks one at a time, in submission order, on a {@link TaskScheduler}: the loop's state is
 * touched only from here, whatever threads the store and PostgreSQL complete their calls on.
 */
final class SerialLane implements Executor {
    private static final Logger LOG = LoggerFactory.getLogger(SerialLane.class);

    private final TaskScheduler scheduler;
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
    private boolean draining;
    private volatile boolean frozen;

    SerialLane(TaskScheduler scheduler) {
        this.scheduler = scheduler;
    }

    @Override
    public void execute(Runnable task) {
        synchronized (this) {
            queue.add(task);
            if (draining || frozen) {
                return;
            }
            draining = true;
        }
        scheduler.schedule(this::drain, 0);
    }

    private void drain() {
        while (true) {
            Runnable next;
            synchronized (this) {
                next = frozen ? null : queue.poll();
                if (next == null) {
                    draining = false;
                    return;
                }
            }
            try {
                next.run();
            } catch (RuntimeException | Error e) {
                LOG.error("pgha loop task failed; the loop goes on", e);
            }
        }
    }

    /**
     * Test hook: a frozen lane queues tasks without running them (a stuck loop thread);
     * unfreezing runs what queued up.
     */
    void setFrozen(boolean value) {
        boolean kick;
        synchronized (this) {
            frozen = value;
            kick = !value && !draining && !queue.isEmpty();
            if (kick) {
                draining = true;
            }
        }
        if (kick) {
            scheduler.schedule(this::drain, 0);
        }
    }
}
