package io.pgha;

/**
 * A monotonic clock in nanoseconds, like {@link System#nanoTime()}: only differences between two
 * readings mean anything. Every lease, fence and timeout in pgha is measured with it, never with
 * wall-clock time, so a clock step on the host cannot stretch a lease.
 */
@FunctionalInterface
public interface Ticker {
    long read();

    /** {@link System#nanoTime()}. */
    static Ticker system() {
        return System::nanoTime;
    }
}
