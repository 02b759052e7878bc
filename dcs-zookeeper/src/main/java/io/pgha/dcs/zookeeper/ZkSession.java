package io.pgha.dcs.zookeeper;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.CreateOptions;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member's (or an observer's) view of one cluster on ZooKeeper.
 *
 * <p><b>The lease is a ZooKeeper session.</b> The leader key and the member entry are ephemeral
 * znodes of the session; they are ours only while their {@code ephemeralOwner} is our
 * <em>current</em> session id, which every lease call checks (a client that reconnected with a new
 * session must not believe an old node still makes it the leader: CURATOR-696, CURATOR-620).
 *
 * <p><b>Who keeps it alive.</b> The ZooKeeper client pings the server by itself, so a session
 * outlives an HA loop that stopped calling. The SPI wants the keys gone {@code ttl} after the last
 * renewal, so this session keeps a deadline of its own ({@code send time of the last successful
 * lease call + ttl}); when it passes without a renewal, the session is ended on the server (its
 * ephemeral nodes vanish at once) or, with a shared client, our ephemeral nodes are deleted. A
 * frozen JVM pings nothing: the server expires the session after the session timeout, which is the
 * ttl. The engine's fence covers both cases: it stops writes before {@code send time + ttl}.
 *
 * <p><b>How fresh a read is.</b> A ZooKeeper server answers reads from its own copy of the tree,
 * which may lag the quorum leader by the commits it has not applied yet. On one client handle this
 * never hides our own writes: a server answers a session's requests in the order they were sent,
 * and a server that has seen less than the client refuses its connection (the client sends the
 * last zxid it saw when it connects, also when it moves to another server), so {@link #read()}
 * shows what this session wrote. A new handle starts from nothing, though: after a lapsed lease
 * the connection replaces its client ({@code ZkConnection.endSession}), and the new one may land
 * on a follower that has not applied the old client's last writes yet.
 * {@link #readAuthoritative()} syncs that server with the leader first; {@link #writeRevision()}
 * lets the engine notice that a read is older than its own last write.
 */
final class ZkSession implements DcsSession {
    private static final Logger LOG = LoggerFactory.getLogger(ZkSession.class);
    /** How often a call starts over when the cluster changes under it (another member races us). */
    private static final int MAX_ROUNDS = 5;
    private static final int REMEMBERED_SESSIONS = 32;

    private final SessionSpec spec;
    private final ZkConnection conn;
    private final boolean ownsConnection;
    private final ClusterPaths paths;
    private final List<ACL> acl;
    private final ScheduledExecutorService timer;
    private final Runnable onClose;
    private final String label;
    private final long ttlNanos;
    private final long retryNanos;
    private final byte[] nameBytes;
    private final ZkConnection.Events events = new ConnectionEvents();

    // guarded by this
    private long leaseSession;
    private long leaseDeadline;
    private final Set<Long> endedSessions = new LinkedHashSet<>();
    private ScheduledFuture<?> leaseTimer;
    private boolean closed;
    private boolean warnedLongSession;

    private final Set<Watch> watches = new CopyOnWriteArraySet<>();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    private volatile List<String> knownMembers = List.of();
    /** The largest zxid at which a write of this session took effect, as far as ZooKeeper told (see {@link #writeRevision()}). */
    private final AtomicLong newestWriteZxid = new AtomicLong();

    ZkSession(SessionSpec spec, ZkConnection conn, boolean ownsConnection, String root, List<ACL> acl,
              ScheduledExecutorService timer, Runnable onClose) {
        this.spec = spec;
        this.conn = conn;
        this.ownsConnection = ownsConnection;
        this.paths = new ClusterPaths(root, spec.scope());
        this.acl = acl;
        this.timer = timer;
        this.onClose = onClose;
        this.label = spec.scope() + "/" + spec.member().orElse("(observer)");
        this.ttlNanos = spec.ttl().toNanos();
        this.retryNanos = spec.retryTimeout().toNanos();
        this.nameBytes = spec.member().map(ClusterPaths::encode).orElse(null);
        conn.addListener(events);
    }

    @Override
    public SessionSpec spec() {
        return spec;
    }

    /** For tests in this package: the connection this session talks through. */
    ZkConnection connection() {
        return conn;
    }

    ClusterPaths paths() {
        return paths;
    }

    // ================================================================== reads

    @Override
    public CompletionStage<ClusterSnapshot> read() {
        return finish("read the cluster", conn.call("read the cluster", deadline(), true, (zk, n) -> readOnce(zk, knownMembers, 0)));
    }

    /**
     * {@code sync}, then the same multi-read as {@link #read()}. A server answers reads from its own
     * state, which may lag the leader: a follower has not necessarily applied a write that another
     * client already saw acknowledged through another server, and a session whose client was
     * replaced (after a lapsed lease) may be talking to a server that has not even applied this
     * session's own last writes. {@code sync} makes our server catch up with the leader as of the
     * moment the leader handles it, so the read that follows it is no older than this call. The two
     * are sent one after the other rather than pipelined: this read is rare, and its freshness then
     * rests on nothing but the order of two acknowledged requests. Same time bound, retries and
     * error mapping as {@link #read()}.
     */
    @Override
    public CompletionStage<ClusterSnapshot> readAuthoritative() {
        String what = "read the cluster after a sync with the leader";
        return finish(what, conn.call(what, deadline(), true,
                (zk, n) -> Zk.sync(zk, paths.base).thenCompose(v -> readOnce(zk, knownMembers, 0))));
    }

    /**
     * The zxid of this session's newest write that ZooKeeper reported one for: creates and
     * {@code setData} answer with the node's {@link Stat} (its {@code czxid} / {@code mzxid} is the
     * write's zxid), and the transactions that rebind a node create it with {@code create2}, whose
     * result carries the stat too. Deletes (releasing the leader key, compare-and-delete, deleting
     * the cluster, removing our keys after a lapsed lease) answer with nothing but a result code, so
     * they leave this unchanged: it is a lower bound of where our newest write took effect.
     *
     * <p>The snapshot's revision in {@link #read()} is the largest of the cluster and members nodes'
     * {@code pzxid} (moved by every create and delete of a child) and every read node's
     * {@code mzxid}, so a read that shows one of these writes, or anything after it, has a revision
     * of at least its zxid. (A read of a cluster whose node is gone has revision 0, "unknown".)
     */
    @Override
    public long writeRevision() {
        return newestWriteZxid.get();
    }

    /** A write of ours took effect at {@code zxid}. */
    private void wroteAt(long zxid) {
        newestWriteZxid.accumulateAndGet(zxid, Math::max);
    }

    /** The zxid of the node a transaction created with {@link #createOp}; 0 if the result has no stat. */
    private static long createdZxid(List<OpResult> results) {
        for (OpResult r : results) {
            if (r instanceof OpResult.CreateResult c && c.getStat() != null) {
                return c.getStat().getCzxid();
            }
        }
        return 0;
    }

    /** A create for a transaction that answers with the new node's stat ({@code create2}; plain {@code Op.create} does not). */
    private Op createOp(String path, byte[] data, CreateMode mode) {
        return Op.create(path, data, CreateOptions.newBuilder(acl, mode).build());
    }

    /**
     * One multi-read of the cluster node, the members node, every key and every member we know of.
     * The members' children list comes from the same multi: if it names a member we did not read,
     * the read starts over with the new list, so the snapshot is always one point in the history.
     */
    private CompletableFuture<ClusterSnapshot> readOnce(ZooKeeper zk, List<String> names, int round) {
        List<Op> ops = new ArrayList<>();
        ops.add(Op.getData(paths.base));
        ops.add(Op.getChildren(paths.base));
        ops.add(Op.getData(paths.members));
        ops.add(Op.getChildren(paths.members));
        ClusterKey[] keys = ClusterKey.values();
        for (ClusterKey k : keys) {
            ops.add(Op.getData(paths.key(k)));
        }
        for (String m : names) {
            ops.add(Op.getData(paths.member(m)));
        }
        return Zk.multiRead(zk, ops).thenCompose(results -> {
            OpResult base = results.get(0);
            if (Zk.errorOf(base) == Code.NONODE) {
                knownMembers = List.of();
                return CompletableFuture.completedFuture(ClusterSnapshot.EMPTY);
            }
            failOn(base, paths.base);
            long revision = ((OpResult.GetDataResult) base).getStat().getPzxid();
            List<String> baseChildren = children(results.get(1), paths.base);
            List<String> memberChildren = List.of();
            if (Zk.errorOf(results.get(2)) != Code.NONODE) {
                failOn(results.get(2), paths.members);
                revision = Math.max(revision, ((OpResult.GetDataResult) results.get(2)).getStat().getPzxid());
                memberChildren = children(results.get(3), paths.members);
            }
            if (!names.containsAll(memberChildren)) {
                if (round + 1 >= MAX_ROUNDS) {
                    return CompletableFuture.failedFuture(new DcsException(
                            "ZooKeeper: the member list of " + paths.base + " kept changing while it was read"));
                }
                return readOnce(zk, List.copyOf(new TreeSet<>(memberChildren)), round + 1);
            }
            knownMembers = List.copyOf(new TreeSet<>(memberChildren));
            for (String child : baseChildren) {
                if (!child.equals(ClusterPaths.MEMBERS) && ClusterKey.fromPath(child) == null) {
                    warnOnce("child:" + child, "ZooKeeper: ignoring unknown node {}/{} (not a pgha/Patroni key)", paths.base, child);
                }
            }
            Map<ClusterKey, DcsEntry> keyEntries = new EnumMap<>(ClusterKey.class);
            for (int i = 0; i < keys.length; i++) {
                OpResult r = results.get(4 + i);
                if (Zk.errorOf(r) == Code.NONODE) {
                    continue;
                }
                failOn(r, paths.key(keys[i]));
                OpResult.GetDataResult d = (OpResult.GetDataResult) r;
                revision = Math.max(revision, d.getStat().getMzxid());
                ClusterKey k = keys[i];
                entry(paths.key(k), d).ifPresent(e -> keyEntries.put(k, e));
            }
            Map<String, DcsEntry> members = new HashMap<>();
            for (int i = 0; i < names.size(); i++) {
                OpResult r = results.get(4 + keys.length + i);
                String m = names.get(i);
                if (Zk.errorOf(r) == Code.NONODE || !memberChildren.contains(m)) {
                    continue;
                }
                failOn(r, paths.member(m));
                OpResult.GetDataResult d = (OpResult.GetDataResult) r;
                revision = Math.max(revision, d.getStat().getMzxid());
                entry(paths.member(m), d).ifPresent(e -> members.put(m, e));
            }
            return CompletableFuture.completedFuture(new ClusterSnapshot(revision, keyEntries, members));
        });
    }

    private Optional<DcsEntry> entry(String path, OpResult.GetDataResult d) {
        Optional<String> text = ClusterPaths.decode(d.getData());
        if (text.isEmpty()) {
            warnOnce("bytes:" + path + "@" + d.getStat().getMzxid(),
                    "ZooKeeper: skipping {}: its value is not UTF-8 text ({} bytes)", path, d.getData().length);
            return Optional.empty();
        }
        return Optional.of(new DcsEntry(text.get(), d.getStat().getVersion()));
    }

    private static List<String> children(OpResult r, String path) {
        if (Zk.errorOf(r) == Code.NONODE) {
            return List.of();
        }
        failOn(r, path);
        return ((OpResult.GetChildrenResult) r).getChildren();
    }

    private static void failOn(OpResult r, String path) {
        Code c = Zk.errorOf(r);
        if (c != Code.OK) {
            throw new CompletionException(KeeperException.create(c, path));
        }
    }

    // ================================================================== the lease

    /** What a lease call found, with the session it was confirmed on. */
    private record Leased<T>(T value, long session) {
    }

    /**
     * A lease-bound call: bounded by retry_timeout, retried on connection trouble (every lease call
     * starts by reading the state again, so repeating it is safe), and counted as a renewal only if
     * the session it succeeded on has not ended since.
     */
    private <T> CompletableFuture<Leased<T>> leaseCall(String what, ZkConnection.Attempt<T> attempt) {
        long sentAt = System.nanoTime();
        return conn.call(what, sentAt + retryNanos, true, (zk, n) -> {
            checkSessionTimeout(zk);
            long sid = zk.getSessionId();
            return attempt.run(zk, n).thenApply(v -> new Leased<>(v, sid));
        }).thenApply(r -> new Leased<>(r.value(), leaseConfirmed(r.session(), sentAt) ? r.session() : 0));
    }

    /**
     * The session timeout the server granted must cover the ttl, or the leader key could vanish
     * while the engine still believes in it (the server clamps the requested timeout to
     * [minSessionTimeout, maxSessionTimeout], 2 and 20 ticks by default).
     */
    private void checkSessionTimeout(ZooKeeper zk) {
        int granted = zk.getSessionTimeout();
        long ttlMs = spec.ttl().toMillis();
        if (granted > 0 && granted < ttlMs) {
            throw new DcsException("ZooKeeper granted a session timeout of " + granted + " ms, shorter than the ttl of " + ttlMs
                    + " ms: the leader key could vanish while this member still believes it leads. Raise the servers' "
                    + "maxSessionTimeout (20 x tickTime by default)" + (conn.owned() ? "" : " and the shared client's session timeout")
                    + ", or lower the ttl");
        }
        if (granted > ttlMs) {
            synchronized (this) {
                if (warnedLongSession) {
                    return;
                }
                warnedLongSession = true;
            }
            LOG.warn("{}: ZooKeeper granted a session timeout of {} ms, longer than the ttl of {} ms: the keys of a member "
                    + "whose process dies stay that long (failover is slower, not less safe)", label, granted, ttlMs);
        }
    }

    private synchronized boolean leaseConfirmed(long sid, long sentAt) {
        if (closed || endedSessions.contains(sid)) {
            return false;
        }
        leaseSession = sid;
        long until = sentAt + ttlNanos;
        if (leaseDeadline == 0 || until - leaseDeadline > 0) {
            leaseDeadline = until;
        }
        if (leaseTimer == null) {
            leaseTimer = timer.schedule(this::leaseDeadlinePassed, Math.max(0, leaseDeadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
        return true;
    }

    private void markEnded(long sid) {
        endedSessions.add(sid);
        if (endedSessions.size() > REMEMBERED_SESSIONS) {
            endedSessions.remove(endedSessions.iterator().next());
        }
    }

    /** No renewal for ttl: end the lease as a store-side lease would end. */
    private void leaseDeadlinePassed() {
        long ended;
        synchronized (this) {
            leaseTimer = null;
            if (closed || leaseSession == 0) {
                return;
            }
            long now = System.nanoTime();
            if (now - leaseDeadline < 0) {
                leaseTimer = timer.schedule(this::leaseDeadlinePassed, leaseDeadline - now, TimeUnit.NANOSECONDS);
                return;
            }
            ended = leaseSession;
            markEnded(ended);
            leaseSession = 0;
            leaseDeadline = 0;
        }
        LOG.warn("{}: no lease renewal within ttl ({} ms); ending the lease so the leader key and member entry go", label,
                spec.ttl().toMillis());
        endLease(ended);
        notifyLeaseLost("the lease was not renewed within ttl (" + spec.ttl().toMillis() + " ms) and was ended");
    }

    private void endLease(long sid) {
        if (conn.owned()) {
            conn.endSession(sid);
        } else {
            deleteOwnNodes(sid).whenComplete((v, e) -> {
                if (e != null) {
                    LOG.warn("{}: could not remove this member's keys after the lease ended: {}", label, ZkConnection.describe(e));
                }
            });
        }
    }

    /** With a shared client the session is not ours to end: delete what it holds for us. */
    private CompletableFuture<Void> deleteOwnNodes(long sid) {
        if (nameBytes == null) {
            return CompletableFuture.completedFuture(null);
        }
        return conn.call("remove this member's keys", deadline(), true, (zk, n) -> deleteOwnNodesOnce(zk, sid, 0));
    }

    private CompletableFuture<Void> deleteOwnNodesOnce(ZooKeeper zk, long sid, int round) {
        String leader = paths.key(ClusterKey.LEADER);
        String member = paths.member(spec.memberName());
        return Zk.multiRead(zk, List.of(Op.getData(leader), Op.getData(member))).thenCompose(r -> {
            List<Op> ops = new ArrayList<>();
            if (r.get(0) instanceof OpResult.GetDataResult l && l.getStat().getEphemeralOwner() == sid
                    && Arrays.equals(l.getData(), nameBytes)) {
                ops.add(Op.delete(leader, l.getStat().getVersion()));
            }
            if (r.get(1) instanceof OpResult.GetDataResult m && m.getStat().getEphemeralOwner() == sid) {
                ops.add(Op.delete(member, m.getStat().getVersion()));
            }
            if (ops.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            return Zk.transaction(zk, ops).handle((x, e) -> {
                if (e == null) {
                    return CompletableFuture.<Void>completedFuture(null);
                }
                if ((Zk.is(e, Code.NONODE) || Zk.is(e, Code.BADVERSION)) && round + 1 < MAX_ROUNDS) {
                    return deleteOwnNodesOnce(zk, sid, round + 1);
                }
                return CompletableFuture.<Void>failedFuture(e);
            }).thenCompose(x -> x);
        });
    }

    private void notifyLeaseLost(String reason) {
        for (Watch w : watches) {
            w.leaseLost(reason);
        }
    }

    @Override
    public CompletionStage<Boolean> acquireLeader() {
        requireMember();
        String leader = paths.key(ClusterKey.LEADER);
        CompletableFuture<Leased<Boolean>> f = leaseCall("take the leader key", (zk, attempt) ->
                createWithParents(zk, leader, nameBytes, CreateMode.EPHEMERAL).thenApply(s -> {
                    wroteAt(s.getCzxid());
                    return true;
                }).exceptionallyCompose(e -> {
                    if (!Zk.is(e, Code.NODEEXISTS)) {
                        return CompletableFuture.failedFuture(e);
                    }
                    if (attempt == 0) {
                        return CompletableFuture.completedFuture(false);
                    }
                    // an earlier attempt of this call may have created it before its connection dropped
                    long sid = zk.getSessionId();
                    return Zk.getData(zk, leader).handle((node, e2) -> {
                        boolean ours = e2 == null && node.stat().getEphemeralOwner() == sid && Arrays.equals(node.data(), nameBytes);
                        if (ours) {
                            wroteAt(node.stat().getCzxid());
                        }
                        return ours;
                    });
                }));
        return finish("take the leader key", f.thenApply(r -> r.value() && r.session() != 0));
    }

    @Override
    public CompletionStage<Boolean> renewLeader(Optional<String> status) {
        requireMember();
        Objects.requireNonNull(status, "status");
        CompletableFuture<Leased<Boolean>> f = leaseCall("renew the leader key", (zk, attempt) -> renewOnce(zk, status, 0));
        return finish("renew the leader key", f.thenApply(r -> r.value() && r.session() != 0));
    }

    /**
     * {@code sync} makes the server we talk to catch up with the quorum leader, so the read after it
     * is at least as new as this call; it is also what tells the server our session is alive after
     * the moment the engine noted. Then the leader node must name us and be owned by our current
     * session. A node with our name owned by an older session of ours is rebound in one
     * transaction; an absent one is created.
     */
    private CompletableFuture<Boolean> renewOnce(ZooKeeper zk, Optional<String> status, int round) {
        String leader = paths.key(ClusterKey.LEADER);
        String statusPath = paths.key(ClusterKey.STATUS);
        long sid = zk.getSessionId();
        CompletableFuture<Void> synced = Zk.sync(zk, paths.base);
        CompletableFuture<List<OpResult>> read = Zk.multiRead(zk, List.of(Op.getData(leader), Op.getData(statusPath)));
        return synced.thenCombine(read, (v, r) -> r).thenCompose(r -> {
            OpResult l = r.get(0);
            CompletableFuture<Boolean> owned;
            if (Zk.errorOf(l) == Code.NONODE) {
                owned = createWithParents(zk, leader, nameBytes, CreateMode.EPHEMERAL).thenApply(s -> {
                    wroteAt(s.getCzxid());
                    return true;
                });
            } else {
                failOn(l, leader);
                OpResult.GetDataResult node = (OpResult.GetDataResult) l;
                if (!Arrays.equals(node.getData(), nameBytes)) {
                    return CompletableFuture.completedFuture(false);
                }
                if (node.getStat().getEphemeralOwner() == sid) {
                    owned = CompletableFuture.completedFuture(true);
                } else {
                    LOG.info("{}: the leader key carries our name but belongs to session 0x{}; rebinding it to session 0x{}",
                            label, Long.toHexString(node.getStat().getEphemeralOwner()), Long.toHexString(sid));
                    owned = Zk.transaction(zk, List.of(Op.delete(leader, node.getStat().getVersion()),
                            createOp(leader, nameBytes, CreateMode.EPHEMERAL))).thenApply(results -> {
                                wroteAt(createdZxid(results));
                                return true;
                            });
                }
            }
            return owned.handle((ok, e) -> {
                if (e == null) {
                    return writeStatus(zk, status, r.get(1)).thenApply(x -> true);
                }
                // someone changed the leader node between our read and our write: look again
                if ((Zk.is(e, Code.NODEEXISTS) || Zk.is(e, Code.NONODE) || Zk.is(e, Code.BADVERSION)) && round + 1 < MAX_ROUNDS) {
                    return renewOnce(zk, status, round + 1);
                }
                return CompletableFuture.<Boolean>failedFuture(e);
            }).thenCompose(x -> x);
        });
    }

    /** The leader's status is informational: written only when it changed, and a failure does not fail the renewal. */
    private CompletableFuture<Void> writeStatus(ZooKeeper zk, Optional<String> status, OpResult current) {
        if (status.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        byte[] value = ClusterPaths.encode(status.get());
        String path = paths.key(ClusterKey.STATUS);
        CompletableFuture<Stat> write;
        if (current instanceof OpResult.GetDataResult d) {
            if (Arrays.equals(d.getData(), value)) {
                return CompletableFuture.completedFuture(null);
            }
            write = Zk.setData(zk, path, value, -1);
        } else {
            write = createWithParents(zk, path, value, CreateMode.PERSISTENT).exceptionallyCompose(e ->
                    Zk.is(e, Code.NODEEXISTS) ? Zk.setData(zk, path, value, -1) : CompletableFuture.failedFuture(e));
        }
        return write.handle((stat, e) -> {
            if (e != null) {
                LOG.debug("{}: writing the status failed: {}", label, ZkConnection.describe(e));
            } else {
                wroteAt(stat.getMzxid());
            }
            return null;
        });
    }

    @Override
    public CompletionStage<Boolean> releaseLeader() {
        requireMember();
        String leader = paths.key(ClusterKey.LEADER);
        AtomicBoolean deleteSent = new AtomicBoolean();
        CompletableFuture<Boolean> f = conn.call("release the leader key", deadline(), true,
                (zk, attempt) -> releaseOnce(zk, leader, deleteSent, 0));
        return finish("release the leader key", f);
    }

    private CompletableFuture<Boolean> releaseOnce(ZooKeeper zk, String leader, AtomicBoolean deleteSent,
                                                   int round) {
        CompletableFuture<Void> synced = Zk.sync(zk, paths.base);
        CompletableFuture<Zk.Node> read = Zk.getData(zk, leader);
        return synced.thenCombine(read, (v, n) -> n).handle((node, e) -> {
            if (e != null) {
                // gone: if an earlier attempt of this call sent the delete before its connection dropped,
                // the key was ours when it was sent and it is gone now, which is what release promises
                return Zk.is(e, Code.NONODE) ? CompletableFuture.completedFuture(deleteSent.get())
                        : CompletableFuture.<Boolean>failedFuture(e);
            }
            if (!Arrays.equals(node.data(), nameBytes)) {
                return CompletableFuture.completedFuture(false);
            }
            deleteSent.set(true);
            return Zk.delete(zk, leader, node.stat().getVersion()).handle((x, e2) -> {
                if (e2 == null || Zk.is(e2, Code.NONODE)) {
                    // NONODE: it was ours a moment ago and is gone now (our session's end took it)
                    return CompletableFuture.completedFuture(true);
                }
                if (Zk.is(e2, Code.BADVERSION) && round + 1 < MAX_ROUNDS) {
                    deleteSent.set(false); // refused, so not applied
                    return releaseOnce(zk, leader, deleteSent, round + 1);
                }
                return CompletableFuture.<Boolean>failedFuture(e2);
            }).thenCompose(x -> x);
        }).thenCompose(x -> x);
    }

    @Override
    public CompletionStage<Void> touchMember(String value) {
        requireMember();
        Objects.requireNonNull(value, "value");
        byte[] bytes = ClusterPaths.encode(value);
        String path = paths.member(spec.memberName());
        CompletableFuture<Leased<Void>> f = leaseCall("write the member key", (zk, attempt) -> touchOnce(zk, path, bytes, 0));
        return finish("write the member key", f.thenApply(r -> (Void) null));
    }

    /**
     * The member entry must be an ephemeral node of our current session holding {@code bytes}:
     * written only when it differs, created when absent, and replaced (delete + create in one
     * transaction) when it belongs to an older session.
     */
    private CompletableFuture<Void> touchOnce(ZooKeeper zk, String path, byte[] bytes, int round) {
        long sid = zk.getSessionId();
        return Zk.getData(zk, path).handle((node, e) -> {
            CompletableFuture<Long> write;
            if (e != null) {
                if (!Zk.is(e, Code.NONODE)) {
                    return CompletableFuture.<Void>failedFuture(e);
                }
                write = createWithParents(zk, path, bytes, CreateMode.EPHEMERAL).thenApply(Stat::getCzxid);
            } else if (node.stat().getEphemeralOwner() == sid) {
                if (Arrays.equals(node.data(), bytes)) {
                    return CompletableFuture.<Void>completedFuture(null);
                }
                write = Zk.setData(zk, path, bytes, node.stat().getVersion()).thenApply(Stat::getMzxid);
            } else {
                write = Zk.transaction(zk, List.of(Op.delete(path, node.stat().getVersion()),
                        createOp(path, bytes, CreateMode.EPHEMERAL))).thenApply(ZkSession::createdZxid);
            }
            return write.handle((zxid, e2) -> {
                if (e2 == null) {
                    wroteAt(zxid);
                    return CompletableFuture.<Void>completedFuture(null);
                }
                if ((Zk.is(e2, Code.NODEEXISTS) || Zk.is(e2, Code.NONODE) || Zk.is(e2, Code.BADVERSION)) && round + 1 < MAX_ROUNDS) {
                    return touchOnce(zk, path, bytes, round + 1);
                }
                return CompletableFuture.<Void>failedFuture(e2);
            }).thenCompose(x -> x);
        }).thenCompose(x -> x);
    }

    // ================================================================== compare-and-set

    /**
     * Versions are ZooKeeper's {@code stat.version} of the key's znode: 0 after creation, +1 per
     * write. {@link DcsEntry#ABSENT} (-1) means "create only if absent"; it must never reach
     * ZooKeeper as a version, where -1 means "any version".
     */
    @Override
    public CompletionStage<Boolean> compareAndSet(ClusterKey key, String value, long expectedVersion) {
        requireVersioned(key);
        Objects.requireNonNull(value, "value");
        byte[] bytes = ClusterPaths.encode(value);
        String path = paths.key(key);
        String what = "write " + key.path();
        if (expectedVersion == DcsEntry.ABSENT) {
            return finish(what, conn.call(what, deadline(), false, (zk, n) -> createWithParents(zk, path, bytes, CreateMode.PERSISTENT)
                    .thenApply(s -> {
                        wroteAt(s.getCzxid());
                        return true;
                    })
                    .exceptionallyCompose(e -> Zk.is(e, Code.NODEEXISTS) ? CompletableFuture.completedFuture(false)
                            : CompletableFuture.failedFuture(e))));
        }
        if (expectedVersion < 0 || expectedVersion > Integer.MAX_VALUE) {
            return CompletableFuture.completedFuture(false);
        }
        return finish(what, conn.call(what, deadline(), false, (zk, n) -> Zk.setData(zk, path, bytes, (int) expectedVersion)
                .thenApply(s -> {
                    wroteAt(s.getMzxid());
                    return true;
                })
                .exceptionallyCompose(e -> Zk.is(e, Code.BADVERSION) || Zk.is(e, Code.NONODE) ? CompletableFuture.completedFuture(false)
                        : CompletableFuture.failedFuture(e))));
    }

    @Override
    public CompletionStage<Boolean> compareAndDelete(ClusterKey key, long expectedVersion) {
        requireVersioned(key);
        if (expectedVersion < 0 || expectedVersion > Integer.MAX_VALUE) {
            return CompletableFuture.completedFuture(false);
        }
        String path = paths.key(key);
        String what = "delete " + key.path();
        return finish(what, conn.call(what, deadline(), false, (zk, n) -> Zk.delete(zk, path, (int) expectedVersion)
                .thenApply(s -> true)
                .exceptionallyCompose(e -> Zk.is(e, Code.BADVERSION) || Zk.is(e, Code.NONODE) ? CompletableFuture.completedFuture(false)
                        : CompletableFuture.failedFuture(e))));
    }

    @Override
    public CompletionStage<Void> deleteCluster() {
        return finish("delete the cluster", conn.call("delete the cluster", deadline(), true, (zk, n) -> deleteClusterOnce(zk, 0)));
    }

    /** Every node under the cluster, children before parents, in one transaction; again if the tree changed meanwhile. */
    private CompletableFuture<Void> deleteClusterOnce(ZooKeeper zk, int round) {
        return subtree(zk, paths.base).thenCompose(nodes -> {
            if (nodes.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            List<Op> ops = new ArrayList<>();
            for (String p : nodes) {
                ops.add(Op.delete(p, -1));
            }
            return Zk.transaction(zk, ops).handle((x, e) -> {
                if (e == null) {
                    return CompletableFuture.<Void>completedFuture(null);
                }
                if ((Zk.is(e, Code.NONODE) || Zk.is(e, Code.NOTEMPTY)) && round + 1 < MAX_ROUNDS) {
                    return deleteClusterOnce(zk, round + 1);
                }
                return CompletableFuture.<Void>failedFuture(e);
            }).thenCompose(x -> x);
        });
    }

    private static CompletableFuture<List<String>> subtree(ZooKeeper zk, String path) {
        return Zk.getChildren(zk, path).handle((children, e) -> {
            if (e != null) {
                return Zk.is(e, Code.NONODE) ? CompletableFuture.completedFuture(List.<String>of())
                        : CompletableFuture.<List<String>>failedFuture(e);
            }
            List<CompletableFuture<List<String>>> subs = new ArrayList<>();
            for (String c : children) {
                subs.add(subtree(zk, path + "/" + c));
            }
            return CompletableFuture.allOf(subs.toArray(CompletableFuture[]::new)).thenApply(v -> {
                List<String> out = new ArrayList<>();
                subs.forEach(s -> out.addAll(s.join()));
                out.add(path);
                return out;
            });
        }).thenCompose(x -> x);
    }

    // ================================================================== watches

    /**
     * One persistent recursive watch on the cluster node (ZooKeeper 3.6+): it reports every create,
     * change and delete below it, including the expiry of other sessions' ephemeral nodes, without
     * being re-armed after each event. It survives a reconnect within the session (the client
     * re-registers it); a new session gets it added again, and every (re)connection is reported
     * as an unknown change, since events are not replayed for the time we were away.
     */
    @Override
    public Subscription watch(DcsListener listener) {
        Objects.requireNonNull(listener, "listener");
        Watch w = new Watch(listener);
        synchronized (this) {
            if (closed) {
                return () -> { };
            }
            watches.add(w);
        }
        conn.call("watch the cluster", deadline(), true, (zk, n) -> {
            w.arm(zk);
            return CompletableFuture.completedFuture(null);
        }).whenComplete((v, e) -> {
            if (e != null) {
                LOG.debug("{}: the watch waits for a connection: {}", label, ZkConnection.describe(e));
            }
        });
        return w;
    }

    private final class Watch implements Watcher, Subscription {
        private final DcsListener listener;
        private volatile boolean stopped;
        private volatile ZooKeeper armedOn;

        Watch(DcsListener listener) {
            this.listener = listener;
        }

        void arm(ZooKeeper zk) {
            if (stopped) {
                return;
            }
            armedOn = zk;
            Zk.addWatch(zk, paths.base, this, AddWatchMode.PERSISTENT_RECURSIVE).whenComplete((v, e) -> {
                if (e != null) {
                    LOG.debug("{}: adding the watch failed ({}); it is added again on reconnection", label, ZkConnection.describe(e));
                }
            });
        }

        @Override
        public void process(WatchedEvent event) {
            if (stopped || event.getType() == Event.EventType.None
                    || event.getType() == Event.EventType.PersistentWatchRemoved) {
                return;
            }
            Optional<String> rel = paths.relative(event.getPath());
            if (rel != null) {
                changed(rel);
            }
        }

        void changed(Optional<String> path) {
            if (stopped) {
                return;
            }
            try {
                listener.clusterChanged(path);
            } catch (RuntimeException e) {
                LOG.warn("{}: a cluster listener failed", label, e);
            }
        }

        void leaseLost(String reason) {
            if (stopped) {
                return;
            }
            try {
                listener.leaseLost(reason);
            } catch (RuntimeException e) {
                LOG.warn("{}: a lease listener failed", label, e);
            }
        }

        @Override
        public void close() {
            if (stopped) {
                return;
            }
            stopped = true;
            watches.remove(this);
            ZooKeeper zk = armedOn;
            if (zk != null && zk.getState().isAlive()) {
                try {
                    zk.removeWatches(paths.base, this, WatcherType.PersistentRecursive, true, (rc, p, ctx) -> { }, null);
                } catch (RuntimeException e) {
                    LOG.debug("{}: removing the watch failed: {}", label, e.toString());
                }
            }
        }
    }

    private final class ConnectionEvents implements ZkConnection.Events {
        @Override
        public void connected(ZooKeeper zk, boolean newSession) {
            for (Watch w : watches) {
                w.arm(zk);
                w.changed(Optional.empty());
            }
        }

        @Override
        public void sessionEnded(long sessionId, String reason) {
            boolean lost;
            synchronized (ZkSession.this) {
                markEnded(sessionId);
                lost = !closed && sessionId == leaseSession;
                if (lost) {
                    leaseSession = 0;
                    leaseDeadline = 0;
                    if (leaseTimer != null) {
                        leaseTimer.cancel(false);
                        leaseTimer = null;
                    }
                }
            }
            if (lost) {
                notifyLeaseLost(reason);
            }
        }
    }

    // ================================================================== closing

    /**
     * Ends the lease now: an owned client closes its session (the server deletes the leader key, if
     * still ours, and the member entry at once); with a shared client our ephemeral nodes are
     * deleted. Waits at most retry_timeout.
     */
    @Override
    public void close() {
        long sid;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (leaseTimer != null) {
                leaseTimer.cancel(false);
                leaseTimer = null;
            }
            sid = leaseSession;
        }
        for (Watch w : watches) {
            w.close();
        }
        conn.removeListener(events);
        try {
            if (ownsConnection) {
                conn.close(spec.retryTimeout());
            } else if (nameBytes != null) {
                long current = sid != 0 ? sid : conn.connectedSessionId();
                if (current != 0) {
                    deleteOwnNodes(current).get(retryNanos + TimeUnit.MILLISECONDS.toNanos(100), TimeUnit.NANOSECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.debug("{}: closing: {}", label, ZkConnection.describe(e));
        } finally {
            onClose.run();
        }
    }

    // ================================================================== helpers

    private long deadline() {
        return System.nanoTime() + retryNanos;
    }

    private void requireMember() {
        if (nameBytes == null) {
            throw new IllegalStateException("an observer session cannot hold a lease");
        }
    }

    private static void requireVersioned(ClusterKey key) {
        Objects.requireNonNull(key, "key");
        if (key == ClusterKey.LEADER || key == ClusterKey.STATUS) {
            throw new IllegalArgumentException(key + " is written only through the lease methods");
        }
    }

    private CompletableFuture<Stat> createWithParents(ZooKeeper zk, String path, byte[] data, CreateMode mode) {
        return Zk.create(zk, path, data, acl, mode).exceptionallyCompose(e -> Zk.is(e, Code.NONODE)
                ? ensureParents(zk, path).thenCompose(v -> Zk.create(zk, path, data, acl, mode))
                : CompletableFuture.failedFuture(e));
    }

    /** Creates every missing ancestor of {@code path} (empty persistent nodes, as Patroni's makepath does). */
    private CompletableFuture<Void> ensureParents(ZooKeeper zk, String path) {
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        for (int i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) {
            String parent = path.substring(0, i);
            chain = chain.thenCompose(v -> Zk.create(zk, parent, new byte[0], acl, CreateMode.PERSISTENT)
                    .handle((s, e) -> {
                        if (e != null && !Zk.is(e, Code.NODEEXISTS)) {
                            throw new CompletionException(Zk.unwrap(e));
                        }
                        return null;
                    }));
        }
        return chain;
    }

    /**
     * The caller sees only the SPI's exceptions: unreachable for anything that leaves the outcome
     * open, {@link DcsException} for a refusal (no permission, a bad ACL) with the path but no
     * secret in the message.
     */
    private static <T> CompletableFuture<T> finish(String what, CompletableFuture<T> f) {
        return f.handle((v, e) -> {
            if (e == null) {
                return CompletableFuture.completedFuture(v);
            }
            Throwable c = Zk.unwrap(e);
            if (c instanceof DcsException || c instanceof IllegalArgumentException || c instanceof IllegalStateException) {
                return CompletableFuture.<T>failedFuture(c);
            }
            if (Zk.isConnectionProblem(c)) {
                return CompletableFuture.<T>failedFuture(new DcsUnreachableException("ZooKeeper: " + what + ": " + ZkConnection.describe(c), c));
            }
            if (c instanceof KeeperException k) {
                return CompletableFuture.<T>failedFuture(new DcsException("ZooKeeper refused to " + what + ": " + k.getMessage(), k));
            }
            return CompletableFuture.<T>failedFuture(new DcsException("ZooKeeper: " + what + " failed: " + ZkConnection.describe(c), c));
        }).thenCompose(x -> x);
    }

    private void warnOnce(String key, String format, Object... args) {
        if (warned.size() < 1000 && warned.add(key)) {
            LOG.warn(format, args);
        }
    }

    @Override
    public String toString() {
        return "ZkSession[" + label + "]";
    }
}
