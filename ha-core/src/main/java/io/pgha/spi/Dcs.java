package io.pgha.spi;

/**
 * A distributed configuration store: etcd, ZooKeeper, Consul, or your own.
 *
 * <p>A {@code Dcs} is the connection to the store (it may own a client, or wrap one the host
 * service already has). It hands out {@link DcsSession}s: one member's lease-bound view of one
 * cluster. The engine opens exactly one session per {@code HaNode}; tools like {@code pghactl} open
 * observer sessions.
 *
 * <p>To implement your own store, implement this and {@link DcsSession}, then extend the contract
 * suite {@code io.pgha.testkit.DcsContractTest} from {@code ha-testkit}: it checks every rule written
 * in these javadocs against your implementation.
 */
public interface Dcs extends AutoCloseable {
    /**
     * Opens a session. Returns at once and sends nothing: a member session creates its
     * lease/session (TTL {@code spec.ttl()}) with its first lease-bound call, and creates a new one
     * whenever the previous one is found expired. Opening never fails for an unreachable store; the
     * session's calls do.
     *
     * @throws IllegalArgumentException if the spec cannot be served by this store (for example a ttl
     *                                  below the store's minimum), with a message naming the limit
     */
    DcsSession open(SessionSpec spec);

    /**
     * What {@link DcsSession#leaseGuarantee()} will be for sessions opened with this ttl, so that a
     * node's timings can be checked before it starts. Most stores keep a lease for exactly the ttl
     * (the default).
     */
    default java.time.Duration leaseGuarantee(java.time.Duration ttl) {
        return ttl;
    }

    /**
     * Closes the connection if this {@code Dcs} owns it. Sessions still open are closed first.
     * A client passed in by the host service is left open.
     */
    @Override
    void close();
}
