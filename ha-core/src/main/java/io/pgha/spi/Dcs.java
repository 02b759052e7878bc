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
     * Opens a session. For a member session this creates the lease/session whose TTL is
     * {@code spec.ttl()}; nothing is written to the store until the session's first write.
     *
     * @throws DcsUnreachableException if the store cannot be reached within {@code spec.retryTimeout()}
     */
    DcsSession open(SessionSpec spec);

    /**
     * Closes the connection if this {@code Dcs} owns it. Sessions still open are closed first.
     * A client passed in by the host service is left open.
     */
    @Override
    void close();
}
