package io.pgha;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Patroni's member tags: how this member takes part in failover, synchronous replication and load
 * balancing. Published in the member entry; {@code ?tag_key=value} health checks match
 * {@link #custom()}.
 *
 * @param nofailover       never become leader automatically
 * @param failoverPriority priority in a leader race when WAL positions tie (higher wins); {@code 0}
 *                         behaves like {@code nofailover}
 * @param nosync           never be chosen as a synchronous standby
 * @param noloadbalance    {@code /replica} answers 503
 * @param clonefrom        preferred as the source of base backups
 * @param replicatefrom    stream from this member instead of the leader (cascading)
 * @param custom           any other tags, published as they are
 */
public record MemberTags(boolean nofailover, int failoverPriority, boolean nosync, boolean noloadbalance,
                         boolean clonefrom, Optional<String> replicatefrom, Map<String, String> custom) {
    public static final MemberTags DEFAULT = new MemberTags(false, 1, false, false, false, Optional.empty(), Map.of());

    public MemberTags {
        Objects.requireNonNull(replicatefrom, "replicatefrom");
        custom = Map.copyOf(new LinkedHashMap<>(Objects.requireNonNull(custom, "custom")));
        if (failoverPriority < 0) {
            throw new ConfigurationException("failover_priority", "must be >= 0, got " + failoverPriority);
        }
    }

    /** Whether this member may ever take part in an automatic leader race. */
    public boolean canFailover() {
        return !nofailover && failoverPriority > 0;
    }

    public MemberTags withNofailover(boolean value) {
        return new MemberTags(value, failoverPriority, nosync, noloadbalance, clonefrom, replicatefrom, custom);
    }

    public MemberTags withFailoverPriority(int value) {
        return new MemberTags(nofailover, value, nosync, noloadbalance, clonefrom, replicatefrom, custom);
    }

    public MemberTags withNosync(boolean value) {
        return new MemberTags(nofailover, failoverPriority, value, noloadbalance, clonefrom, replicatefrom, custom);
    }

    public MemberTags withNoloadbalance(boolean value) {
        return new MemberTags(nofailover, failoverPriority, nosync, value, clonefrom, replicatefrom, custom);
    }

    public MemberTags withClonefrom(boolean value) {
        return new MemberTags(nofailover, failoverPriority, nosync, noloadbalance, value, replicatefrom, custom);
    }

    public MemberTags withReplicatefrom(String member) {
        return new MemberTags(nofailover, failoverPriority, nosync, noloadbalance, clonefrom, Optional.ofNullable(member), custom);
    }

    public MemberTags withCustom(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(custom);
        m.put(key, value);
        return new MemberTags(nofailover, failoverPriority, nosync, noloadbalance, clonefrom, replicatefrom, m);
    }
}
