package io.pgha.internal.decision;

import java.util.Objects;
import java.util.Optional;

/**
 * What the node believes about its own leader lease.
 *
 * @param held       we acquired or renewed the lock and have not released it
 * @param validUntil ticker time until which the lease is certainly still ours (the send time of the
 *                   last successful renewal plus ttl); meaningless unless {@code held}
 * @param lost       the store told us the lease or lock is gone (renewal answered "not yours",
 *                   session expired)
 * @param released   this node gave the lock up (a release was sent, whatever its outcome) and has not
 *                   acquired it since: it no longer renews the leader key, so a key that still names
 *                   it must be released again rather than renewed
 */
public record LeaseView(boolean held, long validUntil, Optional<String> lost, boolean released) {
    public static final LeaseView NOT_HELD = new LeaseView(false, 0, Optional.empty(), false);

    public LeaseView {
        Objects.requireNonNull(lost, "lost");
    }

    public boolean isValid(long now) {
        return held && lost.isEmpty() && now - validUntil < 0;
    }
}
