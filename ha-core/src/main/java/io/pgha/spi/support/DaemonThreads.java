package io.pgha.spi.support;

import java.util.Objects;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Named daemon threads for a store's pools, timers and watch loops: a store's threads must never
 * keep a JVM alive, and their names say whose they are in a thread dump.
 */
public final class DaemonThreads {
    private DaemonThreads() {
    }

    /** A factory of daemon threads named {@code <prefix>-1}, {@code <prefix>-2}, ... */
    public static ThreadFactory factory(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** A daemon thread named {@code name} that runs {@code task}, not started yet. */
    public static Thread thread(String name, Runnable task) {
        Thread t = new Thread(Objects.requireNonNull(task, "task"), Objects.requireNonNull(name, "name"));
        t.setDaemon(true);
        return t;
    }
}
