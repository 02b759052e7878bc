package io.pgha;

/** Patroni's {@code watchdog.mode}. */
public enum WatchdogMode {
    /** No watchdog. */
    OFF,
    /** Use the watchdog when it can be activated; lead without it (with a warning) when it cannot. */
    AUTOMATIC,
    /** Lead only with an active watchdog: a member whose watchdog cannot be used does not race for the lock. */
    REQUIRED
}
