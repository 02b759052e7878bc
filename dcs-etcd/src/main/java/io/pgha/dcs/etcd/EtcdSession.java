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
import io.pgha.spi.support.DcsListeners;
import io.pgha.spi.support.SessionChecks;
import io.pgha.spi.support.SnapshotBuilder;
import io.pgha.spi.support.StrictUtf8;
import io.pgha.spi.support.WarnOnce;
import io.pgha.spi.support.WriteRevision;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member's (or an observer's) view of one cluster on etcd. A member session holds one
 * {@link EtcdLease} that binds the leader key and the member entry; it is refreshed by
 * {@link #acquireLeader}, {@link #renewLeader} and {@link #touchMember}, and by nothing else.
 * Its watches are {@link EtcdWatch}es, subscribers of the {@link EtcdDcs}'s one {@link SharedWatch}.
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
    private final EtcdLayout layout;
    private final Calls calls;
    private final Client client;
    private final Duration attempt;
    private final Optional<ByteSequence> me;
    private final List<EtcdWatch> watches = new CopyOnWriteArrayList<>();
    private final DcsListeners listeners = new DcsListeners();
    private final EtcdLease lease;
    /** Null for an observer, or when the Dcs was built without cached reads. */
    private final WatchCache cache;
    /** The header revision of this session's newest write that took effect (see {@link #writeRevision()}). */
    private final WriteRevision writeRevision = new WriteRevision();

    // guarded by this
    private boolean closed;
    /** The watch that keeps {@link #cache} up to date: the first one opened. */
    private EtcdWatch cacheFeeder;

    EtcdSession(EtcdDcs dcs, SessionSpec spec, EtcdLayout layout, Calls calls, Client client, Duration attempt, boolean cachedReads) {
        this.dcs = dcs;
        this.spec = spec;
        this.layout = layout;
        this.calls = calls;
        this.client = client;
        this.attempt = attempt;
        this.lease = new EtcdLease(dcs, spec, client, this::send, listeners);
        this.me = spec.member().map(EtcdLayout::utf8);
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
        return send(b, Retry.SAFE, n -> client.getKVClient().get(layout.prefixBytes(), GetOption.builder().isPrefix(true).build()))
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
        writeRevision.wrote(revision);
    }

    private Optional<ClusterSnapshot> cachedSnapshot() {
        return cache.view().map(v -> snapshot(v.revision(), v.kvs()));
    }

    /** Whether a read now would be answered from the watch cache (for tests). */
    boolean readsFromCache() {
        return cache != null && cache.view().isPresent();
    }

    private ClusterSnapshot snapshot(long revision, List<KeyValue> kvs) {
        SnapshotBuilder snapshot = new SnapshotBuilder();
        WarnOnce warnings = dcs.warnings();
        String prefix = layout.prefix();
        for (KeyValue kv : kvs) {
            Optional<String> path = layout.relative(kv.getKey());
            if (path.isEmpty()) {
                warnings.warn(prefix + "<non-UTF-8 key>", "a key under {} has a name that is not UTF-8; it is ignored", prefix);
                continue;
            }
            String p = path.get();
            switch (snapshot.add(p, kv.getValue().getBytes(), kv.getModRevision())) {
                case NOT_TEXT -> warnings.warn(prefix + p, "the value of {}{} is not UTF-8 text; it is left out of the cluster view",
                        prefix, p);
                case NOT_IN_LAYOUT -> warnings.warn(prefix + p, "ignoring {}{}: not a key of pgha's (Patroni's) layout", prefix, p);
                case KEY, MEMBER -> { }
            }
        }
        return snapshot.build(revision);
    }

    // ================================================================== the leader key

    @Override
    public CompletionStage<Boolean> acquireLeader() {
        ByteSequence name = requireMember();
        return call("acquire the leader key", b -> lease.with(b, leaseId -> {
            ByteSequence leader = layout.key(ClusterKey.LEADER);
            return calls.attempt(b, Retry.SAFE, n -> client.getKVClient().txn()
                    .If(new Cmp(leader, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                    .Then(Op.put(leader, name, PutOption.builder().withLeaseId(leaseId).build()))
                    .Else(Op.get(leader, GetOption.DEFAULT))
                    .commit()
                    .thenApply(r -> {
                        answered(r);
                        if (r.isSucceeded()) {
                            wrote(r.getHeader().getRevision());
                            lease.confirmedLeader(leaseId, r.getHeader().getRevision(), Optional.empty());
                            return true;
                        }
                        // A retry after a try whose outcome was unknown: if that try created the
                        // key, it holds our name under our lease now. On a first try the key
                        // existed before, whoever it names, and the answer is "no".
                        Optional<KeyValue> kv = single(r);
                        if (n > 0 && kv.isPresent() && kv.get().getValue().equals(name) && kv.get().getLease() == leaseId) {
                            wrote(kv.get().getModRevision()); // where that earlier try took effect
                            lease.confirmedLeader(leaseId, kv.get().getModRevision(), Optional.empty());
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
        return call("renew the leader key", b -> lease.with(b, leaseId -> {
            long known = lease.knownLeaderRevision(leaseId);
            Optional<String> changed = known == 0 ? status : status.filter(st -> !st.equals(lease.writtenStatus(leaseId)));
            if (changed.isEmpty() && known != 0 && stillOursInCache(name, leaseId, known)) {
                // The keep-alive just refreshed the lease, and the watch shows the key unchanged
                // since we wrote it, bound to that lease, as of the keep-alive's revision: the
                // read-only transaction would prove nothing more.
                return CompletableFuture.completedFuture(true);
            }
            return renewRound(b, name, leaseId, changed, status, known, 0);
        }));
    }

    private boolean stillOursInCache(ByteSequence name, long leaseId, long revision) {
        if (cache == null) {
            return false;
        }
        Optional<KeyValue> kv = cache.get(layout.key(ClusterKey.LEADER)).orElse(Optional.empty());
        return kv.isPresent() && kv.get().getModRevision() == revision && kv.get().getLease() == leaseId
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
    private CompletableFuture<Boolean> renewRound(Budget b, ByteSequence name, long leaseId, Optional<String> status,
                                                  Optional<String> fullStatus, long expected, int round) {
        if (round >= MAX_RENEW_ROUNDS) {
            return CompletableFuture.failedFuture(new DcsException("the leader key kept changing while renewing it"));
        }
        ByteSequence leader = layout.key(ClusterKey.LEADER);
        List<Op> then = new ArrayList<>();
        Cmp cmp;
        if (expected == 0) {
            cmp = new Cmp(leader, Cmp.Op.EQUAL, CmpTarget.createRevision(0));
            then.add(Op.put(leader, name, PutOption.builder().withLeaseId(leaseId).build()));
        } else {
            cmp = new Cmp(leader, Cmp.Op.EQUAL, CmpTarget.modRevision(expected));
        }
        status.ifPresent(s -> then.add(Op.put(layout.key(ClusterKey.STATUS), EtcdLayout.utf8(s), PutOption.DEFAULT)));
        return send(b, Retry.SAFE, n -> client.getKVClient().txn()
                        .If(cmp)
                        .Then(then.toArray(new Op[0]))
                        .Else(Op.get(leader, GetOption.DEFAULT))
                        .commit())
                .thenCompose(r -> {
                    if (!r.isSucceeded()) {
                        return mismatch(b, name, leaseId, fullStatus, single(r), round);
                    }
                    if (!then.isEmpty()) {
                        // a round that only compared wrote nothing and leaves writeRevision where it was
                        wrote(r.getHeader().getRevision());
                    }
                    return CompletableFuture.completedFuture(lease.confirmedLeader(leaseId, expected == 0 ? r.getHeader().getRevision() : expected, status));
                });
    }

    /** The leader key was not as expected; {@code current} is what it holds now. */
    private CompletableFuture<Boolean> mismatch(Budget b, ByteSequence name, long leaseId, Optional<String> status,
                                                Optional<KeyValue> current, int round) {
        if (round >= MAX_RENEW_ROUNDS) {
            return CompletableFuture.failedFuture(new DcsException("the leader key kept changing while renewing it"));
        }
        if (current.isEmpty()) {
            // the key is gone (expired, released, deleted): take it again unless someone else does first
            return renewRound(b, name, leaseId, status, status, 0, round + 1);
        }
        KeyValue k = current.get();
        if (!k.getValue().equals(name)) {
            lease.forgetLeader();
            LOG.info("{}: the leader key now names '{}'", spec.memberName(),
                    StrictUtf8.decode(k.getValue().getBytes()).orElse("<non-UTF-8>"));
            return CompletableFuture.completedFuture(false);
        }
        if (k.getLease() == leaseId) {
            // ours already (a try whose answer was lost did it): adopt it, then write the status
            wrote(k.getModRevision());
            lease.confirmedLeader(leaseId, k.getModRevision(), Optional.empty());
            return status.isEmpty() ? CompletableFuture.completedFuture(true)
                    : renewRound(b, name, leaseId, status, status, k.getModRevision(), round + 1);
        }
        // our name under another lease: this member restarted, or our lease was re-granted
        LOG.info("{}: rebinding the leader key from lease {} to this session's lease {}", spec.memberName(),
                Long.toHexString(k.getLease()), Long.toHexString(leaseId));
        ByteSequence leader = layout.key(ClusterKey.LEADER);
        List<Op> then = new ArrayList<>();
        then.add(Op.put(leader, name, PutOption.builder().withLeaseId(leaseId).build()));
        status.ifPresent(s -> then.add(Op.put(layout.key(ClusterKey.STATUS), EtcdLayout.utf8(s), PutOption.DEFAULT)));
        return send(b, Retry.SAFE, n -> client.getKVClient().txn()
                        .If(new Cmp(leader, Cmp.Op.EQUAL, CmpTarget.modRevision(k.getModRevision())))
                        .Then(then.toArray(new Op[0]))
                        .Else(Op.get(leader, GetOption.DEFAULT))
                        .commit())
                .thenCompose(r -> {
                    if (!r.isSucceeded()) {
                        return mismatch(b, name, leaseId, status, single(r), round + 1);
                    }
                    wrote(r.getHeader().getRevision());
                    return CompletableFuture.completedFuture(lease.confirmedLeader(leaseId, r.getHeader().getRevision(), status));
                });
    }

    @Override
    public CompletionStage<Boolean> releaseLeader() {
        ByteSequence name = requireMember();
        ByteSequence leader = layout.key(ClusterKey.LEADER);
        // Not repeated after an unknown outcome: a second try would find the key gone and answer
        // "it was not ours", which is wrong.
        return call("release the leader key", b -> send(b, Retry.UNSAFE, n -> client.getKVClient().txn()
                        .If(new Cmp(leader, Cmp.Op.EQUAL, CmpTarget.value(name)))
                        .Then(Op.delete(leader, DeleteOption.DEFAULT))
                        .commit())
                .thenApply(r -> {
                    lease.forgetLeader();
                    return deletedTheKey(r);
                }));
    }

    // ================================================================== the member entry

    @Override
    public CompletionStage<Void> touchMember(String value) {
        ByteSequence name = requireMember();
        Objects.requireNonNull(value, "value");
        ByteSequence key = layout.member(spec.memberName());
        ByteSequence bytes = EtcdLayout.utf8(value);
        return call("write the member entry", b -> lease.with(b, leaseId -> {
            if (lease.memberUnchanged(value, leaseId)) {
                // unchanged and bound to the live lease: the keep-alive was all that was needed
                return CompletableFuture.completedFuture(null);
            }
            return send(b, Retry.SAFE, n -> client.getKVClient().put(key, bytes,
                            PutOption.builder().withLeaseId(leaseId).build()))
                    .thenApply(r -> {
                        wrote(r.getHeader().getRevision());
                        lease.memberWritten(value, leaseId);
                        return (Void) null;
                    });
        }));
    }

    // ================================================================== versioned keys

    @Override
    public CompletionStage<Boolean> compareAndSet(ClusterKey key, String value, long expectedVersion) {
        SessionChecks.requireVersioned(key);
        Objects.requireNonNull(value, "value");
        ByteSequence k = layout.key(key);
        Cmp cmp = expectedVersion == DcsEntry.ABSENT
                ? new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
                : new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(expectedVersion));
        return call("compare-and-set " + key.path(), b -> send(b, Retry.UNSAFE, n -> client.getKVClient().txn()
                        .If(cmp)
                        .Then(Op.put(k, EtcdLayout.utf8(value), PutOption.DEFAULT))
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
        SessionChecks.requireVersioned(key);
        if (expectedVersion <= 0) {
            // no existing key carries such a version
            return CompletableFuture.completedFuture(false);
        }
        ByteSequence k = layout.key(key);
        return call("compare-and-delete " + key.path(), b -> send(b, Retry.UNSAFE, n -> client.getKVClient().txn()
                        .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(expectedVersion)))
                        .Then(Op.delete(k, DeleteOption.DEFAULT))
                        .commit())
                .thenApply(this::deletedTheKey));
    }

    @Override
    public CompletionStage<Void> deleteCluster() {
        return call("delete the cluster", b -> send(b, Retry.SAFE, n -> client.getKVClient()
                        .delete(layout.prefixBytes(), DeleteOption.builder().isPrefix(true).build()))
                .thenApply(r -> {
                    // Even when this answer deleted nothing: a try whose answer was lost may have
                    // deleted everything, and this answer's revision is no older than that.
                    wrote(r.getHeader().getRevision());
                    lease.forgetWrites();
                    return (Void) null;
                }));
    }

    // ================================================================== watch

    @Override
    public Subscription watch(DcsListener listener) {
        Objects.requireNonNull(listener, "listener");
        EtcdWatch w;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the session is closed");
            }
            boolean feeds = cache != null && cacheFeeder == null;
            w = new EtcdWatch(this, layout, lease, dcs.sharedWatch(), calls.callbacks(), listeners.add(listener), feeds ? cache : null);
            if (feeds) {
                cacheFeeder = w;
            }
            watches.add(w);
        }
        w.start();
        return w;
    }

    void watchClosed(EtcdWatch w) {
        watches.remove(w);
        synchronized (this) {
            if (cacheFeeder == w) {
                cacheFeeder = null;
            }
        }
    }

    Optional<String> memberName() {
        return spec.member();
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
        SessionChecks.requireMember(spec);
        return me.orElseThrow();
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

    /** Stops the watches, then revokes the lease (see {@link EtcdLease#close()}). */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (EtcdWatch w : watches) {
            w.close();
        }
        listeners.closeAll();
        lease.close();
        dcs.sessionClosed(this);
    }

    @Override
    public String toString() {
        return "EtcdSession[" + layout.prefix() + (spec.member().map(m -> " member " + m).orElse(" observer")) + "]";
    }
}
