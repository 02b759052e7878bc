/**
 * The service-provider interfaces pgha drives, and the values that cross them.
 *
 * <p>Two seams: a distributed configuration store and a PostgreSQL server.
 * <ul>
 *   <li>{@link io.pgha.spi.Dcs} and {@link io.pgha.spi.DcsSession} — one member's lease-bound view
 *       of one cluster: leader key acquire, renew and release, compare-and-set writes of the
 *       cluster keys ({@link io.pgha.spi.ClusterKey}), snapshots ({@link io.pgha.spi.ClusterSnapshot}),
 *       an authoritative read, and a watch. The javadoc of each method is the contract: every call
 *       completes within {@code retry_timeout}; an unreachable store
 *       ({@link io.pgha.spi.DcsUnreachableException}, outcome unknown) is distinct from a refusal
 *       ({@code false}). pgha ships etcd, ZooKeeper and Consul implementations in their own modules.</li>
 *   <li>{@link io.pgha.spi.PostgresController} — observes and drives one PostgreSQL server:
 *       {@link io.pgha.spi.PostgresState}, bootstrap, clone, start and stop
 *       ({@link io.pgha.spi.StopMode}), promote, follow an {@link io.pgha.spi.Upstream}, check
 *       divergence and rewind, the synchronous standbys, and an out-of-process write fence
 *       ({@code armFence}) that stops PostgreSQL at the lease deadline even when the JVM is frozen.</li>
 *   <li>{@link io.pgha.spi.PeerClient} — asks another member for its {@link io.pgha.spi.PeerStatus}
 *       during a leader race (pgha's REST client by default).</li>
 * </ul>
 *
 * <p>To add a store, implement {@code Dcs} and {@code DcsSession} (the package
 * {@link io.pgha.spi.support} holds what the bundled stores share: Patroni's key layout, strict
 * UTF-8, snapshot assembly, listener fan-out, daemon threads) and extend
 * {@code io.pgha.testkit.DcsContractTest} from {@code ha-testkit}: it checks every rule of these
 * javadocs against real servers of your store. To add a controller, implement
 * {@code PostgresController}; {@code ha-testkit}'s {@code FakePostgres} shows the expected
 * behaviour in virtual time.
 */
package io.pgha.spi;
