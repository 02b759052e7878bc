/**
 * A {@link io.pgha.spi.Dcs} on ZooKeeper 3.6+ (Apache Curator 5 for the connection). Entry point:
 * {@link io.pgha.dcs.zookeeper.ZooKeeperDcs#builder()}.
 *
 * <h2>Layout</h2>
 * Patroni's: {@code <chroot><namespace>/<scope>/leader}, {@code members/<name>}, {@code config},
 * {@code initialize}, {@code failover}, {@code sync}, {@code history}, {@code status}; the namespace is
 * {@code /service} by default. Values are the exact UTF-8 strings; a znode whose bytes are not UTF-8
 * text, and a child the layout does not know, are skipped with a warning.
 *
 * <h2>The lease is a ZooKeeper session</h2>
 * <ul>
 *   <li>Each member session opens its own ZooKeeper session with session timeout = {@code ttl}. The
 *       leader key and the member entry are <em>ephemeral</em> znodes of it.</li>
 *   <li>{@code acquireLeader} creates the leader znode only if absent. {@code renewLeader} makes a
 *       round trip every time ({@code sync}, then a read of the leader znode) and succeeds only if
 *       the znode names us <em>and</em> its {@code ephemeralOwner} is our current session id: a
 *       client that reconnected with a new session does not believe in the old one's znode (the
 *       two-leaders-after-reconnect bugs of Curator's recipes, CURATOR-696/620). A znode with our
 *       name but an older session of ours is rebound (delete + create in one transaction); an
 *       absent one is created. {@code releaseLeader} deletes it only while it names us, with its
 *       version.</li>
 *   <li>If the granted session timeout is shorter than the ttl (servers clamp it to
 *       [{@code minSessionTimeout}, {@code maxSessionTimeout}], by default 2 and 20 ticks), lease
 *       calls fail with a {@link io.pgha.spi.DcsException} naming the fix instead of letting the leader
 *       key vanish while the engine believes in it. A longer one only delays failover and is
 *       logged once.</li>
 * </ul>
 *
 * <h2>The exception to "a session does not refresh the lease on its own"</h2>
 * The ZooKeeper client pings its server by itself, so the ZooKeeper session would outlive an HA
 * loop that stopped calling. To keep the SPI's rule that keys vanish {@code ttl} after the last
 * renewal, a member session ends its lease itself at {@code send time of the last successful lease
 * call + ttl}: it closes its ZooKeeper session (the server deletes the ephemeral znodes at once) or,
 * with a shared client, deletes its ephemeral znodes. What remains of the exception is the
 * client's own pinging between renewals, which keeps the session alive while a disconnection is
 * shorter than the session timeout; a JVM that is frozen pings nothing and the server expires the
 * session one session timeout after it last heard from it. The engine's fence covers every case:
 * it stops writes before {@code send time of the last successful renewal + ttl}, which is never
 * later than the moment the server can drop the session.
 *
 * <h2>Connection states</h2>
 * Curator's SUSPENDED (connection lost, outcome unknown) produces nothing: calls wait for a
 * connection within their {@code retry_timeout} and fail with
 * {@link io.pgha.spi.DcsUnreachableException}; the engine keeps believing in its lease only until
 * the last successful renewal's send time + ttl, so a primary suspended for longer is fenced before
 * its session can expire on the server. A session that ended for certain (expired, replaced by a new
 * one, or ended by the lease deadline above) is reported as
 * {@link io.pgha.spi.DcsListener#leaseLost(String)}. Sessions are told apart by id, not by Curator's
 * state names, since Curator's LOST may be simulated by a timer and may arrive late.
 *
 * <h2>Time bounds</h2>
 * Requests go through the raw ZooKeeper handle asynchronously (Curator's blocking retry loops are
 * not used). Every call completes within {@code retry_timeout}: it waits for a connection, and
 * retries after a lost connection while time is left when repeating it is safe (reads and lease
 * calls, which read the state again first). A compare-and-set cut off by a lost connection is
 * reported as unreachable, since it may or may not have been applied. A server that accepted the
 * connection but stops answering is left for another after half of {@code retry_timeout} (the client
 * alone would wait two thirds of the session timeout), so the session survives a hung server.
 *
 * <h2>Reads and watches</h2>
 * {@code read()} is one multi-read (ZooKeeper serves all reads of a multi at one point of its
 * history) of every key and every member; if the members' child list in the same multi names a
 * member not read, it reads again. The snapshot's revision is the largest zxid among what was read.
 * A server answers reads from its own state, which may lag the leader (on one client handle never
 * behind our own writes); {@code readAuthoritative()} sends {@code sync} first, so its read is no
 * older than the call, whichever server answers. {@code writeRevision()} is the zxid of the
 * session's newest create or {@code setData} (deletes report none and leave it unchanged).
 * {@code watch()} adds one persistent recursive watch on the cluster node (ZooKeeper 3.6+), which
 * reports every change below it by its relative path ({@code leader}, {@code members/n1}) without
 * re-arming; it is added again for a new session, and every reconnection is reported as an unknown
 * change ({@code Optional.empty()}), because events are not replayed for the time away.
 *
 * <h2>Versions</h2>
 * Compare-and-set uses the znode's {@code stat.version}: 0 when created, +1 per write.
 * {@link io.pgha.spi.DcsEntry#ABSENT} means create-if-absent. A key deleted and created again starts
 * at version 0 again, so a writer holding version 0 of the earlier incarnation can overwrite the
 * new one; Patroni on ZooKeeper has the same property.
 *
 * <h2>Logs</h2>
 * An ensemble that cannot be reached is logged once per store as a
 * {@link io.pgha.spi.support.StoreOutage}: one WARN line naming the cause when calls begin to
 * fail, a reminder with the count now and then, one INFO line when a call is answered again. Failures
 * carry one-line messages. A handle closed while no server answers lets go of its connection without
 * {@code closeSession} (nobody would answer it; the server expires the session), so ZooKeeper's client
 * does not log an ERROR for it ({@code ZkHandle}). ZooKeeper's and Curator's own loggers log every
 * reconnection attempt: {@code org.apache.zookeeper.ClientCnxn} with a stack trace at WARN, Curator
 * each connection timeout and simulated session expiry at WARN; an embedder sets
 * {@code org.apache.zookeeper.ClientCnxn} and {@code org.apache.curator} to ERROR and the rest of
 * {@code org.apache.zookeeper} to WARN.
 */
package io.pgha.dcs.zookeeper;
