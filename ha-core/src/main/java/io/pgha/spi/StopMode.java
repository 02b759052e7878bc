package io.pgha.spi;

/** PostgreSQL's shutdown modes ({@code pg_ctl stop -m}). */
public enum StopMode {
    /** Wait for clients to disconnect. */
    SMART,
    /** Roll back open transactions, disconnect clients, write a shutdown checkpoint. */
    FAST,
    /** Quit at once without a checkpoint; the next start runs crash recovery. */
    IMMEDIATE
}
