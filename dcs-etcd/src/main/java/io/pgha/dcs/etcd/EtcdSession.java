package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Response;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.pgha.dcs.etcd.Calls.Budget;
import io.pgha.dcs.etcd.Calls.Retry;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member's session: one etcd lease (TTL = {@code ttl}, rounded up to whole seconds) that binds
 * the leader key and the member entry.
 *
 * <p>The lease is created by the first lease-bound call and refreshed only by the engine's calls
 * ({@code keepAliveOnce} in {@link #acquireLeader}, {@link #renewLeader}, {@link #touchMember}),
 * never by jetcd's background keep-alive stream: a node whose loop is dead must lose its keys, and
 * that stream ends quietly through {@code onCompleted} when a lease lapses (jetcd #965, #1383).
 * A keep-alive answered with TTL 0 / "lease not found" means the lease is gone for certain: the
 * listeners hear {@link DcsListener#leaseLost} and the next call grants a new lease.
 *
 * <p>A member session with a watch keeps a {@link WatchCache}: its reads, and the renewals that
 * change nothing, are then answered from what the watch delivered, whenever the cache is provably
 * as new as the store (see there). An idle member then sends one keep-alive per cycle.
 */
final class EtcdSession implements DcsSession {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdSession.class);
    /** A renewal that keeps finding the leader key changed under it gives up after this many rounds. */
    private static final int MAX_RENEW_ROUNDS = 5;

    private final EtcdDcs dcs;
    private final SessionSpec spec;
    private final Keys keys;
    private final Calls calls;
    private final Client client;
    private final Duration attempt;
    private final long ttlSeconds;
    private final Optional<ByteSequence> me;
    private final List<ClusterWatch> watches = new CopyOnWriteArrayList<>();
    /** Null for an observer, or when the Dcs was built without cached reads. */
    private final WatchCache cache;
    /**
     * The header revision of this session's newest write that took effect (see
     * {@link #writeRevision()}); a max, so answers arriving out of order never move it back.
     */
    private final AtomicLong writeRevision = new AtomicLong();

    // guarded by this
    private long leaseId;
    private CompletableFuture<Long> granting;
    /** mod_revision of the leader key as this session last wrote or confirmed it under {@link #leaseId}; 0: unknown. */
    private long leaderRevision;
    /** The status last written while holding the key at {@link #leaderRevision}; null: unknown. */
    private String statusWritten;
    private String memberValue;
    private long memberLease;
    private boolean closed;
    /** The watch that keeps {@link #cache} up to date: the first one opened. */
    private ClusterWatch cacheFeeder;

    EtcdSession(EtcdDcs dcs, SessionSpec spec, Keys keys, Calls calls, Client client, Duration attempt, boolean cachedReads) {
        this.dcs = dcs;
        this.spec = spec;
        this.keys = keys;
        this.calls = calls;
        this.client = client;
        this.attempt = attempt;
        // etcd leases count whole seconds; rounding up keeps the keys alive at least ttl, never less,
        // so a leader that believes in its lease until start + ttl is never wrong.
        this.ttlSeconds = Math.max(1, (spec.ttl().toMillis() + 999) / 1000);
        this.me = spec.member().map(Keys::utf8);
        // Only a member keeps a cache: its keep-alive every cycle is what proves the cache current.
        this.cache = cachedReads && me.isPresent() ? new WatchCache(spec.ttl().toNanos(), System::nanoTime, calls) : null;
    }

    @Override
    public SessionSpec spec() {
        return spec;
    }

    // ================================================================== reads

    @Override
    public CompletionStage<ClusterSnapshot> read() {
        if (cache != null) {
            Optional<ClusterSnapshot> now = cachedSnapshot();
            synchronized (this) {
                if (now.isPresent() && !closed) {
                    return CompletableFuture.completedFuture(now.get());
                }
            }
            // The cache is behind the newest revision this session has seen: a change is on its
            // way through the watch, or (in an etcd shared with other clusters) the revision moved
            // without events under our prefix. Waiting briefly for the watch is cheaper than a read;
            // after that, read. No progress report is asked for: see WatchCache.
            return call("read the cluster", b -> cache.caughtUp().thenCompose(ok -> {
                Optional<ClusterSnapshot> v = ok ? cachedSnapshot() : Optional.empty();
                return v.isPresent() ? CompletableFuture.completedFuture(v.get()) : readDirectly(b);
            }));
        }
        return call("read the cluster", this::readDirectly);
    }

    /** A range request to etcd, never the cache; it refills the cache (see {@link #readDirectly}). */
    @Override
    public CompletionStage<ClusterSnapshot> readAuthoritative() {
        return call("read the cluster from etcd", this::readDirectly);
    }

    /**
     * One range request for the whole prefix, linearizable (jetcd's default: etcd answers it
     * through its raft leader, as of a revision no older than the call). It also reseeds the cache,
     * which repairs a cache that had gone wrong. When the cache refuses the seed because its watch
     * already delivered changes newer than this read, the read is still the answer: it is etcd's
     * own view as of a moment after the call began, and the cache, which stays as it was, only
     * answers later reads once it has caught up with every revision this session has seen.
     */
    private CompletableFuture<ClusterSnapshot> readDirectly(Budget b) {
        return send(b, Retry.SAFE, n -> client.getKVClient().get(keys.prefixBytes(), GetOption.builder().isPrefix(true).build()))
                .thenApply(r -> {
                    if (cache != null) {
                        cache.seed(r.getHeader().getRevision(), r.getKvs());
                    }
                    return snapshot(r.getHeader().getRevision(), r.getKvs());
                });
    }

    @Override
    public long writeRevision() {
        return writeRevision.get();
    }

    /** A write of this session took effect at {@code revision}. */
    private void wrote(long revision) {
        writeRevision.accumulateAndGet(revision, Math::max);
    }

    private Optional<ClusterSnapshot> cachedSnapshot() {
        return cache.view().map(v -> snapshot(v.revision(), v.kvs()));
    }

    /** Whether a read now would be answered from the watch cache (for tests). */
    boolean readsFromCache() {
        return cache != null && cache.view().isPresent();
    }

    private ClusterSnapshot snapshot(long revision, List<KeyValue> kvs) {
        Map<ClusterKey, DcsEntry> known = new EnumMap<>(ClusterKey.class);
        Map<String, DcsEntry> members = new HashMap<>();
        for (KeyValue kv : kvs) {
            Optional<String> path = keys.relative(kv.getKey());
            if (path.isEmpty()) {
                dcs.warnOnce(keys.prefix() + "<non-UTF-8 key>", "a key under " + keys.prefix()
                        + " has a name that is not UTF-8; it is ignored");
                continue;
            }
            String p = path.get();
            Optional<String> value = Keys.decode(kv.getValue().getBytes());
            if (value.isEmpty()) {
                dcs.warnOnce(keys.prefix() + p, "the value of " + keys.prefix() + p
                        + " is not UTF-8 text; it is left out of the cluster view");
                continue;
            }
            DcsEntry entry = new DcsEntry(value.get(), kv.getModRevision());
            if (p.startsWith(ClusterKey.MEMBERS_PREFIX)) {
                String name = p.substring(ClusterKey.MEMBERS_PREFIX.length());
                if (!name.isEmpty() && name.indexOf('/') < 0) {
                    members.put(name, entry);
                    continue;
                }
            } else {
                ClusterKey k = ClusterKey.fromPath(p);
                if (k != null) {
                    known.put(k, entry);
                    continue;
                }
            }
            dcs.warnOnce(keys.prefix() + p, "ignoring " + keys.prefix() + p + ": not a key of pgha's (Patroni's) layout");
        }
        return new ClusterSnapshot(revision, known, members);
    }

    // ================================================================== the leader key

    @Override
    public CompletionStage<Boolean> acquireLeader() {
        ByteSequence name = requireMember();
        return call("acquire the leader key", b -> withLease(b, lease -> {
            ByteSequence leader = keys.key(ClusterKey.LEADER);
            return calls.attempt(b, Retry.SAFE, n -> client.getKVClient().txn()
                    .If(new Cmp(leader, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                    .Then(Op.put(leader, name, PutOption.builder().withLeaseId(lease).build()))
                    .Else(Op.get(leader, GetOption.DEFAULT))
                    .commit()
                    .thenApply(r -> {
                        answered(r);
                        if (r.isSucceeded()) {
                            wrote(r.getHeader().getRevision());
                            confirmedLeader(lease, r.getHeader().getRevision(), Optional.empty());
                            return true;
                        }
                        // A retry after a try whose outcome was unknown: if that try created the
                        // key, it holds our name under our lease now. On a first try the key
                        // existed before, whoever it names, and the answer is "no".
                        Optional<KeyValue> kv = single(r);
                        if (n > 0 && kv.isPresent() && kv.get().getValue().equals(name) && kv.get().getLease() == lease) {
                            wrote(kv.get().getModRevision()); // where that earlier try took effect
                            confirmedLeader(lease, kv.get().getModRevision(), Optional.empty());
                            return true;
                        }
                        return false;
                    }));
        }));
    }

    @Override
    public CompletionStage<Boolean> renewLeader(Optional<String> status) {
        ByteSequence name = requireMember();
        Objects.requireNonNull(status, "status");
        // Like Patroni, the status is written only when it changed: an unchanged one would cost a
        // raft write and a watch event to every member each cycle, while the renewal itself is then
        // a read-only transaction.
        return call("renew the leader key", b -> withLease(b, lease -> {
            long known = knownLeaderRevision(lease);
            Optional<String> changed = known == 0 ? status : status.filter(st -> !st.equals(writtenStatus(lease)));
            if (changed.isEmpty() && known != 0 && stillOursInCache(name, lease, known)) {
                // The keep-alive just refreshed the lease, and the watch shows the key unchanged
                // since we wrote it, bound to that lease, as of the keep-alive's revision: the
                // read-only transaction would prove nothing more.
                return CompletableFuture.completedFuture(true);
            }
            return renewRound(b, name, lease, changed, status, known, 0);
        }));
    }

    private boolean stillOursInCache(ByteSequence name, long lease, long revision) {
        if (cache == null) {
            return false;
        }
        Optional<KeyValue> kv = cache.get(keys.key(ClusterKey.LEADER)).orElse(Optional.empty());
        return kv.isPresent() && kv.get().getModRevision() == revision && kv.get().getLease() == lease
                && kv.get().getValue().equals(name);
    }

    /**
     * One round of the renewal transaction. With a known revision: "if the leader key is still the
     * one we wrote (same mod_revision, so same value and same lease), write the status". Without:
     * "create the key if absent". Otherwise the key is read back in the same transaction and the
     * next round decides: another name means leadership is lost; our name under another lease (we
     * restarted, or the lease was re-granted) is rebound with a compare on its mod_revision.
     * Every round is safe to repeat, so an unknown outcome is simply tried again.
     */
    private CompletableFuture<Boolean> renewRound(Budget b, ByteSequence name, long lease, Optional<String> status,
                                                  Optional<String> fullStatus, long expected, int round) {
        if (round >= MAX_RENEW_ROUNDS) {
            return CompletableFuture.failedFuture(new DcsException("the leader key kept changing while renewing it"));
        }
        ByteSequence leader = keys.key(ClusterKey.LEADER);
        List<Op> then = new ArrayList<>();
        Cmp cmp;
        if (expected == 0) {
            cmp = new Cmp(leader, Cmp.Op.EQUAL, CmpTarget.createRevision(0));
            then.add(Op.put(leader, name, PutOption.builder().withLeaseId(lease).build()));
        } else {
            cmp = new Cmp(leader, Cmp.Op.EQUAL, CmpTarget.modRevision(expected));
        }
        status.ifPresent(s -> then.add(Op.put(keys.key(ClusterKey.STATUS), Keys.utf8(s), PutOption.DEFAULT)));
        return send(b, Retry.SAFE, n -> client.getKVClient().txn()
                        .If(cmp)
                        .Then(then.toArray(new Op[0]))
                        .Else(Op.get(leader, GetOption.DEFAULT))
                        .commit())
                .thenCompose(r -> {
                    if (!r.isSucceeded()) {
                        return mismatch(b, name, lease, fullStatus, single(r), round);
                    }
                    if (!then.isEmpty()) {
                        // a round that only compared wrote nothing and leaves writeRevision where it was
                        wrote(r.getHeader().getRevision());
                    }
                    return CompletableFuture.completedFuture(confirmedLeader(lease, expected == 0 ? r.getHeader().getRevision() : expected, status));
                });
    }

    /** The leader key was not as expected; {@code current} is what it holds now. */
    private CompletableFuture<Boolean> mismatch(Budget b, ByteSequence name, long lease, Optional<String> status,
                                                Optional<KeyValue> current, int round) {
        if (round >= MAX_RENEW_ROUNDS) {
            return CompletableFuture.failedFuture(new DcsException("the leader key kept changing while renewing it"));
        }
        if (current.isEmpty()) {
            // the key is gone (expired, released, deleted): take it again unless someone else does first
            return renewRound(b, name, lease, status, status, 0, round + 1);
        }
        KeyValue k = current.get();
        if (!k.getValue().equals(name)) {
            forgetLeader();
            LOG.info("{}: the leader key now names '{}'", spec.memberName(),
                    Keys.decode(k.getValue().getBytes()).orElse("<non-UTF-8>"));
            return CompletableFuture.completedFuture(false);
        }
        if (k.getLease() == lease) {
            // ours already (a try whose answer was lost did it): adopt it, then write the status
            wrote(k.getModRevision());
            confirmedLeader(lease, k.getModRevision(), Optional.empty());
            return status.isEmpty() ? CompletableFuture.completedFuture(true)
                    : renewRound(b, name, lease, status, status, k.getModRevision(), round + 1);
        }
        // our name under another lease: this member restarted, or our lease was re-granted
        LOG.info("{}: rebinding the leader key from lease {} to this session's lease {}", spec.memberName(),
                Long.toHexString(k.getLease()), Long.toHexString(lease));
        ByteSequence leader = keys.key(ClusterKey.LEADER);
        List<Op> then = new ArrayList<>();
        then.add(Op.put(leader, name, PutOption.builder().withLeaseId(lease).build()));
        status.ifPresent(s -> then.add(Op.put(keys.key(ClusterKey.STATUS), Keys.utf8(s), PutOption.DEFAULT)));
        return send(b, Retry.SAFE, n -> client.getKVClient().txn()
                        .If(new Cmp(leader, Cmp.Op.EQUAL, CmpTarget.modRevision(k.getModRevision())))
                        .Then(then.toArray(new Op[0]))
                        .Else(Op.get(leader, GetOption.DEFAULT))
                        .commit())
                .thenCompose(r -> {
                    if (!r.isSucceeded()) {
                        return mismatch(b, name, lease, status, single(r), round + 1);
                    }
                    wrote(r.getHeader().getRevision());
                    return CompletableFuture.completedFuture(confirmedLeader(lease, r.getHeader().getRevision(), status));
                });
    }

    @Override
    public CompletionStage<Boolean> releaseLeader() {
        ByteSequence name = requireMember();
        ByteSequence leader = keys.key(ClusterKey.LEADER);
        // Not repeated after an unknown outcome: a second try would find the key gone and answer
        // "it was not ours", which is wrong.
        return call("release the leader key", b -> send(b, Retry.UNSAFE, n -> client.getKVClient().txn()
                        .If(new Cmp(leader, Cmp.Op.EQUAL, CmpTarget.value(name)))
                        .Then(Op.delete(leader, DeleteOption.DEFAULT))
                        .commit())
                .thenApply(r -> {
                    forgetLeader();
                    return deletedTheKey(r);
                }));
    }

    // ================================================================== the member entry

    @Override
    public CompletionStage<Void> touchMember(String value) {
        ByteSequence name = requireMember();
        Objects.requireNonNull(value, "value");
        ByteSequence key = keys.member(spec.memberName());
        ByteSequence bytes = Keys.utf8(value);
        return call("write the member entry", b -> withLease(b, lease -> {
            synchronized (this) {
                if (value.equals(memberValue) && memberLease == lease) {
                    // unchanged and bound to the live lease: the keep-alive was all that was needed
                    return CompletableFuture.completedFuture(null);
                }
            }
            return send(b, Retry.SAFE, n -> client.getKVClient().put(key, bytes,
                            PutOption.builder().withLeaseId(lease).build()))
                    .thenApply(r -> {
                        wrote(r.getHeader().getRevision());
                        synchronized (this) {
                            if (leaseId == lease) {
                                memberValue = value;
                                memberLease = lease;
                            }
                        }
                        return (Void) null;
                    });
        }));
    }

    // ================================================================== versioned keys

    @Override
    public CompletionStage<Boolean> compareAndSet(ClusterKey key, String value, long expectedVersion) {
        requireVersioned(key);
        Objects.requireNonNull(value, "value");
        ByteSequence k = keys.key(key);
        Cmp cmp = expectedVersion == DcsEntry.ABSENT
                ? new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
                : new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(expectedVersion));
        return call("compare-and-set " + key.path(), b -> send(b, Retry.UNSAFE, n -> client.getKVClient().txn()
                        .If(cmp)
                        .Then(Op.put(k, Keys.utf8(value), PutOption.DEFAULT))
                        .commit())
                .thenApply(r -> {
                    if (r.isSucceeded()) {
                        wrote(r.getHeader().getRevision());
                    }
                    return r.isSucceeded();
                }));
    }

    @Override
    public CompletionStage<Boolean> compareAndDelete(ClusterKey key, long expectedVersion) {
        requireVersioned(key);
        if (expectedVersion <= 0) {
            // no existing key carries such a version
            return CompletableFuture.completedFuture(false);
        }
        ByteSequence k = keys.key(key);
        return call("compare-and-delete " + key.path(), b -> send(b, Retry.UNSAFE, n -> client.getKVClient().txn()
                        .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(expectedVersion)))
                        .Then(Op.delete(k, DeleteOption.DEFAULT))
                        .commit())
                .thenApply(this::deletedTheKey));
    }

    @Override
    public CompletionStage<Void> deleteCluster() {
        return call("delete the cluster", b -> send(b, Retry.SAFE, n -> client.getKVClient()
                        .delete(keys.prefixBytes(), DeleteOption.builder().isPrefix(true).build()))
                .thenApply(r -> {
                    // Even when this answer deleted nothing: a try whose answer was lost may have
                    // deleted everything, and this answer's revision is no older than that.
                    wrote(r.getHeader().getRevision());
                    synchronized (this) {
                        leaderRevision = 0;
                        memberValue = null;
                    }
                    return (Void) null;
                }));
    }

    private static void requireVersioned(ClusterKey key) {
        Objects.requireNonNull(key, "key");
        if (key == ClusterKey.LEADER || key == ClusterKey.STATUS) {
            throw new IllegalArgumentException(key.path() + " is written only through the lease methods");
        }
    }

    // ================================================================== watch

    @Override
    public Subscription watch(DcsListener listener) {
        Objects.requireNonNull(listener, "listener");
        ClusterWatch w;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the session is closed");
            }
            boolean feeds = cache != null && cacheFeeder == null;
            w = new ClusterWatch(this, keys, client.getWatchClient(), calls, listener, feeds ? cache : null);
            if (feeds) {
                cacheFeeder = w;
            }
            watches.add(w);
        }
        w.start();
        return w;
    }

    void watchClosed(ClusterWatch w) {
        watches.remove(w);
        synchronized (this) {
            if (cacheFeeder == w) {
                cacheFeeder = null;
            }
        }
    }

    /** A watched delete of one of our lease's keys: if the lease itself is gone, say so now rather than at the next keep-alive. */
    void ownKeyDeleted(long lease) {
        synchronized (this) {
            if (closed || lease == 0 || lease != leaseId) {
                return;
            }
        }
        // timeToLive reads without refreshing: a node whose loop stopped must still lose its lease
        client.getLeaseClient().timeToLive(lease, LeaseOption.DEFAULT).whenComplete((r, e) -> {
            if (e == null && r.getTTL() <= 0) {
                leaseGone(lease, "lease " + Long.toHexString(lease) + " expired or was revoked (its keys were deleted)");
            }
        });
    }

    void memberKeyDeleted() {
        synchronized (this) {
            memberValue = null;
        }
    }

    synchronized long leaseIdForWatch() {
        return leaseId;
    }

    Optional<String> memberName() {
        return spec.member();
    }

    // ================================================================== the lease

    /** Refreshes the lease (granting one if there is none or it is gone), then runs {@code body} with its id. */
    private <T> CompletableFuture<T> withLease(Budget b, Function<Long, CompletableFuture<T>> body) {
        return refreshLease(b).thenCompose(lease -> body.apply(lease).exceptionallyCompose(e -> {
            // the lease expired between the keep-alive and the write: once more with a new one
            if (Failures.classify(e) == Failures.Kind.LEASE_NOT_FOUND && leaseGone(lease, "lease " + Long.toHexString(lease)
                    + " was not found when writing with it")) {
                return refreshLease(b).thenCompose(body);
            }
            return CompletableFuture.failedFuture(e);
        }));
    }

    private CompletableFuture<Long> refreshLease(Budget b) {
        long id;
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(new DcsException("the session is closed"));
            }
            id = leaseId;
        }
        if (id == 0) {
            return grant(b);
        }
        return send(b, Retry.SAFE, n -> client.getLeaseClient().keepAliveOnce(id))
                .handle((r, e) -> {
                    if (e == null && r.getTTL() > 0) {
                        return CompletableFuture.completedFuture(id);
                    }
                    if (e == null || Failures.classify(e) == Failures.Kind.LEASE_NOT_FOUND) {
                        leaseGone(id, "lease " + Long.toHexString(id) + " expired: etcd answered the keep-alive with TTL 0");
                        return grant(b);
                    }
                    return CompletableFuture.<Long>failedFuture(e);
                })
                .thenCompose(f -> f);
    }

    private CompletableFuture<Long> grant(Budget b) {
        CompletableFuture<Long> mine;
        synchronized (this) {
            if (leaseId != 0) {
                return CompletableFuture.completedFuture(leaseId);
            }
            if (granting != null) {
                return granting;
            }
            mine = new CompletableFuture<>();
            granting = mine;
        }
        // A grant whose answer was lost leaves an unused lease behind; it expires after ttl with no
        // keys, so repeating the request is harmless.
        send(b, Retry.SAFE, n -> client.getLeaseClient().grant(ttlSeconds)).whenComplete((r, e) -> {
            synchronized (this) {
                granting = null;
                if (e == null && !closed) {
                    leaseId = r.getID();
                    leaderRevision = 0;
                    memberValue = null;
                }
            }
            if (e != null) {
                mine.completeExceptionally(e);
                return;
            }
            if (r.getTTL() != ttlSeconds) {
                dcs.warnOnce("ttl:" + r.getTTL(), "etcd granted a lease of " + r.getTTL() + " s instead of the requested "
                        + ttlSeconds + " s (its minimum TTL depends on --election-timeout); keys will live that long");
            }
            LOG.debug("{}: granted lease {} ({} s)", spec.memberName(), Long.toHexString(r.getID()), r.getTTL());
            synchronized (this) {
                if (closed) {
                    client.getLeaseClient().revoke(r.getID());
                    mine.completeExceptionally(new DcsException("the session is closed"));
                    return;
                }
            }
            mine.complete(r.getID());
        });
        return mine;
    }

    /** Marks {@code lease} gone (if it is still ours) and tells the listeners. Returns whether it was ours. */
    private boolean leaseGone(long lease, String reason) {
        synchronized (this) {
            if (lease == 0 || leaseId != lease) {
                return false;
            }
            leaseId = 0;
            leaderRevision = 0;
            memberValue = null;
            if (closed) {
                return true;
            }
        }
        LOG.warn("{}: {}", spec.member().orElse("observer"), reason);
        for (ClusterWatch w : watches) {
            w.leaseLost(reason);
        }
        return true;
    }

    private synchronized long knownLeaderRevision(long lease) {
        return leaseId == lease ? leaderRevision : 0;
    }

    /**
     * Notes the leader key's revision under {@code lease} and the status written with it (empty:
     * none written, so the next renewal writes it); returns true (the key is ours).
     */
    private synchronized boolean confirmedLeader(long lease, long revision, Optional<String> status) {
        if (leaseId == lease) {
            if (revision != leaderRevision) {
                statusWritten = null;
            }
            leaderRevision = revision;
            status.ifPresent(st -> statusWritten = st);
        }
        return true;
    }

    private synchronized String writtenStatus(long lease) {
        return leaseId == lease && leaderRevision != 0 ? statusWritten : null;
    }

    private synchronized void forgetLeader() {
        leaderRevision = 0;
        statusWritten = null;
    }

    // ================================================================== plumbing

    private <T> CompletableFuture<T> call(String what, Function<Budget, CompletableFuture<T>> body) {
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(new DcsException("cannot " + what + ": the session is closed"));
            }
        }
        CompletableFuture<T> f = calls.call(what, spec.retryTimeout(), attempt, body);
        if (cache != null) {
            f.whenComplete((v, e) -> {
                if (e != null) {
                    cache.failed();
                }
            });
        }
        return f;
    }

    /** Sends one request through {@link Calls#attempt}, noting the store revision its answer carries. */
    private <R extends Response> CompletableFuture<R> send(Budget b, Retry retry, IntFunction<CompletableFuture<R>> request) {
        return calls.attempt(b, retry, request).thenApply(this::answered);
    }

    private <R extends Response> R answered(R r) {
        if (cache != null) {
            cache.answered(r.getHeader().getRevision());
        }
        return r;
    }

    private ByteSequence requireMember() {
        return me.orElseThrow(() -> new IllegalStateException("an observer session cannot hold a lease"));
    }

    /** Whether a compare-and-delete transaction deleted its key; if so, it is this session's newest write. */
    private boolean deletedTheKey(TxnResponse r) {
        boolean deleted = r.isSucceeded() && !r.getDeleteResponses().isEmpty() && r.getDeleteResponses().get(0).getDeleted() > 0;
        if (deleted) {
            wrote(r.getHeader().getRevision());
        }
        return deleted;
    }

    private static Optional<KeyValue> single(TxnResponse r) {
        return r.getGetResponses().stream().flatMap(g -> g.getKvs().stream()).findFirst();
    }

    @Override
    public void close() {
        long lease;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            lease = leaseId;
            leaseId = 0;
        }
        for (ClusterWatch w : watches) {
            w.close();
        }
        if (lease != 0) {
            // Revoking deletes the member entry and (if still bound to it) the leader key now
            // instead of at ttl. Waited for, but never longer than retry_timeout.
            try {
                client.getLeaseClient().revoke(lease).get(spec.retryTimeout().toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                if (Failures.classify(e) == Failures.Kind.LEASE_NOT_FOUND) {
                    LOG.debug("{}: lease {} had already expired", spec.member().orElse("observer"), Long.toHexString(lease));
                } else {
                    LOG.warn("{}: could not revoke lease {} on close (its keys expire after ttl): {}",
                            spec.member().orElse("observer"), Long.toHexString(lease), Failures.describe(e));
                }
            }
        }
        dcs.sessionClosed(this);
    }

    @Override
    public String toString() {
        return "EtcdSession[" + keys.prefix() + (spec.member().map(m -> " member " + m).orElse(" observer")) + "]";
    }
}
