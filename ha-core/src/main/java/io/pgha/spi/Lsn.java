package io.pgha.spi;

import io.pgha.PghaException;

/**
 * A PostgreSQL write-ahead-log position (an {@code pg_lsn}), stored as the unsigned 64-bit byte
 * offset and printed the way PostgreSQL prints it ({@code 16/B374D848}).
 *
 * @param value the byte position; {@code 0} means "unknown / none"
 */
public record Lsn(long value) implements Comparable<Lsn> {
    public static final Lsn ZERO = new Lsn(0);

    public static Lsn of(long value) {
        return value == 0 ? ZERO : new Lsn(value);
    }

    /** Parses PostgreSQL's {@code XXXXXXXX/XXXXXXXX} text form. */
    public static Lsn parse(String text) {
        int slash = text == null ? -1 : text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1) {
            throw new PghaException("not an LSN (expected hi/lo in hex): '" + text + "'");
        }
        try {
            long hi = Long.parseLong(text.substring(0, slash), 16);
            long lo = Long.parseLong(text.substring(slash + 1), 16);
            if (hi > 0xFFFFFFFFL || lo > 0xFFFFFFFFL) {
                throw new NumberFormatException("component exceeds 32 bits");
            }
            return of((hi << 32) | lo);
        } catch (NumberFormatException e) {
            throw new PghaException("not an LSN (expected hi/lo in hex): '" + text + "'", e);
        }
    }

    public boolean isZero() {
        return value == 0;
    }

    /** Bytes from {@code other} up to this position; negative when {@code other} is ahead. */
    public long minus(Lsn other) {
        return value - other.value;
    }

    public Lsn plus(long bytes) {
        return of(value + bytes);
    }

    public static Lsn max(Lsn a, Lsn b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    @Override
    public int compareTo(Lsn o) {
        return Long.compareUnsigned(value, o.value);
    }

    @Override
    public String toString() {
        return Long.toHexString(value >>> 32).toUpperCase() + "/" + Long.toHexString(value & 0xFFFFFFFFL).toUpperCase();
    }
}
