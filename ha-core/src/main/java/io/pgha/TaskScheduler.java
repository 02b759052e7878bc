package io.pgha;

/**
 * Runs tasks after a delay measured on the node's {@link Ticker}. By default a node runs its HA
 * loop, its lease heartbeat and its fence timer on three daemon threads of its own, so a stuck loop
 * cannot delay fencing; {@link NodeScheduling} keeps the same separation on threads that many nodes
 * share. A test passes a virtual-time scheduler instead, and then the ticker must read the same
 * virtual time.
 */
@FunctionalInterface
public interface TaskScheduler {
    /**
     * Runs {@code task} once, {@code delayNanos} from now (0: as soon as possible, after tasks
     * already due). Exceptions thrown by the task are the caller's bug; the scheduler logs them and
     * goes on.
     */
    Cancellable schedule(Runnable task, long delayNanos);

    /** A scheduled task that has not run yet can be cancelled. */
    @FunctionalInterface
    interface Cancellable {
        void cancel();
    }
}
