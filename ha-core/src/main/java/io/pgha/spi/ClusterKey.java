package io.pgha.spi;

/**
 * The keys of one cluster in the store, in Patroni's layout: every key lives under
 * {@code <namespace>/<scope>/} (namespace {@code /service} by default), and member entries under
 * {@code members/<name>}.
 *
 * <p>Values are the exact text Patroni stores (JSON, or a plain member name / system identifier),
 * so Patroni's own tools can read a pgha cluster. The {@link io.pgha.spi.Dcs} only moves strings:
 * encoding and decoding is the engine's job.
 */
public enum ClusterKey {
    /** The system identifier of the cluster's data; {@code ""} while a bootstrap is in progress. */
    INITIALIZE("initialize"),
    /** The dynamic configuration (JSON). Written with compare-and-set. */
    CONFIG("config"),
    /** The name of the member that holds the leader lock. Bound to that member's lease/session. */
    LEADER("leader"),
    /** A pending manual failover or switchover request (JSON {@code {leader, member, scheduled_at}}). */
    FAILOVER("failover"),
    /** Synchronous replication state (JSON {@code {leader, sync_standby}}). Written only by the leader. */
    SYNC("sync"),
    /** Timeline history (JSON list of {@code [timeline, lsn, reason, timestamp, new_leader]}). */
    HISTORY("history"),
    /** The leader's status (JSON {@code {optime, slots, retain_slots}}), written together with each renewal. */
    STATUS("status"),
    /**
     * With {@code failsafe_mode}: the members a primary must reach to run on while the store cannot
     * be reached (JSON {@code {name: api_url}}). Written only by the leader.
     */
    FAILSAFE("failsafe");

    private final String path;

    ClusterKey(String path) {
        this.path = path;
    }

    /** The key's name relative to the cluster prefix, e.g. {@code "leader"}. */
    public String path() {
        return path;
    }

    /** The key for a relative path, or {@code null} if the path is not one of these keys. */
    public static ClusterKey fromPath(String path) {
        for (ClusterKey k : values()) {
            if (k.path.equals(path)) {
                return k;
            }
        }
        return null;
    }

    /** The relative path prefix of member entries. */
    public static final String MEMBERS_PREFIX = "members/";
}
