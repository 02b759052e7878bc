package io.pgha.internal.engine;

import io.pgha.WatchdogMode;
import io.pgha.spi.Watchdog;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Patroni's watchdog duty: armed with the other fences when this node starts to lead (timeout
 * {@code ttl - safety_margin}, at least a second), kept alive with each renewal, disarmed with
 * them. In {@code automatic} mode a watchdog that cannot be armed is named once and the node leads
 * without it; in {@code required} mode it cannot lead.
 */
final class WatchdogGuard {
    private static final Logger LOG = LoggerFactory.getLogger(WatchdogGuard.class);

    private final String me;
    private final Optional<Watchdog> watchdog;
    private final WatchdogMode mode;
    private final Duration safetyMargin;
    private final LongSupplier ttlNanos;
    private final Consumer<String> warnOnce;
    private volatile boolean saidUnusable;

    WatchdogGuard(String me, Optional<Watchdog> watchdog, WatchdogMode mode, Duration safetyMargin, LongSupplier ttlNanos,
                  Consumer<String> warnOnce) {
        this.me = me;
        this.watchdog = mode == WatchdogMode.OFF ? Optional.empty() : watchdog;
        this.mode = mode;
        this.safetyMargin = safetyMargin;
        this.ttlNanos = ttlNanos;
        this.warnOnce = warnOnce;
    }

    /** Whether this node may race for the lock as far as the watchdog goes (required mode: only with a usable one). */
    boolean ready() {
        return mode != WatchdogMode.REQUIRED || watchdog.map(Watchdog::isUsable).orElse(false);
    }

    /**
     * The fences were (re-)armed by a renewal: arms the watchdog if it is not yet, and keeps it
     * alive. Returns false only in required mode when it cannot be armed or kept alive: the node
     * must not lead.
     */
    boolean armed() {
        if (watchdog.isEmpty()) {
            return mode != WatchdogMode.REQUIRED;
        }
        Watchdog w = watchdog.get();
        if (mode == WatchdogMode.AUTOMATIC && !w.isUsable()) {
            if (!saidUnusable) {
                saidUnusable = true;
                LOG.info("{}: no usable watchdog ({}); leading without one, as watchdog.mode automatic allows", me, w);
            }
            return true;
        }
        try {
            if (!w.isActive()) {
                Duration timeout = Duration.ofNanos(Math.max(Duration.ofSeconds(1).toNanos(), ttlNanos.getAsLong() - safetyMargin.toNanos()));
                w.activate(timeout);
                LOG.info("{}: watchdog {} armed with a timeout of {} s", me, w, timeout.toSeconds());
            } else {
                w.keepalive();
            }
            return true;
        } catch (RuntimeException e) {
            if (mode == WatchdogMode.REQUIRED) {
                LOG.error("{}: the watchdog is required but {}: not leading", me, e.getMessage());
                return false;
            }
            warnOnce.accept("the watchdog could not be used (" + e.getMessage() + "); leading without it, as watchdog.mode"
                    + " automatic allows");
            return true;
        }
    }

    /** The fences were dropped (PostgreSQL confirmed stopped, or pause): disarms the watchdog. */
    void disarmed() {
        watchdog.filter(Watchdog::isActive).ifPresent(w -> {
            try {
                w.disable();
                LOG.info("{}: watchdog {} disarmed", me, w);
            } catch (RuntimeException e) {
                LOG.warn("{}: could not disarm the watchdog {}: {}", me, w, e.getMessage());
            }
        });
    }
}
