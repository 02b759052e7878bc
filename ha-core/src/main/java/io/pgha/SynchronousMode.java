package io.pgha;

/**
 * Patroni's {@code synchronous_mode} ({@code off}, {@code on}, {@code quorum}) combined with
 * {@code synchronous_mode_strict}.
 */
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
    STRICT,
    /**
     * Quorum commit ({@code synchronous_mode: quorum}): commits wait for {@code ANY k} of the
     * standbys listed in {@code synchronous_standby_names}; the {@code sync} key lists them as
     * voters with a {@code quorum}, and a candidate promotes only when enough voters answer that
     * they are not ahead of it. Without standbys the primary continues asynchronously.
     */
    QUORUM,
    /** As {@link #QUORUM}, but the primary never falls back to asynchronous: with no standby, writes block. */
    QUORUM_STRICT;

    public boolean enabled() {
        return this != OFF;
    }

    /** {@code synchronous_mode: quorum}, strict or not. */
    public boolean quorum() {
        return this == QUORUM || this == QUORUM_STRICT;
    }

    /** {@code synchronous_mode_strict}: never fall back to asynchronous replication. */
    public boolean strict() {
        return this == STRICT || this == QUORUM_STRICT;
    }

    /** The mode for Patroni's two keys, {@code synchronous_mode} ({@code off/on/quorum}) and {@code synchronous_mode_strict}. */
    public static SynchronousMode of(boolean enabled, boolean quorum, boolean strict) {
        if (!enabled) {
            return OFF;
        }
        if (quorum) {
            return strict ? QUORUM_STRICT : QUORUM;
        }
        return strict ? STRICT : ON;
    }
}
