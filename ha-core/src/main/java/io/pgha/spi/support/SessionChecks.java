package io.pgha.spi.support;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import java.util.Objects;

/** The argument rules of {@link DcsSession} that every store enforces the same way. */
public final class SessionChecks {
    private SessionChecks() {
    }

    /**
     * The member name of a session that may hold a lease.
     *
     * @throws IllegalStateException for an observer session, which cannot
     */
    public static String requireMember(SessionSpec spec) {
        return spec.member().orElseThrow(() -> new IllegalStateException("an observer session cannot hold a lease"));
    }

    /**
     * Checks that {@code key} may be written with compare-and-set or compare-and-delete.
     *
     * @throws NullPointerException     for {@code null}
     * @throws IllegalArgumentException for {@link ClusterKey#LEADER} and {@link ClusterKey#STATUS},
     *                                  which only the lease methods write
     */
    public static ClusterKey requireVersioned(ClusterKey key) {
        Objects.requireNonNull(key, "key");
        if (key == ClusterKey.LEADER || key == ClusterKey.STATUS) {
            throw new IllegalArgumentException(key.path() + " is written only through the lease methods");
        }
        return key;
    }
}
