package io.pgha.dcs.etcd;

import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs its tasks one at a time, in the order given, on a shared executor: one subscription's
 * listener calls keep their order, while a listener that is slow only holds up its own
 * subscription (the shared pool runs the others' on other threads). A task that throws is logged
 * and the next one still runs. Once the shared executor refuses work (the {@link EtcdDcs} closed),
 * tasks are dropped: their listeners are closed by then.
 */
final class SerialExecutor implements Executor {
    private static final Logger LOG = LoggerFactory.getLogger(SerialExecutor.class);

    private final Executor executor;
    // guarded by this
    private final Queue<Runnable> queue = new ArrayDeque<>();
    private boolean running;

    SerialExecutor(Executor executor) {
        this.executor = executor;
    }

    @Override
    public void execute(Runnable task) {
        synchronized (this) {
            queue.add(task);
            if (running) {
                return;
            }
            running = true;
        }
        try {
            executor.execute(this::drain);
        } catch (RejectedExecutionException e) {
            synchronized (this) {
                queue.clear();
                running = false;
            }
            LOG.debug("a watch delivery was dropped: the executor is shut down");
        }
    }

    private void drain() {
        while (true) {
            Runnable task;
            synchronized (this) {
                task = queue.poll();
                if (task == null) {
                    running = false;
                    return;
                }
            }
            try {
                task.run();
            } catch (Throwable t) {
                // the tasks after it belong to the same subscription and must still run
                LOG.error("a watch delivery failed", t);
            }
        }
    }
}
