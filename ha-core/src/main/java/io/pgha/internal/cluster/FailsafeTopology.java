package io.pgha.internal.cluster;

import java.util.Map;

/**
 * The {@code failsafe} key: the members a primary must reach, by name with their REST API URL, to
 * run on while the store cannot be reached.
 *
 * @param members member name to {@code api_url}
 * @param version the key's version, for the leader's compare-and-set
 */
public record FailsafeTopology(Map<String, String> members, long version) {
    public FailsafeTopology {
        members = Map.copyOf(members);
    }
}
