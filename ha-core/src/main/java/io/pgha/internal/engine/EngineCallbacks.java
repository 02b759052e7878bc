package io.pgha.internal.engine;

/** What the lease guard tells the loop. */
interface EngineCallbacks {
    /** The guard stopped PostgreSQL writes. */
    void fenced(String reason);

    /** Run a cycle now. */
    void wake();

    /**
     * A store call of the guard's failed or had an unknown outcome: the loop's next view must come
     * from the store itself, not from a cache that may not have seen what that call did; and the
     * store may be gone, which a primary in failsafe mode must act on at once.
     */
    void storeCallUnanswered();
}
