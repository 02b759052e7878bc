package io.pgha.spi.support;

import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link io.pgha.spi.DcsSession#writeRevision()}: the largest store revision at which a write of
 * the session took effect. A maximum, so answers that arrive out of order never move it back.
 * Thread-safe; 0 until a write is noted.
 */
public final class WriteRevision {
    private final AtomicLong newest = new AtomicLong();

    /** A write of the session took effect at {@code revision}. */
    public void wrote(long revision) {
        newest.accumulateAndGet(revision, Math::max);
    }

    /** The largest revision noted so far; 0 if none. */
    public long get() {
        return newest.get();
    }
}
