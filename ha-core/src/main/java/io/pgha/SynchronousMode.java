package io.pgha;

/** Patroni's {@code synchronous_mode} and {@code synchronous_mode_strict}. */
public enum SynchronousMode {
    /** Asynchronous replication. */
    OFF,
    /**
     * Commits wait for synchronous standbys while there are any; only the leader or a standby
     * listed in the {@code sync} key may be promoted automatically. With no standby left, the
     * primary continues asynchronously (and then no standby may be promoted).
     */
    ON,
    /** As {@link #ON}, but the primary never falls back to asynchronous: with no standby, writes block. */
    STRICT;

    public boolean enabled() {
        return this != OFF;
    }
}
