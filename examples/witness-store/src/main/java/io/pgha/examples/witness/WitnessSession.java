package io.pgha.examples.witness;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import io.pgha.spi.support.DcsListeners;
import io.pgha.spi.support.GuardedListener;
import io.pgha.spi.support.SessionChecks;
import io.pgha.spi.support.SnapshotBuilder;
import io.pgha.spi.support.StrictUtf8;
import io.pgha.spi.support.WarnOnce;
import io.pgha.spi.support.WriteRevision;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member's (or an observer's) view of one cluster in the witness database.
 *
 * <h2>The lease</h2>
 * A member session owns one row of {@code leases}; its leader key and member entry point to it.
 * Every lease-bound call ({@link #acquireLeader}, {@link #renewLeader}, {@link #touchMember}) first
 * refreshes it in the same transaction:
 * {@code UPDATE leases SET expires_at = statement_timestamp() + ttl WHERE id = ? AND expires_at > statement_timestamp()}.
 * No row updated means the lease expired (or was reaped): a new one is created, the old one is
 * reported through {@link DcsListener#leaseLost}, and the keys bound to the old one stay invisible.
 *
 * <p><b>Why {@code statement_timestamp()} and why the guarantee is the full ttl.</b> The engine
 * notes the time <em>before</em> it calls and believes in its leadership until then plus the
 * {@link #leaseGuarantee()}. {@code statement_timestamp()} is when the witness received the
 * statement, which is after the member sent it; a lease that ends {@code ttl} after it therefore
 * ends no earlier than {@code ttl} after the member's noted time, so the member stops believing
 * before any other member can see the key expire. Unlike {@code now()}, the statement's time is
 * never earlier than the request (a transaction begun earlier would make {@code now()} earlier and
 * the lease shorter than promised). The witness's clock alone judges expiry, for every member: the
 * members' clocks never enter, only the rate at which two clocks run, and the witness clock must
 * not be stepped forward (NTP slewing, not stepping; see the README). The key of a dead member
 * disappears at most ttl plus one network trip after its last renewal was sent.
 *
 * <h2>Atomicity</h2>
 * Create-if-absent is {@code INSERT ... ON CONFLICT (scope, path) DO NOTHING}. A leader key whose
 * lease expired counts as absent: it is taken over, after a locking read of the key and of its lease
 * shows the lease expired in its newest committed version ({@link #lockLeader}: a plain subquery
 * would judge by the statement's snapshot, and two members could both take the key, which the
 * contract suite caught). Compare-and-set compares the
 * {@code version} column. Every write takes a new version from the {@code revision} sequence; the
 * snapshot's revision is that sequence's {@code last_value}, so a read started after a write
 * returns a revision no smaller than the write's ({@link #writeRevision()}).
 *
 * <p>Reads are never cached: {@link #read()} already reads the database, so
 * {@link #readAuthoritative()} is the same query.
 */
final class WitnessSession implements DcsSession {
    private static final Logger LOG = LoggerFactory.getLogger(WitnessSession.class);
    /** A key that keeps changing under a call is looked at this many times at most. */
    private static final int MAX_ROUNDS = 5;

    private final SessionSpec spec;
    private final WitnessCalls calls;
    private final WitnessSchema schema;
    private final WitnessWatcher watcher;
    private final Consumer<WitnessSession> onClose;
    private final DcsListeners listeners = new DcsListeners();
    private final WriteRevision writeRevision = new WriteRevision();
    private final WarnOnce warnings = new WarnOnce(LOG, 100);
    private final long ttlMs;

    // guarded by this
    private Long leaseId;
    private boolean closed;

    WitnessSession(SessionSpec spec, WitnessCalls calls, WitnessSchema schema, WitnessWatcher watcher, Consumer<WitnessSession> onClose) {
        this.spec = spec;
        this.calls = calls;
        this.schema = schema;
        this.watcher = watcher;
        this.onClose = onClose;
        this.ttlMs = spec.ttl().toMillis();
    }

    @Override
    public SessionSpec spec() {
        return spec;
    }

    String scope() {
        return spec.scope();
    }

    DcsListeners listeners() {
        return listeners;
    }

    @Override
    public long writeRevision() {
        return writeRevision.get();
    }

    // ================================================================== reads

    @Override
    public CompletionStage<ClusterSnapshot> read() {
        return call("read the cluster", false, this::readNow);
    }

    private ClusterSnapshot readNow(Connection c) throws SQLException {
        SnapshotBuilder b = new SnapshotBuilder();
        long revision = 0;
        try (PreparedStatement st = c.prepareStatement(schema.read)) {
            st.setString(1, scope());
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    revision = rs.getLong(4);
                    String path = rs.getString(1);
                    if (path == null) {
                        continue; // the row that carries only the revision
                    }
                    SnapshotBuilder.Placement p = b.add(path, rs.getBytes(2), rs.getLong(3));
                    if (p == SnapshotBuilder.Placement.NOT_TEXT) {
                        warnings.warn(scope() + "/" + path, "{}/{} in the witness database is not UTF-8 text; left out", scope(), path);
                    }
                }
            }
        }
        return b.build(revision);
    }

    // ================================================================== the leader key

    @Override
    public CompletionStage<Boolean> acquireLeader() {
        String me = SessionChecks.requireMember(spec);
        return lease("take the leader key", (c, lease) -> {
            for (int round = 0; round < MAX_ROUNDS; round++) {
                LeaderRow row = lockLeader(c);
                if (row == null) {
                    Wrote<Boolean> created = createLeader(c, me, lease);
                    if (created.value()) {
                        return created;
                    }
                    continue; // someone created it meanwhile: look at what they wrote
                }
                return row.alive() ? new Wrote<>(false, 0) : takeLeader(c, me, lease);
            }
            throw new SQLException("the leader key kept changing while taking it", "40001");
        });
    }

    @Override
    public CompletionStage<Boolean> renewLeader(Optional<String> status) {
        String me = SessionChecks.requireMember(spec);
        Objects.requireNonNull(status, "status");
        return lease("renew the leader key", (c, lease) -> {
            Wrote<Boolean> held = holdLeader(c, me, lease);
            if (!held.value() || status.isEmpty()) {
                return held;
            }
            long v = nextRevision(c);
            try (PreparedStatement st = c.prepareStatement(schema.writeStatus)) {
                st.setString(1, scope());
                st.setBytes(2, StrictUtf8.encode(status.get()));
                st.setLong(3, v);
                return st.executeUpdate() == 1 ? new Wrote<>(true, v) : held;
            }
        });
    }

    /** The ownership check and the rebind, in the renewal's transaction, with the leader key and its lease locked. */
    private Wrote<Boolean> holdLeader(Connection c, String me, long lease) throws SQLException {
        for (int round = 0; round < MAX_ROUNDS; round++) {
            LeaderRow row = lockLeader(c);
            if (row == null) {
                // absent: created as by acquireLeader (someone may win the race in between: then look again)
                Wrote<Boolean> created = createLeader(c, me, lease);
                if (created.value()) {
                    return created;
                }
                continue;
            }
            if (!row.alive()) {
                return takeLeader(c, me, lease); // expired, so absent: ours again under our live lease
            }
            if (!Arrays.equals(row.value(), StrictUtf8.encode(me))) {
                LOG.info("{}: the leader key names another member", me);
                return new Wrote<>(false, 0);
            }
            if (row.lease() != null && row.lease() == lease) {
                return new Wrote<>(true, 0); // ours, and the lease was just refreshed: nothing to write
            }
            LOG.info("{}: rebinding the leader key from lease {} to this session's lease {}", me, row.lease(), lease);
            return takeLeader(c, me, lease);
        }
        throw new SQLException("the leader key kept changing while renewing it", "40001");
    }

    /** The leader key as it is now, and whether its lease is alive now. */
    private record LeaderRow(byte[] value, Long lease, boolean alive) {
    }

    /**
     * Locks the leader key and the lease it is bound to and tells whether that lease is alive, by
     * the witness clock, in its newest committed version; {@code null} when there is no key.
     *
     * <p>Why the locks: in READ COMMITTED a statement judges a subquery by its own snapshot, so a
     * lease renewed by a transaction that commits meanwhile would still look expired, and a key
     * just created (with its new lease) would look dead. A locking read waits for such a
     * transaction and then returns the row's newest version. The lease is locked before the key,
     * the order a renewal takes too (its own lease, then the key), so the two never wait for each
     * other in a cycle.
     */
    private LeaderRow lockLeader(Connection c) throws SQLException {
        for (int round = 0; round < MAX_ROUNDS; round++) {
            LeaderRow seen = leaderRow(c, schema.leader, true);
            if (seen == null) {
                return null;
            }
            boolean alive = true; // a key bound to no lease (written by hand) never expires
            if (seen.lease() != null) {
                try (PreparedStatement st = c.prepareStatement(schema.leaseAlive)) {
                    st.setLong(1, seen.lease());
                    try (ResultSet rs = st.executeQuery()) {
                        alive = rs.next() && rs.getBoolean(1); // no row: reaped, so expired
                    }
                }
            }
            LeaderRow locked = leaderRow(c, schema.leaderForUpdate, alive);
            if (locked == null) {
                return null; // deleted meanwhile (released, reaped)
            }
            if (Objects.equals(locked.lease(), seen.lease()) && Arrays.equals(locked.value(), seen.value())) {
                return locked;
            }
            // rebound or taken over between the two reads: look again
        }
        throw new SQLException("the leader key kept changing", "40001");
    }

    private LeaderRow leaderRow(Connection c, String sql, boolean alive) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setString(1, scope());
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                long lease = rs.getLong(2);
                return new LeaderRow(rs.getBytes(1), rs.wasNull() ? null : lease, alive);
            }
        }
    }

    /** Creates the key if absent ({@code INSERT ... ON CONFLICT DO NOTHING}); false when it exists. */
    private Wrote<Boolean> createLeader(Connection c, String me, long lease) throws SQLException {
        long v = nextRevision(c);
        try (PreparedStatement ins = c.prepareStatement(schema.insertLeader)) {
            ins.setString(1, scope());
            ins.setBytes(2, StrictUtf8.encode(me));
            ins.setLong(3, v);
            ins.setLong(4, lease);
            return ins.executeUpdate() == 1 ? new Wrote<>(true, v) : new Wrote<>(false, 0);
        }
    }

    /** Writes our name and lease into the key locked by {@link #lockLeader}. */
    private Wrote<Boolean> takeLeader(Connection c, String me, long lease) throws SQLException {
        long v = nextRevision(c);
        try (PreparedStatement up = c.prepareStatement(schema.rebindLeader)) {
            up.setBytes(1, StrictUtf8.encode(me));
            up.setLong(2, lease);
            up.setLong(3, v);
            up.setString(4, scope());
            up.executeUpdate();
        }
        return new Wrote<>(true, v);
    }

    @Override
    public CompletionStage<Boolean> releaseLeader() {
        String me = SessionChecks.requireMember(spec);
        return write("release the leader key", c -> {
            try (PreparedStatement st = c.prepareStatement(schema.releaseLeader)) {
                st.setString(1, scope());
                st.setBytes(2, StrictUtf8.encode(me));
                if (st.executeUpdate() == 0) {
                    return new Wrote<>(false, 0);
                }
            }
            return new Wrote<>(true, nextRevision(c));
        });
    }

    @Override
    public CompletionStage<Void> touchMember(String value) {
        String me = SessionChecks.requireMember(spec);
        Objects.requireNonNull(value, "value");
        return lease("write the member entry", (c, lease) -> {
            long v = nextRevision(c);
            try (PreparedStatement st = c.prepareStatement(schema.writeMember)) {
                st.setString(1, scope());
                st.setString(2, ClusterKey.MEMBERS_PREFIX + me);
                st.setBytes(3, StrictUtf8.encode(value));
                st.setLong(4, v);
                st.setLong(5, lease);
                return new Wrote<Void>(null, st.executeUpdate() == 1 ? v : 0);
            }
        });
    }

    // ================================================================== versioned keys

    @Override
    public CompletionStage<Boolean> compareAndSet(ClusterKey key, String value, long expectedVersion) {
        SessionChecks.requireVersioned(key);
        Objects.requireNonNull(value, "value");
        return write("compare-and-set " + key.path(), c -> {
            long v = nextRevision(c);
            if (expectedVersion == DcsEntry.ABSENT) {
                try (PreparedStatement st = c.prepareStatement(schema.insertIfAbsent)) {
                    st.setString(1, scope());
                    st.setString(2, key.path());
                    st.setBytes(3, StrictUtf8.encode(value));
                    st.setLong(4, v);
                    return st.executeUpdate() == 1 ? new Wrote<>(true, v) : new Wrote<>(false, 0);
                }
            }
            try (PreparedStatement st = c.prepareStatement(schema.updateIfVersion)) {
                st.setBytes(1, StrictUtf8.encode(value));
                st.setLong(2, v);
                st.setString(3, scope());
                st.setString(4, key.path());
                st.setLong(5, expectedVersion);
                return st.executeUpdate() == 1 ? new Wrote<>(true, v) : new Wrote<>(false, 0);
            }
        });
    }

    @Override
    public CompletionStage<Boolean> compareAndDelete(ClusterKey key, long expectedVersion) {
        SessionChecks.requireVersioned(key);
        return write("compare-and-delete " + key.path(), c -> {
            try (PreparedStatement st = c.prepareStatement(schema.deleteIfVersion)) {
                st.setString(1, scope());
                st.setString(2, key.path());
                st.setLong(3, expectedVersion);
                if (st.executeUpdate() == 0) {
                    return new Wrote<>(false, 0);
                }
            }
            return new Wrote<>(true, nextRevision(c));
        });
    }

    @Override
    public CompletionStage<Void> deleteCluster() {
        return call("delete the cluster", false, c -> {
            try (PreparedStatement st = c.prepareStatement(schema.deleteCluster)) {
                st.setString(1, scope());
                st.executeUpdate();
            }
            return null;
        });
    }

    // ================================================================== watch, close

    @Override
    public Subscription watch(DcsListener listener) {
        Objects.requireNonNull(listener, "listener");
        GuardedListener g;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the session is closed");
            }
            g = listeners.add(listener);
        }
        watcher.register(this);
        return () -> {
            g.close();
            if (listeners.size() == 0) {
                watcher.unregister(this);
            }
        };
    }

    /** The watch saw lease {@code id} of this scope deleted (reaped after it expired, or deleted by hand). */
    void leaseDeleted(long id) {
        synchronized (this) {
            if (closed || leaseId == null || leaseId != id) {
                return;
            }
            leaseId = null;
        }
        listeners.leaseLost("lease " + id + " was deleted from the witness database after it expired");
    }

    /**
     * Deletes this session's lease, so that its member entry (and the leader key, if it still
     * holds it) go at once; waits at most retry_timeout for that.
     */
    @Override
    public void close() {
        Long lease;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            lease = leaseId;
            leaseId = null;
        }
        listeners.closeAll();
        watcher.unregister(this);
        try {
            if (lease != null) {
                CompletableFuture<Object> deleted = calls.call("delete the lease", spec.retryTimeout(), false, c -> {
                    try (PreparedStatement st = c.prepareStatement(schema.deleteLease)) {
                        st.setLong(1, lease);
                        st.executeUpdate();
                    }
                    return null;
                });
                deleted.get(spec.retryTimeout().toMillis() + 100, TimeUnit.MILLISECONDS);
            }
        } catch (ExecutionException | TimeoutException e) {
            LOG.info("{}: could not delete the lease when closing (it expires by itself within the ttl): {}", spec.member().orElse("observer"),
                    e.getCause() != null ? e.getCause().getMessage() : e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            onClose.accept(this);
        }
    }

    @Override
    public String toString() {
        return "WitnessSession[" + scope() + (spec.member().map(m -> ", " + m).orElse(", observer")) + "]";
    }

    // ================================================================== helpers

    /** What a write returned, and the revision it took effect at (0: it wrote nothing). */
    private record Wrote<T>(T value, long revision) {
    }

    @FunctionalInterface
    private interface LeaseWork<T> {
        Wrote<T> run(Connection c, long lease) throws SQLException;
    }

    private <T> CompletableFuture<T> call(String what, boolean transactional, WitnessCalls.Work<T> work) {
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(new DcsException("the session is closed (" + what + ")"));
            }
        }
        return calls.call(what, spec.retryTimeout(), transactional, work);
    }

    /** A write in one transaction; notes its revision. */
    private <T> CompletionStage<T> write(String what, WitnessCalls.Work<Wrote<T>> work) {
        return call(what, true, work).thenApply(w -> {
            if (w.revision() > 0) {
                writeRevision.wrote(w.revision());
            }
            return w.value();
        });
    }

    /** What the lease step found: the lease to use, and the one that turned out to be lost (or null). */
    private record LeaseStep<T>(Wrote<T> wrote, long lease, Long lost) {
    }

    /**
     * A lease-bound write: refreshes this session's lease (or creates one) and runs {@code work}
     * with it, in one transaction; adopts the lease once committed.
     */
    private <T> CompletionStage<T> lease(String what, LeaseWork<T> work) {
        return call(what, true, c -> {
            Long current;
            synchronized (this) {
                current = leaseId;
            }
            long lease;
            Long lost = null;
            if (current != null && refresh(c, current)) {
                lease = current;
            } else {
                lost = current;
                lease = newLease(c);
            }
            return new LeaseStep<>(work.run(c, lease), lease, lost);
        }).thenApply(step -> {
            boolean reportLoss;
            synchronized (this) {
                reportLoss = step.lost() != null && step.lost().equals(leaseId);
                if (!closed && (leaseId == null || leaseId.equals(step.lost()) || reportLoss)) {
                    leaseId = step.lease();
                }
            }
            if (reportLoss) {
                listeners.leaseLost("lease " + step.lost() + " expired in the witness database");
            }
            if (step.wrote().revision() > 0) {
                writeRevision.wrote(step.wrote().revision());
            }
            return step.wrote().value();
        });
    }

    private boolean refresh(Connection c, long lease) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(schema.renewLease)) {
            st.setLong(1, ttlMs);
            st.setLong(2, lease);
            return st.executeUpdate() == 1;
        }
    }

    /** A new lease; first deletes the scope's expired ones (and so their keys), which nobody can renew any more. */
    private long newLease(Connection c) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(schema.reapExpired)) {
            st.setArray(1, c.createArrayOf("text", new String[] {scope()}));
            st.executeUpdate();
        }
        try (PreparedStatement st = c.prepareStatement(schema.newLease)) {
            st.setString(1, scope());
            st.setString(2, spec.memberName());
            st.setLong(3, ttlMs);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private long nextRevision(Connection c) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(schema.nextRevision); ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
