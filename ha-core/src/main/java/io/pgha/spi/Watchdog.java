package io.pgha.spi;

import java.time.Duration;

/**
 * A hardware or kernel watchdog (Patroni's {@code watchdog}): once activated, it resets the machine
 * unless kept alive within its timeout, so a primary whose agent froze stops taking writes even if
 * every in-process and out-of-process fence failed with it. The engine activates it when this node
 * starts to lead, keeps it alive with each lease renewal, and disables it once PostgreSQL is
 * confirmed stopped or the node stops leading cleanly.
 */
public interface Watchdog extends AutoCloseable {
    /**
     * Arms the device with {@code timeout}.
     *
     * @throws WatchdogException if the device cannot be opened or cannot take the timeout
     */
    void activate(Duration timeout);

    /** Tells the device this node is alive; does nothing when not active. */
    void keepalive();

    /** Disarms the device (a clean close); does nothing when not active. */
    void disable();

    /** Whether the device is armed now. */
    boolean isActive();

    /** Whether the device can be opened at all (checked before this node races for the lock in required mode). */
    boolean isUsable();

    /** Disables the device. */
    @Override
    void close();

    /** The watchdog could not be opened or armed; the message says which device and why. */
    final class WatchdogException extends io.pgha.PghaException {
        public WatchdogException(String message) {
            super(message);
        }
    }
}
