package io.pgha.internal.cluster;

import java.util.Objects;

/** The {@code config} key decoded, with its version for compare-and-set. */
public record ConfigEntry(DynamicConfig config, long version) {
    public ConfigEntry {
        Objects.requireNonNull(config, "config");
    }
}
