package io.pgha.internal.cluster;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code sync} key: who was leader when it was written and which standbys are synchronous
 * (every commit acknowledged since they were published is on each of them); in quorum mode the
 * standbys are the <em>voters</em> and {@code quorum} says how many of the others (voters and the
 * leader) a candidate must hear say "not ahead of you" before it promotes (Patroni's
 * {@code SyncState}: 0 when the key names no leader).
 */
public record SyncState(Optional<String> leader, Set<String> standbys, int quorum, long version) {
    public SyncState {
        Objects.requireNonNull(leader, "leader");
        standbys = java.util.Collections.unmodifiableSet(new TreeSet<>(standbys));
        if (quorum < 0) {
            throw new IllegalArgumentException("quorum " + quorum + " < 0");
        }
        if (leader.isEmpty()) {
            quorum = 0;
        }
    }

    /** A key without a quorum (synchronous_mode on). */
    public SyncState(Optional<String> leader, Set<String> standbys, long version) {
        this(leader, standbys, 0, version);
    }

    /** May {@code member} be promoted automatically under this state? */
    public boolean allowsPromotionOf(String member) {
        return leader.map(member::equals).orElse(false) || standbys.contains(member);
    }

    /** Patroni's {@code SyncState.is_empty}: the key names no leader. */
    public boolean isEmpty() {
        return leader.isEmpty();
    }

    /** The voting set of quorum mode: the leader and the voters (Patroni's {@code SyncState.members}). */
    public Set<String> members() {
        Set<String> out = new TreeSet<>(standbys);
        leader.ifPresent(out::add);
        return leader.isEmpty() ? Set.of() : out;
    }
}
