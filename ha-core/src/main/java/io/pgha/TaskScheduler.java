package io.pgha;

/**
 * Runs tasks after a delay measured on the node's {@link Ticker}. The default scheduler uses two
 * daemon threads per node (one for the HA loop, one for the lease guard, so a stuck loop cannot
 * delay fencing); a test passes a virtual-time scheduler instead, and then the ticker must read the
 * same virtual time.
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
