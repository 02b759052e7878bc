package io.pgha.internal.engine;

/** What the lease guard tells the loop. */
interface EngineCallbacks {
    /** The guard stopped PostgreSQL writes. */
    void fenced(String reason);

    /** Run a cycle now. */
    void wake();
}
