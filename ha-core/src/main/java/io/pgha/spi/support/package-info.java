/**
 * Building blocks for {@link io.pgha.spi.Dcs} implementations: what the etcd, ZooKeeper and Consul
 * modules do the same way, public so that a store of your own can use it too. Nothing here talks to
 * a store or decides anything about leases; each store keeps its own lease logic, because that is
 * where the stores really differ.
 *
 * <ul>
 *   <li>{@link io.pgha.spi.support.KeyLayout}: Patroni's key layout, {@code <namespace>/<scope>/<key>},
 *       with namespace normalization and the mapping between full keys and paths relative to the
 *       cluster;</li>
 *   <li>{@link io.pgha.spi.support.StrictUtf8}: values as the exact UTF-8 text, refusing bytes
 *       that are not text instead of replacing them;</li>
 *   <li>{@link io.pgha.spi.support.SnapshotBuilder}: a {@link io.pgha.spi.ClusterSnapshot} from
 *       the key/value pairs one read returned, sorting each into a cluster key, a member entry or
 *       "not ours";</li>
 *   <li>{@link io.pgha.spi.support.WarnOnce}: one warning per subject (a foreign key seen every
 *       cycle must not flood the log);</li>
 *   <li>{@link io.pgha.spi.support.RepeatedCondition}: a condition that repeats (the store cannot be
 *       reached) as a handful of lines: its beginning with the cause, a reminder with the count now
 *       and then, its end with how long it lasted;</li>
 *   <li>{@link io.pgha.spi.support.DcsListeners} and {@link io.pgha.spi.support.GuardedListener}:
 *       the listeners of one session, each behind a guard that keeps its exceptions out of the
 *       store's threads and delivers nothing once closed, and the fan-out of
 *       {@link io.pgha.spi.DcsListener#leaseLost} to all of them;</li>
 *   <li>{@link io.pgha.spi.support.SessionChecks}: the SPI's argument rules every session enforces
 *       (observers hold no lease; the leader and status keys are written only through the lease
 *       methods);</li>
 *   <li>{@link io.pgha.spi.support.WriteRevision}: {@link io.pgha.spi.DcsSession#writeRevision()}
 *       as the largest revision a write of the session took effect at;</li>
 *   <li>{@link io.pgha.spi.support.ReadableFiles}: the builders' check that a certificate or key
 *       file can be read;</li>
 *   <li>{@link io.pgha.spi.support.DaemonThreads}: named daemon threads for a store's pools,
 *       timers and watch loops.</li>
 * </ul>
 */
package io.pgha.spi.support;
