package io.pgha.internal.cluster;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code sync} key: who was leader when it was written and which standbys are synchronous
 * (every commit acknowledged since they were published is on each of them).
 */
public record SyncState(Optional<String> leader, Set<String> standbys, long version) {
    public SyncState {
        Objects.requireNonNull(leader, "leader");
        standbys = java.util.Collections.unmodifiableSet(new TreeSet<>(standbys));
    }

    /** May {@code member} be promoted automatically under this state? */
    public boolean allowsPromotionOf(String member) {
        return leader.map(member::equals).orElse(false) || standbys.contains(member);
    }
}
