package io.pgha.dcs.consul;

/**
 * The moment (on {@link System#nanoTime()}) by which the operation running on this thread must be
 * over: {@code retry_timeout} after the SPI call was made. consul-api's client blocks in the
 * calling thread, so the HTTP client's request interceptor reads it and shortens each request's
 * connect and read timeouts to what is left, and sends nothing once it has passed: an operation
 * of several requests never outlives its stage, and never writes after the caller was told
 * "unreachable".
 */
final class Deadline {
    private static final ThreadLocal<Long> AT = new ThreadLocal<>();

    private Deadline() {
    }

    static void set(long nanoTime) {
        AT.set(nanoTime);
    }

    static void clear() {
        AT.remove();
    }

    /** Milliseconds left, or -1 when no deadline is set on this thread (a watch's blocking query). */
    static long remainingMillis() {
        Long at = AT.get();
        if (at == null) {
            return -1;
        }
        return Math.max(0, (at - System.nanoTime()) / 1_000_000);
    }
}
