package io.pgha.dcs.zookeeper;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import io.pgha.spi.support.DcsListeners;
import io.pgha.spi.support.SessionChecks;
import io.pgha.spi.support.SnapshotBuilder;
import io.pgha.spi.support.StrictUtf8;
import io.pgha.spi.support.WarnOnce;
import io.pgha.spi.support.WriteRevision;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member's (or an observer's) view of one cluster on ZooKeeper.
 *
 * <p><b>The lease is a ZooKeeper session</b>, kept by a {@link ZkLease}: the leader key and the
 * member entry are ephemeral znodes of it, ours only while their {@code ephemeralOwner} is our
 * <em>current</em> session id, which every lease call checks. The watches are {@link ZkWatch}es.
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

    private final SessionSpec spec;
    private final ZkConnection conn;
    private final boolean ownsConnection;
    private final ZkLayout layout;
    private final List<ACL> acl;
    private final Runnable onClose;
    private final String label;
    private final long retryNanos;
    private final byte[] nameBytes;
    private final DcsListeners listeners = new DcsListeners();
    private final ZkLease lease;
    private final ZkConnection.Events events = new ConnectionEvents();

    // guarded by this
    private boolean closed;

    private final Set<ZkWatch> watches = new CopyOnWriteArraySet<>();
    private final WarnOnce warnings = new WarnOnce(LOG, 1000);
    private volatile List<String> knownMembers = List.of();
    /** The largest zxid at which a write of this session took effect, as far as ZooKeeper told (see {@link #writeRevision()}). */
    private final WriteRevision newestWriteZxid = new WriteRevision();

    ZkSession(SessionSpec spec, ZkConnection conn, boolean ownsConnection, String root, List<ACL> acl,
              ScheduledExecutorService timer, Runnable onClose) {
        this.spec = spec;
        this.conn = conn;
        this.ownsConnection = ownsConnection;
        this.layout = new ZkLayout(root, spec.scope());
        this.acl = acl;
        this.onClose = onClose;
        this.label = spec.scope() + "/" + spec.member().orElse("(observer)");
        this.retryNanos = spec.retryTimeout().toNanos();
        this.nameBytes = spec.member().map(StrictUtf8::encode).orElse(null);
        this.lease = new ZkLease(spec, conn, layout, timer, listeners, label, nameBytes);
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

    // ================================================================== reads

    @Override
    public CompletionStage<ClusterSnapshot> read() {
        return Zk.withSpiErrors("read the cluster", conn.call("read the cluster", deadline(), true, (zk, n) -> readOnce(zk, knownMembers, 0)));
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
        return Zk.withSpiErrors(what, conn.call(what, deadline(), true,
                (zk, n) -> Zk.sync(zk, layout.base).thenCompose(v -> readOnce(zk, knownMembers, 0))));
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
        newestWriteZxid.wrote(zxid);
    }

    /**
     * One multi-read of the cluster node, the members node, every key and every member we know of.
     * The members' children list comes from the same multi: if it names a member we did not read,
     * the read starts over with the new list, so the snapshot is always one point in the history.
     */
    private CompletableFuture<ClusterSnapshot> readOnce(ZooKeeper zk, List<String> names, int round) {
        List<Op> ops = new ArrayList<>();
        ops.add(Op.getData(layout.base));
        ops.add(Op.getChildren(layout.base));
        ops.add(Op.getData(layout.members));
        ops.add(Op.getChildren(layout.members));
        ClusterKey[] keys = ClusterKey.values();
        for (ClusterKey k : keys) {
            ops.add(Op.getData(layout.key(k)));
        }
        for (String m : names) {
            ops.add(Op.getData(layout.member(m)));
        }
        return Zk.multiRead(zk, ops).thenCompose(results -> {
            OpResult base = results.get(0);
            if (Zk.errorOf(base) == Code.NONODE) {
                knownMembers = List.of();
                return CompletableFuture.completedFuture(ClusterSnapshot.EMPTY);
            }
            failOn(base, layout.base);
            long revision = ((OpResult.GetDataResult) base).getStat().getPzxid();
            List<String> baseChildren = children(results.get(1), layout.base);
            List<String> memberChildren = List.of();
            if (Zk.errorOf(results.get(2)) != Code.NONODE) {
                failOn(results.get(2), layout.members);
                revision = Math.max(revision, ((OpResult.GetDataResult) results.get(2)).getStat().getPzxid());
                memberChildren = children(results.get(3), layout.members);
            }
            if (!names.containsAll(memberChildren)) {
                if (round + 1 >= MAX_ROUNDS) {
                    return CompletableFuture.failedFuture(new DcsException(
                            "ZooKeeper: the member list of " + layout.base + " kept changing while it was read"));
                }
                return readOnce(zk, List.copyOf(new TreeSet<>(memberChildren)), round + 1);
            }
            knownMembers = List.copyOf(new TreeSet<>(memberChildren));
            for (String child : baseChildren) {
                if (!child.equals(ZkLayout.MEMBERS) && ClusterKey.fromPath(child) == null) {
                    warnings.warn("child:" + child, "ZooKeeper: ignoring unknown node {}/{} (not a pgha/Patroni key)", layout.base, child);
                }
            }
            SnapshotBuilder snapshot = new SnapshotBuilder();
            for (int i = 0; i < keys.length; i++) {
                OpResult r = results.get(4 + i);
                if (Zk.errorOf(r) == Code.NONODE) {
                    continue;
                }
                failOn(r, layout.key(keys[i]));
                OpResult.GetDataResult d = (OpResult.GetDataResult) r;
                revision = Math.max(revision, d.getStat().getMzxid());
                add(snapshot, keys[i].path(), layout.key(keys[i]), d);
            }
            for (int i = 0; i < names.size(); i++) {
                OpResult r = results.get(4 + keys.length + i);
                String m = names.get(i);
                if (Zk.errorOf(r) == Code.NONODE || !memberChildren.contains(m)) {
                    continue;
                }
                failOn(r, layout.member(m));
                OpResult.GetDataResult d = (OpResult.GetDataResult) r;
                revision = Math.max(revision, d.getStat().getMzxid());
                add(snapshot, ClusterKey.MEMBERS_PREFIX + m, layout.member(m), d);
            }
            return CompletableFuture.completedFuture(snapshot.build(revision));
        });
    }

    /** One node's value into the snapshot, skipped with a warning when it is not UTF-8 text. */
    private void add(SnapshotBuilder snapshot, String relativePath, String path, OpResult.GetDataResult d) {
        if (snapshot.add(relativePath, d.getData(), d.getStat().getVersion()) == SnapshotBuilder.Placement.NOT_TEXT) {
            warnings.warn("bytes:" + path + "@" + d.getStat().getMzxid(),
                    "ZooKeeper: skipping {}: its value is not UTF-8 text ({} bytes)", path, d.getData().length);
        }
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

    // ================================================================== the leader key and the member entry

    @Override
    public CompletionStage<Boolean> acquireLeader() {
        SessionChecks.requireMember(spec);
        String leader = layout.key(ClusterKey.LEADER);
        CompletableFuture<ZkLease.Leased<Boolean>> f = lease.call("take the leader key", (zk, attempt) ->
                Zk.createWithParents(zk, leader, nameBytes, acl, CreateMode.EPHEMERAL).thenApply(s -> {
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
        return Zk.withSpiErrors("take the leader key", f.thenApply(r -> r.value() && r.session() != 0));
    }

    @Override
    public CompletionStage<Boolean> renewLeader(Optional<String> status) {
        SessionChecks.requireMember(spec);
        Objects.requireNonNull(status, "status");
        CompletableFuture<ZkLease.Leased<Boolean>> f = lease.call("renew the leader key", (zk, attempt) -> renewOnce(zk, status, 0));
        return Zk.withSpiErrors("renew the leader key", f.thenApply(r -> r.value() && r.session() != 0));
    }

    /**
     * {@code sync} makes the server we talk to catch up with the quorum leader, so the read after it
     * is at least as new as this call; it is also what tells the server our session is alive after
     * the moment the engine noted. Then the leader node must name us and be owned by our current
     * session. A node with our name owned by an older session of ours is rebound in one
     * transaction; an absent one is created.
     */
    private CompletableFuture<Boolean> renewOnce(ZooKeeper zk, Optional<String> status, int round) {
        String leader = layout.key(ClusterKey.LEADER);
        String statusPath = layout.key(ClusterKey.STATUS);
        long sid = zk.getSessionId();
        CompletableFuture<Void> synced = Zk.sync(zk, layout.base);
        CompletableFuture<List<OpResult>> read = Zk.multiRead(zk, List.of(Op.getData(leader), Op.getData(statusPath)));
        return synced.thenCombine(read, (v, r) -> r).thenCompose(r -> {
            OpResult l = r.get(0);
            CompletableFuture<Boolean> owned;
            if (Zk.errorOf(l) == Code.NONODE) {
                owned = Zk.createWithParents(zk, leader, nameBytes, acl, CreateMode.EPHEMERAL).thenApply(s -> {
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
                            Zk.createOp(leader, nameBytes, acl, CreateMode.EPHEMERAL))).thenApply(results -> {
                                wroteAt(Zk.createdZxid(results));
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
        byte[] value = StrictUtf8.encode(status.get());
        String path = layout.key(ClusterKey.STATUS);
        CompletableFuture<Stat> write;
        if (current instanceof OpResult.GetDataResult d) {
            if (Arrays.equals(d.getData(), value)) {
                return CompletableFuture.completedFuture(null);
            }
            write = Zk.setData(zk, path, value, -1);
        } else {
            write = Zk.createWithParents(zk, path, value, acl, CreateMode.PERSISTENT).exceptionallyCompose(e ->
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
        SessionChecks.requireMember(spec);
        String leader = layout.key(ClusterKey.LEADER);
        AtomicBoolean deleteSent = new AtomicBoolean();
        CompletableFuture<Boolean> f = conn.call("release the leader key", deadline(), true,
                (zk, attempt) -> releaseOnce(zk, leader, deleteSent, 0));
        return Zk.withSpiErrors("release the leader key", f);
    }

    private CompletableFuture<Boolean> releaseOnce(ZooKeeper zk, String leader, AtomicBoolean deleteSent,
                                                   int round) {
        CompletableFuture<Void> synced = Zk.sync(zk, layout.base);
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
        SessionChecks.requireMember(spec);
        Objects.requireNonNull(value, "value");
        byte[] bytes = StrictUtf8.encode(value);
        String path = layout.member(spec.memberName());
        CompletableFuture<ZkLease.Leased<Void>> f = lease.call("write the member key", (zk, attempt) -> touchOnce(zk, path, bytes, 0));
        return Zk.withSpiErrors("write the member key", f.thenApply(r -> (Void) null));
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
                write = Zk.createWithParents(zk, path, bytes, acl, CreateMode.EPHEMERAL).thenApply(Stat::getCzxid);
            } else if (node.stat().getEphemeralOwner() == sid) {
                if (Arrays.equals(node.data(), bytes)) {
                    return CompletableFuture.<Void>completedFuture(null);
                }
                write = Zk.setData(zk, path, bytes, node.stat().getVersion()).thenApply(Stat::getMzxid);
            } else {
                write = Zk.transaction(zk, List.of(Op.delete(path, node.stat().getVersion()),
                        Zk.createOp(path, bytes, acl, CreateMode.EPHEMERAL))).thenApply(Zk::createdZxid);
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
        SessionChecks.requireVersioned(key);
        Objects.requireNonNull(value, "value");
        byte[] bytes = StrictUtf8.encode(value);
        String path = layout.key(key);
        String what = "write " + key.path();
        if (expectedVersion == DcsEntry.ABSENT) {
            return Zk.withSpiErrors(what, conn.call(what, deadline(), false, (zk, n) -> Zk.createWithParents(zk, path, bytes, acl, CreateMode.PERSISTENT)
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
        return Zk.withSpiErrors(what, conn.call(what, deadline(), false, (zk, n) -> Zk.setData(zk, path, bytes, (int) expectedVersion)
                .thenApply(s -> {
                    wroteAt(s.getMzxid());
                    return true;
                })
                .exceptionallyCompose(e -> Zk.is(e, Code.BADVERSION) || Zk.is(e, Code.NONODE) ? CompletableFuture.completedFuture(false)
                        : CompletableFuture.failedFuture(e))));
    }

    @Override
    public CompletionStage<Boolean> compareAndDelete(ClusterKey key, long expectedVersion) {
        SessionChecks.requireVersioned(key);
        if (expectedVersion < 0 || expectedVersion > Integer.MAX_VALUE) {
            return CompletableFuture.completedFuture(false);
        }
        String path = layout.key(key);
        String what = "delete " + key.path();
        return Zk.withSpiErrors(what, conn.call(what, deadline(), false, (zk, n) -> Zk.delete(zk, path, (int) expectedVersion)
                .thenApply(s -> true)
                .exceptionallyCompose(e -> Zk.is(e, Code.BADVERSION) || Zk.is(e, Code.NONODE) ? CompletableFuture.completedFuture(false)
                        : CompletableFuture.failedFuture(e))));
    }

    @Override
    public CompletionStage<Void> deleteCluster() {
        return Zk.withSpiErrors("delete the cluster", conn.call("delete the cluster", deadline(), true, (zk, n) -> deleteClusterOnce(zk, 0)));
    }

    /** Every node under the cluster, children before parents, in one transaction; again if the tree changed meanwhile. */
    private CompletableFuture<Void> deleteClusterOnce(ZooKeeper zk, int round) {
        return subtree(zk, layout.base).thenCompose(nodes -> {
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
     * One persistent recursive watch on the cluster node ({@link ZkWatch}). It survives a reconnect
     * within the session (the client re-registers it); a new session gets it added again, and every
     * (re)connection is reported as an unknown change, since events are not replayed for the time
     * we were away.
     */
    @Override
    public Subscription watch(DcsListener listener) {
        Objects.requireNonNull(listener, "listener");
        ZkWatch w;
        synchronized (this) {
            if (closed) {
                return () -> { };
            }
            w = new ZkWatch(layout, label, listeners.add(listener), watches::remove);
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

    private final class ConnectionEvents implements ZkConnection.Events {
        @Override
        public void connected(ZooKeeper zk, boolean newSession) {
            for (ZkWatch w : watches) {
                w.arm(zk);
                w.changed(Optional.empty());
            }
        }

        @Override
        public void sessionEnded(long sessionId, String reason) {
            lease.sessionEnded(sessionId, reason);
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
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        long sid = lease.close();
        for (ZkWatch w : watches) {
            w.close();
        }
        listeners.closeAll();
        conn.removeListener(events);
        try {
            if (ownsConnection) {
                conn.close(spec.retryTimeout());
            } else if (nameBytes != null) {
                long current = sid != 0 ? sid : conn.connectedSessionId();
                if (current != 0) {
                    lease.deleteOwnNodes(current).get(retryNanos + TimeUnit.MILLISECONDS.toNanos(100), TimeUnit.NANOSECONDS);
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

    @Override
    public String toString() {
        return "ZkSession[" + label + "]";
    }
}
