package io.pgha.dcs.etcd;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.Response;
import io.etcd.jetcd.options.LeaseOption;
import io.pgha.dcs.etcd.Calls.Budget;
import io.pgha.dcs.etcd.Calls.Retry;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsListener;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.DcsListeners;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member session's etcd lease (TTL = {@code ttl}, rounded up to whole seconds), which binds the
 * leader key and the member entry, and what the session wrote under it.
 *
 * <p>The lease is granted by the first lease-bound call and refreshed only by the engine's calls
 * (one keep-alive, {@link KeepAlives#once}, in {@link #with}), never by jetcd's background keep-alive stream: a node
 * whose loop is dead must lose its keys, and that stream ends quietly through {@code onCompleted}
 * when a lease lapses (jetcd #965, #1383). A keep-alive answered with TTL 0 / "lease not found"
 * means the lease is gone for certain: the listeners hear {@link DcsListener#leaseLost} and the next
 * call grants a new lease. Closing revokes it, so the keys go at once instead of at ttl.
 *
 * <p>What the session wrote under the lease (the leader key's revision, the status written with it,
 * the member entry's value) is remembered with the lease id and forgotten with it: a renewal or a
 * member write that changes nothing then costs no write.
 */
final class EtcdLease {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdLease.class);

    /** Sends one request within a call's budget, noting the store revision its answer carries. */
    @FunctionalInterface
    interface Sender {
        <R extends Response> CompletableFuture<R> send(Budget b, Retry retry, IntFunction<CompletableFuture<R>> request);
    }

    private final EtcdDcs dcs;
    private final SessionSpec spec;
    private final Client client;
    private final Sender sender;
    private final DcsListeners listeners;
    private final long ttlSeconds;

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
    /** Lease-bound writes under way ({@link #with}); {@link #close()} waits for them through {@link #drained}. */
    private int writing;
    private CompletableFuture<Void> drained;

    EtcdLease(EtcdDcs dcs, SessionSpec spec, Client client, Sender sender, DcsListeners listeners) {
        this.dcs = dcs;
        this.spec = spec;
        this.client = client;
        this.sender = sender;
        this.listeners = listeners;
        // etcd leases count whole seconds; rounding up keeps the keys alive at least ttl, never less,
        // so a leader that believes in its lease until start + ttl is never wrong.
        this.ttlSeconds = Math.max(1, (spec.ttl().toMillis() + 999) / 1000);
    }

    /** Refreshes the lease (granting one if there is none or it is gone), then runs {@code body} with its id. */
    <T> CompletableFuture<T> with(Budget b, Function<Long, CompletableFuture<T>> body) {
        // Not sent once the session is closed, and close() waits for the writes under way before it
        // revokes the lease: a write after the revoke would only be refused ("lease not found",
        // which etcd counts as a NotFound call).
        Function<Long, CompletableFuture<T>> unlessClosed = lease -> {
            synchronized (this) {
                if (closed) {
                    return CompletableFuture.failedFuture(new DcsException("the session is closed"));
                }
                writing++;
            }
            CompletableFuture<T> f;
            try {
                f = body.apply(lease);
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
            return f.whenComplete((v, e) -> doneWriting());
        };
        return refresh(b).thenCompose(lease -> unlessClosed.apply(lease).exceptionallyCompose(e -> {
            // the lease expired between the keep-alive and the write: once more with a new one
            if (Failures.classify(e) == Failures.Kind.LEASE_NOT_FOUND && gone(lease, "lease " + Long.toHexString(lease)
                    + " was not found when writing with it")) {
                return refresh(b).thenCompose(unlessClosed);
            }
            return CompletableFuture.failedFuture(e);
        }));
    }

    private void doneWriting() {
        CompletableFuture<Void> d;
        synchronized (this) {
            writing--;
            d = writing == 0 ? drained : null;
        }
        if (d != null) {
            d.complete(null);
        }
    }

    private CompletableFuture<Long> refresh(Budget b) {
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
        return sender.send(b, Retry.SAFE, n -> dcs.keepAlives().once(id))
                .handle((r, e) -> {
                    if (e == null && r.getTTL() > 0) {
                        return CompletableFuture.completedFuture(id);
                    }
                    if (e == null || Failures.classify(e) == Failures.Kind.LEASE_NOT_FOUND) {
                        gone(id, "lease " + Long.toHexString(id) + " expired: etcd answered the keep-alive with TTL 0");
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
        sender.send(b, Retry.SAFE, n -> client.getLeaseClient().grant(ttlSeconds)).whenComplete((r, e) -> {
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
                dcs.warnings().warn("ttl:" + r.getTTL(), "etcd granted a lease of {} s instead of the requested {} s (its minimum TTL"
                        + " depends on --election-timeout); keys will live that long", r.getTTL(), ttlSeconds);
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
    boolean gone(long lease, String reason) {
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
        listeners.leaseLost(reason);
        return true;
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
                gone(lease, "lease " + Long.toHexString(lease) + " expired or was revoked (its keys were deleted)");
            }
        });
    }

    /** The id of the lease, 0 when there is none. */
    synchronized long id() {
        return leaseId;
    }

    // ================================================================== what was written under it

    synchronized long knownLeaderRevision(long lease) {
        return leaseId == lease ? leaderRevision : 0;
    }

    /**
     * Notes the leader key's revision under {@code lease} and the status written with it (empty:
     * none written, so the next renewal writes it); returns true (the key is ours).
     */
    synchronized boolean confirmedLeader(long lease, long revision, Optional<String> status) {
        if (leaseId == lease) {
            if (revision != leaderRevision) {
                statusWritten = null;
            }
            leaderRevision = revision;
            status.ifPresent(st -> statusWritten = st);
        }
        return true;
    }

    synchronized String writtenStatus(long lease) {
        return leaseId == lease && leaderRevision != 0 ? statusWritten : null;
    }

    synchronized void forgetLeader() {
        leaderRevision = 0;
        statusWritten = null;
    }

    /** Whether the member entry holds {@code value}, bound to {@code lease}, as this session wrote it. */
    synchronized boolean memberUnchanged(String value, long lease) {
        return value.equals(memberValue) && memberLease == lease;
    }

    synchronized void memberWritten(String value, long lease) {
        if (leaseId == lease) {
            memberValue = value;
            memberLease = lease;
        }
    }

    /** The member entry was deleted (watched): the next touch writes it again. */
    synchronized void memberKeyDeleted() {
        memberValue = null;
    }

    /** The whole cluster was deleted: nothing this session wrote is there any more. */
    synchronized void forgetWrites() {
        leaderRevision = 0;
        memberValue = null;
    }

    // ================================================================== closing

    /**
     * Revokes the lease, which deletes the member entry and (if still bound to it) the leader key
     * now instead of at ttl, after the writes with it that are under way. Waited for, but never
     * much longer than retry_timeout. No call uses the lease afterwards.
     */
    void close() {
        long lease;
        CompletableFuture<Void> writes;
        long deadline = System.nanoTime() + spec.retryTimeout().toNanos();
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            lease = leaseId;
            leaseId = 0;
            if (writing > 0) {
                drained = new CompletableFuture<>();
            }
            writes = drained;
        }
        if (lease == 0) {
            return;
        }
        try {
            if (writes != null) {
                // a write under way goes first (each is bounded by retry_timeout itself)
                try {
                    writes.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    LOG.debug("{}: a write with lease {} is still under way; revoking it anyway", spec.member().orElse("observer"),
                            Long.toHexString(lease));
                }
            }
            // at least a moment for the revoke, even when the writes took the whole time
            long left = Math.max(deadline - System.nanoTime(), TimeUnit.MILLISECONDS.toNanos(200));
            client.getLeaseClient().revoke(lease).get(left, TimeUnit.NANOSECONDS);
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
}
