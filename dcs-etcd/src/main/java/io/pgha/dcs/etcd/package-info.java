/**
 * The {@link io.pgha.spi.Dcs} on etcd v3: {@link io.pgha.dcs.etcd.EtcdDcs}, built with
 * {@link io.pgha.dcs.etcd.EtcdDcs#builder()}. Everything else in this package is internal.
 *
 * <p>How the SPI maps onto etcd (Patroni's etcd3 layout, {@code <namespace>/<scope>/...}):
 * <ul>
 *   <li>one lease per member session, TTL = {@code ttl} rounded up to whole seconds, granted by the
 *       first lease-bound call and re-granted when a keep-alive finds it gone; refreshed with one
 *       keep-alive per {@code acquireLeader} / {@code renewLeader} / {@code touchMember} (a
 *       {@code LeaseKeepAlive} call with one request, which etcd ends with OK), never by jetcd's
 *       background keep-alive; revoked on close;</li>
 *   <li>{@code leader}: a transaction on {@code create_revision == 0} bound to the lease; renewal
 *       compares the key's {@code mod_revision} with the one this session wrote (jetcd cannot compare
 *       on the lease), rebinds a key carrying our name under another lease, re-creates an absent
 *       one; release compares the value;</li>
 *   <li>{@code config}, {@code failover}, {@code sync}, {@code history}, {@code initialize}:
 *       compare-and-set on {@code mod_revision} ({@code create_revision == 0} for "absent");</li>
 *   <li>reads: one range request on the prefix (versions are {@code mod_revision}, the snapshot's
 *       revision the header revision); the watch: one prefix watch per {@code EtcdDcs}, shared by
 *       all its sessions' watches, that resumes from its own position and reports "unknown" when
 *       that was compacted;</li>
 *   <li>every call is bounded by {@code retry_timeout}; a request stuck on one member is abandoned
 *       after its share of the budget and, where repeating it is safe, sent to the next member;</li>
 *   <li>an etcd that cannot be reached is logged as one WARN line naming the cause, a reminder with
 *       the count now and then, and one INFO line when it is reachable again; failures carry
 *       one-line messages, never gRPC's diagnostics with their stack traces.</li>
 * </ul>
 */
package io.pgha.dcs.etcd;
