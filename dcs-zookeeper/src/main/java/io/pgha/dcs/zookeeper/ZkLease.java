package io.pgha.dcs.zookeeper;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsException;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.DcsListeners;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.ZooKeeper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member session's lease on ZooKeeper: the ZooKeeper session its ephemeral znodes (the leader
 * key, the member entry) belong to, and the deadline this module keeps on top of it.
 *
 * <p><b>Whose session.</b> A znode is ours only while its {@code ephemeralOwner} is our
 * <em>current</em> session id, so every lease call notes the session it succeeded on
 * ({@link #call}) and counts only if that session has not ended since (a client that reconnected
 * with a new session must not believe an old node still makes it the leader: CURATOR-696,
 * CURATOR-620). Sessions are told apart by id; the ones that ended are remembered.
 *
 * <p><b>Who keeps it alive.</b> The ZooKeeper client pings the server by itself, so a session
 * outlives an HA loop that stopped calling. The SPI wants the keys gone {@code ttl} after the last
 * renewal, so this lease keeps a deadline of its own ({@code send time of the last successful
 * lease call + ttl}); when it passes without a renewal, the session is ended on the server (its
 * ephemeral nodes vanish at once) or, with a shared client, our ephemeral nodes are deleted. A
 * frozen JVM pings nothing: the server expires the session after the session timeout, which is the
 * ttl. The engine's fence covers both cases: it stops writes before {@code send time + ttl}.
 */
final class ZkLease {
    private static final Logger LOG = LoggerFactory.getLogger(ZkLease.class);
    /** How often a deletion starts over when the nodes change under it. */
    private static final int MAX_ROUNDS = 5;
    private static final int REMEMBERED_SESSIONS = 32;

    private final SessionSpec spec;
    private final ZkConnection conn;
    private final ZkLayout layout;
    private final ScheduledExecutorService timer;
    private final DcsListeners listeners;
    private final String label;
    private final long ttlNanos;
    private final long retryNanos;
    /** Our name as the leader key holds it; null for an observer. */
    private final byte[] nameBytes;

    // guarded by this
    private long leaseSession;
    private long leaseDeadline;
    private final Set<Long> endedSessions = new LinkedHashSet<>();
    private ScheduledFuture<?> leaseTimer;
    private boolean closed;
    private boolean warnedLongSession;

    /** What a lease call found, with the session it was confirmed on (0: not confirmed, the lease did not hold). */
    record Leased<T>(T value, long session) {
    }

    ZkLease(SessionSpec spec, ZkConnection conn, ZkLayout layout, ScheduledExecutorService timer, DcsListeners listeners,
            String label, byte[] nameBytes) {
        this.spec = spec;
        this.conn = conn;
        this.layout = layout;
        this.timer = timer;
        this.listeners = listeners;
        this.label = label;
        this.ttlNanos = spec.ttl().toNanos();
        this.retryNanos = spec.retryTimeout().toNanos();
        this.nameBytes = nameBytes;
    }

    /**
     * A lease-bound call: bounded by retry_timeout, retried on connection trouble (every lease call
     * starts by reading the state again, so repeating it is safe), and counted as a renewal only if
     * the session it succeeded on has not ended since.
     */
    <T> CompletableFuture<Leased<T>> call(String what, ZkConnection.Attempt<T> attempt) {
        long sentAt = System.nanoTime();
        return conn.call(what, sentAt + retryNanos, true, (zk, n) -> {
            checkSessionTimeout(zk);
            long sid = zk.getSessionId();
            return attempt.run(zk, n).thenApply(v -> new Leased<>(v, sid));
        }).thenApply(r -> new Leased<>(r.value(), confirmed(r.session(), sentAt) ? r.session() : 0));
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

    private synchronized boolean confirmed(long sid, long sentAt) {
        if (closed || endedSessions.contains(sid)) {
            return false;
        }
        leaseSession = sid;
        long until = sentAt + ttlNanos;
        if (leaseDeadline == 0 || until - leaseDeadline > 0) {
            leaseDeadline = until;
        }
        if (leaseTimer == null) {
            leaseTimer = timer.schedule(this::deadlinePassed, Math.max(0, leaseDeadline - System.nanoTime()), TimeUnit.NANOSECONDS);
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
    private void deadlinePassed() {
        long ended;
        synchronized (this) {
            leaseTimer = null;
            if (closed || leaseSession == 0) {
                return;
            }
            long now = System.nanoTime();
            if (now - leaseDeadline < 0) {
                leaseTimer = timer.schedule(this::deadlinePassed, leaseDeadline - now, TimeUnit.NANOSECONDS);
                return;
            }
            ended = leaseSession;
            markEnded(ended);
            leaseSession = 0;
            leaseDeadline = 0;
        }
        LOG.warn("{}: no lease renewal within ttl ({} ms); ending the lease so the leader key and member entry go", label,
                spec.ttl().toMillis());
        end(ended);
        listeners.leaseLost("the lease was not renewed within ttl (" + spec.ttl().toMillis() + " ms) and was ended");
    }

    /** The ZooKeeper session {@code sid} is gone for certain (expired, or closed by us): if it held the lease, the lease is lost. */
    void sessionEnded(long sid, String reason) {
        boolean lost;
        synchronized (this) {
            markEnded(sid);
            lost = !closed && sid == leaseSession;
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
            listeners.leaseLost(reason);
        }
    }

    private void end(long sid) {
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
    CompletableFuture<Void> deleteOwnNodes(long sid) {
        if (nameBytes == null) {
            return CompletableFuture.completedFuture(null);
        }
        return conn.call("remove this member's keys", System.nanoTime() + retryNanos, true, (zk, n) -> deleteOwnNodesOnce(zk, sid, 0));
    }

    private CompletableFuture<Void> deleteOwnNodesOnce(ZooKeeper zk, long sid, int round) {
        String leader = layout.key(ClusterKey.LEADER);
        String member = layout.member(spec.memberName());
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

    /**
     * No lease from now on: the deadline timer stops and no call confirms the lease any more.
     * Returns the session that held it (0: none), for the caller to end.
     */
    synchronized long close() {
        closed = true;
        if (leaseTimer != null) {
            leaseTimer.cancel(false);
            leaseTimer = null;
        }
        return leaseSession;
    }
}
