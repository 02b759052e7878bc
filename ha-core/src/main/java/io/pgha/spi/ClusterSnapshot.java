package io.pgha.spi;

import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One consistent read of every key of a cluster: a single point in the store's history, so the
 * leader key and the member entries never come from two different moments.
 *
 * @param revision a store-wide position of this read (etcd header revision, ZooKeeper zxid,
 *                 Consul {@code X-Consul-Index}); larger means newer within one store, {@code 0}
 *                 when the store has none
 * @param keys     the cluster keys that exist, with their versions
 * @param members  member entries by member name
 */
public record ClusterSnapshot(long revision, Map<ClusterKey, DcsEntry> keys, Map<String, DcsEntry> members) {
    public static final ClusterSnapshot EMPTY = new ClusterSnapshot(0, Map.of(), Map.of());

    public ClusterSnapshot {
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(members, "members");
        EnumMap<ClusterKey, DcsEntry> k = new EnumMap<>(ClusterKey.class);
        k.putAll(keys);
        keys = java.util.Collections.unmodifiableMap(k);
        members = java.util.Collections.unmodifiableMap(new TreeMap<>(members));
    }

    public Optional<DcsEntry> get(ClusterKey key) {
        return Optional.ofNullable(keys.get(key));
    }

    /** The leader key's value (the leader's member name), if a leader key exists. */
    public Optional<String> leaderName() {
        return get(ClusterKey.LEADER).map(DcsEntry::value);
    }

    /** True when the cluster has no keys at all. */
    public boolean isEmpty() {
        return keys.isEmpty() && members.isEmpty();
    }
}
