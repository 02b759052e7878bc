package io.pgha.dcs.consul;

import static io.pgha.dcs.consul.Agent.lockOp;
import static io.pgha.dcs.consul.Agent.op;

import com.ecwid.consul.v1.kv.model.GetBinaryValue;
import com.ecwid.consul.v1.kv.model.PutParams;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import io.pgha.spi.support.DcsListeners;
import io.pgha.spi.support.SessionChecks;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member's (or an observer's) view of one cluster, bound to one Consul session. See
 * {@link ConsulDcs} for the session's shape and the time bounds that follow from it.
 *
 * <p>Every public method returns at once; the blocking consul-api calls run on the
 * {@code ConsulDcs}'s pool, and the stage fails with {@link DcsUnreachableException} when the
 * whole operation (which may be several HTTP requests) has not finished within
 * {@code retry_timeout}. Operations that touch the Consul session are serialized on the
 * {@link ConsulLease}, so two concurrent calls never create two sessions. The watches are
 * {@link ConsulWatch}es.
 *
 * <p><b>Read your writes.</b> Every write goes through the Raft leader and is acknowledged once the
 * leader applied it; a read in the {@code DEFAULT} or {@code CONSISTENT} mode is answered by the
 * leader, so it shows our acknowledged writes. A {@code STALE} read may be answered by a server
 * that has not applied them yet; {@link #readAuthoritative()} is always {@code ?consistent}.
 *
 * <p><b>No write revision.</b> {@link #writeRevision()} stays 0 ("unknown"): Consul's write
 * responses carry no index. A KV {@code PUT} (the member entry, the status, a compare-and-set)
 * answers only {@code true} or {@code false}, without an {@code X-Consul-Index} header, and a
 * delete answers nothing more. Only a {@code /v1/txn} answer names the written key's
 * {@code ModifyIndex}, and of our writes only the leader key's creation and rebinding (and taking
 * over a member entry) go through one, so the member entry and the status, written every cycle,
 * would never be covered.
 */
final class ConsulSession implements DcsSession {
    private static final Logger LOG = LoggerFactory.getLogger(ConsulSession.class);

    private final SessionSpec spec;
    private final ConsulSettings settings;
    private final Agent agent;
    private final ExecutorService pool;
    private final Consumer<ConsulSession> onClose;
    private final ConsulLayout layout;
    private final String leaderKey;
    private final String statusKey;
    private final Optional<String> memberKey;
    private final List<ConsulWatch> watches = new CopyOnWriteArrayList<>();
    private final DcsListeners listeners = new DcsListeners();
    private final ConsulLease lease;
    private final Optional<ServiceRegistration> service;

    // guarded by lease
    private boolean closed;
    /** The member entry and status we last wrote, and under which session; cleared when a read shows otherwise. */
    private volatile String writtenMember;
    private volatile String writtenMemberSession;
    private volatile String writtenStatus;

    ConsulSession(SessionSpec spec, ConsulSettings settings, Agent agent, ExecutorService pool, Consumer<ConsulSession> onClose) {
        this.spec = spec;
        this.settings = settings;
        this.agent = agent;
        this.pool = pool;
        this.onClose = onClose;
        this.layout = new ConsulLayout(settings.namespace(), spec.scope());
        this.lease = new ConsulLease(spec, agent, leaseGuarantee(), listeners, this::forgetWrites);
        this.leaderKey = layout.key(ClusterKey.LEADER.path());
        this.statusKey = layout.key(ClusterKey.STATUS.path());
        this.memberKey = spec.member().map(m -> layout.key(ClusterKey.MEMBERS_PREFIX + m));
        this.service = settings.registerService() && spec.member().isPresent()
                ? Optional.of(new ServiceRegistration(agent, spec.scope(), spec.member().get()))
                : Optional.empty();
    }

    @Override
    public SessionSpec spec() {
        return spec;
    }

    /**
     * Half the ttl: the Consul session's TTL is {@code ttl / 2}, and Consul may invalidate a
     * session as early as its TTL after the last renewal (it usually waits twice as long).
     */
    @Override
    public Duration leaseGuarantee() {
        return spec.ttl().dividedBy(2);
    }

    // ================================================================== reads

    /** One recursive listing of the cluster, in the consistency mode the store was built with. */
    @Override
    public CompletionStage<ClusterSnapshot> read() {
        return submit("read", () -> snapshot(settings.consistency()));
    }

    /**
     * The same listing with {@code ?consistent}, whatever mode {@link #read()} uses: the agent
     * forwards it to the Raft leader, which confirms with a quorum that it still leads before it
     * answers. A {@code ?stale} read may come from a server that lags the leader, and even a default
     * read may, for a moment, come from a deposed leader that does not know it yet; this one cannot.
     */
    @Override
    public CompletionStage<ClusterSnapshot> readAuthoritative() {
        return submit("read (consistent)", () -> snapshot(ConsulDcs.Consistency.CONSISTENT));
    }

    private ClusterSnapshot snapshot(ConsulDcs.Consistency consistency) {
        Agent.Listing l = agent.list(layout.prefix(), consistency, 0, Optional.empty());
        ClusterSnapshot s = layout.snapshot(l);
        noteRead(l);
        return s;
    }

    /** Forget what we wrote when the store no longer shows it, so the next call writes it again. */
    private void noteRead(Agent.Listing l) {
        Map<String, GetBinaryValue> byKey = new HashMap<>();
        for (GetBinaryValue v : l.entries()) {
            byKey.put(v.getKey(), v);
        }
        memberKey.ifPresent(k -> {
            GetBinaryValue v = byKey.get(k);
            String written = writtenMember;
            if (written != null && (v == null || !Objects.equals(v.getSession(), writtenMemberSession)
                    || !written.equals(ConsulLayout.text(v).orElse(null)))) {
                writtenMember = null;
            }
        });
        GetBinaryValue st = byKey.get(statusKey);
        String ws = writtenStatus;
        if (ws != null && (st == null || !ws.equals(ConsulLayout.text(st).orElse(null)))) {
            writtenStatus = null;
        }
    }

    // ================================================================== the leader key

    @Override
    public CompletionStage<Boolean> acquireLeader() {
        String me = requireMember();
        return submit("acquire the leader key", () -> {
            synchronized (lease) {
                String sid = lease.live();
                return createLeaderKey(me, sid);
            }
        });
    }

    /** Creates the leader key bound to {@code sid} only if it does not exist: one transaction. */
    private boolean createLeaderKey(String me, String sid) {
        Agent.TxnResult r = agent.txn(List.of(op("check-not-exists", leaderKey), lockOp(leaderKey, me, sid)));
        if (!r.committed() && r.mentions("invalid session")) {
            // invalidated between the renewal and the transaction: a new session, once
            lease.lost(sid, "Consul session " + sid + " was invalidated");
            String fresh = lease.live();
            r = agent.txn(List.of(op("check-not-exists", leaderKey), lockOp(leaderKey, me, fresh)));
        }
        if (!r.committed()) {
            LOG.debug("{}/{}: leader key not created: {}", spec.scope(), me, r.errors());
            return false;
        }
        writtenStatus = null;
        return true;
    }

    @Override
    public CompletionStage<Boolean> renewLeader(Optional<String> status) {
        String me = requireMember();
        Objects.requireNonNull(status, "status");
        return submit("renew the leader key", () -> {
            boolean ok;
            synchronized (lease) {
                String sid = lease.live();
                Optional<GetBinaryValue> cur = agent.get(leaderKey);
                if (cur.isEmpty()) {
                    ok = createLeaderKey(me, sid);
                } else if (!me.equals(ConsulLayout.text(cur.get()).orElse(null))) {
                    ok = false;
                } else if (sid.equals(cur.get().getSession())) {
                    ok = true;
                } else {
                    // our name under an older session of ours (a restart) or none: rebind, unless it moved meanwhile
                    long idx = cur.get().getModifyIndex();
                    ok = agent.txn(List.of(op("delete-cas", leaderKey, idx), lockOp(leaderKey, me, sid))).committed();
                    if (ok) {
                        LOG.info("{}/{}: leader key rebound to this member's current Consul session", spec.scope(), me);
                    }
                }
            }
            if (ok && status.isPresent() && !status.get().equals(writtenStatus)) {
                // informational: a failure here does not undo the renewal
                try {
                    agent.put(statusKey, status.get(), new PutParams());
                    writtenStatus = status.get();
                } catch (DcsException e) {
                    LOG.debug("{}/{}: status not written: {}", spec.scope(), me, e.getMessage());
                }
            }
            return ok;
        });
    }

    @Override
    public CompletionStage<Boolean> releaseLeader() {
        String me = requireMember();
        return submit("release the leader key", () -> {
            Optional<GetBinaryValue> cur = agent.get(leaderKey);
            if (cur.isEmpty() || !me.equals(ConsulLayout.text(cur.get()).orElse(null))) {
                return false;
            }
            long idx = cur.get().getModifyIndex();
            // delete-cas alone answers "true" for a key that is already gone: check-index makes it false
            return agent.txn(List.of(op("check-index", leaderKey, idx), op("delete-cas", leaderKey, idx))).committed();
        });
    }

    // ================================================================== the member entry

    @Override
    public CompletionStage<Void> touchMember(String value) {
        String me = requireMember();
        Objects.requireNonNull(value, "value");
        String key = memberKey.orElseThrow();
        return submit("write the member entry", () -> {
            synchronized (lease) {
                String sid = lease.live();
                if (!(value.equals(writtenMember) && sid.equals(writtenMemberSession))) {
                    writeMember(me, key, value, sid);
                }
            }
            service.ifPresent(s -> s.update(value));
            return null;
        });
    }

    private void writeMember(String me, String key, String value, String sid) {
        PutParams acquire = new PutParams();
        acquire.setAcquireSession(sid);
        boolean ok = agent.put(key, value, acquire);
        if (!ok) {
            // held by another session: ours from before a restart, or a namesake's; take it over as Patroni does
            Optional<GetBinaryValue> cur = agent.get(key);
            if (cur.isEmpty()) {
                ok = agent.put(key, value, acquire);
            } else if (!sid.equals(cur.get().getSession())) {
                ok = agent.txn(List.of(op("delete-cas", key, cur.get().getModifyIndex()), lockOp(key, value, sid))).committed();
            }
        }
        if (!ok) {
            throw new DcsException("member entry " + key + " could not be written: it is held by another Consul session"
                    + " (or in its lock-delay)");
        }
        writtenMember = value;
        writtenMemberSession = sid;
        LOG.trace("{}/{}: member entry written", spec.scope(), me);
    }

    // ================================================================== versioned keys

    @Override
    public CompletionStage<Boolean> compareAndSet(ClusterKey key, String value, long expectedVersion) {
        SessionChecks.requireVersioned(key);
        Objects.requireNonNull(value, "value");
        if (expectedVersion != DcsEntry.ABSENT && expectedVersion <= 0) {
            // Consul's cas=0 means "create"; no existing key ever has this version
            return CompletableFuture.completedFuture(false);
        }
        String k = layout.key(key.path());
        return submit("compare-and-set " + key.path(), () -> {
            PutParams p = new PutParams();
            p.setCas(expectedVersion == DcsEntry.ABSENT ? 0L : expectedVersion);
            return agent.put(k, value, p);
        });
    }

    @Override
    public CompletionStage<Boolean> compareAndDelete(ClusterKey key, long expectedVersion) {
        SessionChecks.requireVersioned(key);
        if (expectedVersion <= 0) {
            return CompletableFuture.completedFuture(false);
        }
        String k = layout.key(key.path());
        return submit("compare-and-delete " + key.path(),
                () -> agent.txn(List.of(op("check-index", k, expectedVersion), op("delete-cas", k, expectedVersion))).committed());
    }

    @Override
    public CompletionStage<Void> deleteCluster() {
        return submit("delete the cluster", () -> {
            agent.deleteTree(layout.prefix());
            forgetWrites();
            return null;
        });
    }

    // ================================================================== watch

    @Override
    public Subscription watch(DcsListener listener) {
        Objects.requireNonNull(listener, "listener");
        ConsulWatch w;
        synchronized (lease) {
            if (closed) {
                throw new IllegalStateException("the session is closed");
            }
            w = new ConsulWatch(settings, spec, layout, lease, listeners.add(listener), agent.outage());
            watches.add(w);
        }
        w.start();
        return () -> {
            watches.remove(w);
            w.close();
        };
    }

    /** Nothing this session wrote is known to be in the store any more: the next call writes it again. */
    private void forgetWrites() {
        writtenMember = null;
        writtenStatus = null;
    }

    private String requireMember() {
        return SessionChecks.requireMember(spec);
    }

    // ================================================================== calls

    /**
     * Runs a blocking operation on the pool; the stage fails with {@link DcsUnreachableException} at
     * {@code retry_timeout}, whatever the socket does (the operation may still finish later: the
     * outcome of a write is then unknown, as the SPI says).
     */
    private <T> CompletableFuture<T> submit(String what, Callable<T> op) {
        CompletableFuture<T> f = new CompletableFuture<>();
        long deadline = System.nanoTime() + spec.retryTimeout().toNanos();
        Future<?> task;
        try {
            task = pool.submit(() -> {
                if (f.isDone()) {
                    return;
                }
                Deadline.set(deadline);
                try {
                    f.complete(op.call());
                } catch (Throwable e) {
                    f.completeExceptionally(e);
                } finally {
                    Deadline.clear();
                }
            });
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(new IllegalStateException("the ConsulDcs is closed"));
            return f;
        }
        long ms = spec.retryTimeout().toMillis();
        CompletableFuture.delayedExecutor(ms, TimeUnit.MILLISECONDS).execute(() -> {
            if (f.completeExceptionally(new DcsUnreachableException("Consul agent " + agent.url() + ": " + what
                    + " did not finish within retry_timeout (" + ms + " ms)"))) {
                task.cancel(false);
            }
        });
        return f;
    }

    // ================================================================== close

    /**
     * Stops the watches, deregisters the service, and destroys the Consul session, so Consul deletes
     * the member entry (and the leader key, if we still held it) now. Bounded by retry_timeout.
     */
    @Override
    public void close() {
        String sid;
        synchronized (lease) {
            if (closed) {
                return;
            }
            closed = true;
            sid = lease.close();
        }
        for (ConsulWatch w : watches) {
            w.close();
        }
        watches.clear();
        listeners.closeAll();
        if (sid != null || service.isPresent()) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            try {
                pool.submit(() -> {
                    try {
                        service.ifPresent(ServiceRegistration::deregister);
                        if (sid != null) {
                            agent.destroySession(sid);
                        }
                        done.complete(null);
                    } catch (RuntimeException e) {
                        done.completeExceptionally(e);
                    }
                });
                done.get(spec.retryTimeout().toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException | java.util.concurrent.TimeoutException e) {
                LOG.debug("{}: Consul session {} not destroyed in time; it expires by its TTL", spec.scope(), sid);
            } catch (java.util.concurrent.ExecutionException e) {
                LOG.debug("{}: Consul session {} not destroyed ({}); it expires by its TTL", spec.scope(), sid,
                        e.getCause().getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "ConsulSession[" + layout.prefix() + ", " + spec.member().orElse("observer") + "]";
    }
}
