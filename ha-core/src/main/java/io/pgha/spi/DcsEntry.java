package io.pgha.spi;

import java.util.Objects;

/**
 * One value read from the store with the version to hand back to a compare-and-set.
 *
 * @param value   the stored text, exactly as written
 * @param version the store's version of this key (etcd {@code mod_revision}, ZooKeeper
 *                {@code stat.version}, Consul {@code ModifyIndex}); opaque to the engine, which only
 *                passes it back to the same store. Never {@link #ABSENT}.
 */
public record DcsEntry(String value, long version) {
    /** The expected version that means "the key must not exist" in a compare-and-set. */
    public static final long ABSENT = -1;

    public DcsEntry {
        Objects.requireNonNull(value, "value");
        if (version == ABSENT) {
            throw new IllegalArgumentException("an existing entry cannot carry the ABSENT version");
        }
    }
}
