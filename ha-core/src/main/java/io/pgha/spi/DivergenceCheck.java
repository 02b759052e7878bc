package io.pgha.spi;

/** Whether local data can stream from an upstream as it is. */
public enum DivergenceCheck {
    /** Local WAL is a prefix of the upstream's history: following works without a rewind. */
    NOT_DIVERGED,
    /** Local WAL went past the point where the upstream's timeline forked: pg_rewind (or a re-clone) is needed. */
    DIVERGED,
    /** Could not tell (upstream unreachable, no timeline history yet): ask again later. */
    UNKNOWN
}
