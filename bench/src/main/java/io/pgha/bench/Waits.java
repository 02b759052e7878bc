package io.pgha.bench;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polling with a deadline, for the programs (the tests use awaitility). */
final class Waits {
    private Waits() {
    }

    /** Polls {@code condition} every {@code pollMs} until it holds; throws when {@code limit} passes first. */
    static void until(String what, BooleanSupplier condition, Duration limit, long pollMs) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out after " + limit.toSeconds() + " s waiting for " + what);
            }
            try {
                Thread.sleep(pollMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + what);
            }
        }
    }
}
