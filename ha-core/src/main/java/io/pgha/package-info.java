/**
 * pgha's public API: one PostgreSQL high-availability node embedded in a JVM service.
 *
 * <p>Start with {@link io.pgha.HaNode#builder()}: give it a name and a scope, a
 * {@link io.pgha.spi.Dcs} (etcd, ZooKeeper, Consul or your own), a
 * {@link io.pgha.spi.PostgresController} (pg-driver's {@code PgController}, or your own), and the
 * timings ({@code ttl}, {@code loop_wait}, {@code retry_timeout}, as in Patroni). {@code build()}
 * checks every setting and their combination and throws {@link io.pgha.ConfigurationException}
 * naming the setting; {@code start()} runs the node until {@code close()}.
 *
 * <ul>
 *   <li>{@link io.pgha.HaNode} — the node: {@code status()}; {@code restAddress()}, its
 *       Patroni-compatible REST API (health checks for HAProxy, and the operator's switchover,
 *       failover, pause and restart requests); {@code close()}, a graceful stop that releases the
 *       leader key only after PostgreSQL is confirmed stopped;</li>
 *   <li>{@link io.pgha.NodeStatus}, {@link io.pgha.Role} — what the node is and sees right now;</li>
 *   <li>{@link io.pgha.HaListener}, {@link io.pgha.HaEvent} — role changes, leader changes,
 *       decisions, fencing, failed actions;</li>
 *   <li>{@link io.pgha.HaSettings}, {@link io.pgha.SynchronousMode}, {@link io.pgha.MemberTags},
 *       {@link io.pgha.RestApiConfig} — immutable settings;</li>
 *   <li>{@link io.pgha.ClusterView}, {@link io.pgha.DynamicConfigCheck} — for tools: a cluster as
 *       its store holds it, and the checks of a dynamic configuration;</li>
 *   <li>{@link io.pgha.Ticker}, {@link io.pgha.TaskScheduler} — the clock and scheduler a node runs
 *       on, replaceable so tests run whole clusters in virtual time (see {@code ha-testkit});</li>
 *   <li>{@link io.pgha.PghaException} and its subclasses — every error pgha throws is unchecked
 *       and typed.</li>
 * </ul>
 *
 * <p>Everything under {@code io.pgha.internal} is not API: it may change in any release.
 */
package io.pgha;
