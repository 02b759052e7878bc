package io.pgha.spi.support;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Assembles one {@link ClusterSnapshot} from the key/value pairs a single read of the store
 * returned. Each pair is given by its path relative to the cluster ({@link KeyLayout#relative}) and
 * sorted into a {@link ClusterKey}, a member entry ({@code members/<name>}), or left out; what was
 * left out, and why, is {@link #add}'s answer, so the store can warn in its own words.
 *
 * <pre>{@code
 * SnapshotBuilder b = new SnapshotBuilder();
 * for (KeyValue kv : response.getKvs()) {
 *     layout.relative(name(kv)).ifPresent(path -> {
 *         if (b.add(path, kv.value(), kv.version()) == Placement.NOT_TEXT) {
 *             warnings.warn(path, "{} is not UTF-8 text; left out", path);
 *         }
 *     });
 * }
 * return b.build(response.revision());
 * }</pre>
 *
 * <p>Not thread-safe: one builder per read.
 */
public final class SnapshotBuilder {
    /** Where {@link #add} put a pair. */
    public enum Placement {
        /** One of the {@link ClusterKey}s. */
        KEY,
        /** A member entry. */
        MEMBER,
        /**
         * Not part of the layout, and left out: Patroni's own extras ({@code optime/leader}),
         * Citus groups, {@code members/} without a name or with a deeper path, anything else.
         * ({@code failsafe} is a {@link ClusterKey} and so a {@link #KEY}.)
         */
        NOT_IN_LAYOUT,
        /** Part of the layout, but the value is not UTF-8 text ({@link StrictUtf8}): left out. */
        NOT_TEXT
    }

    private final Map<ClusterKey, DcsEntry> keys = new EnumMap<>(ClusterKey.class);
    private final Map<String, DcsEntry> members = new HashMap<>();

    /**
     * The member name of a member entry's relative path ({@code "n1"} for {@code "members/n1"}), or
     * empty when the path is not a member entry.
     */
    public static Optional<String> memberName(String relativePath) {
        Objects.requireNonNull(relativePath, "relativePath");
        if (!relativePath.startsWith(ClusterKey.MEMBERS_PREFIX)) {
            return Optional.empty();
        }
        String name = relativePath.substring(ClusterKey.MEMBERS_PREFIX.length());
        return name.isEmpty() || name.indexOf('/') >= 0 ? Optional.empty() : Optional.of(name);
    }

    /**
     * Sorts one pair in: the layout decides first (a foreign key is {@link Placement#NOT_IN_LAYOUT}
     * whatever its value), then the value must be strict UTF-8 text.
     *
     * @param relativePath the key relative to the cluster prefix ({@code "leader"}, {@code "members/n1"})
     * @param value        the stored bytes; {@code null} is the empty value
     * @param version      the store's version of the key, handed back to compare-and-set
     */
    public Placement add(String relativePath, byte[] value, long version) {
        Placement where = placementOf(relativePath);
        if (where == Placement.NOT_IN_LAYOUT) {
            return where;
        }
        Optional<String> text = StrictUtf8.decode(value);
        if (text.isEmpty()) {
            return Placement.NOT_TEXT;
        }
        return put(relativePath, where, new DcsEntry(text.get(), version));
    }

    /** Sorts in a pair whose value is already text; see {@link #add(String, byte[], long)}. */
    public Placement add(String relativePath, String value, long version) {
        Objects.requireNonNull(value, "value");
        Placement where = placementOf(relativePath);
        return where == Placement.NOT_IN_LAYOUT ? where : put(relativePath, where, new DcsEntry(value, version));
    }

    private static Placement placementOf(String relativePath) {
        if (memberName(relativePath).isPresent()) {
            return Placement.MEMBER;
        }
        return ClusterKey.fromPath(relativePath) != null ? Placement.KEY : Placement.NOT_IN_LAYOUT;
    }

    private Placement put(String relativePath, Placement where, DcsEntry entry) {
        if (where == Placement.MEMBER) {
            members.put(memberName(relativePath).orElseThrow(), entry);
        } else {
            keys.put(ClusterKey.fromPath(relativePath), entry);
        }
        return where;
    }

    /** The snapshot of everything added so far, at the store-wide position {@code revision} (0: none). */
    public ClusterSnapshot build(long revision) {
        return new ClusterSnapshot(revision, keys, members);
    }
}
