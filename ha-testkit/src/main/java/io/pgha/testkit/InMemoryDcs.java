package io.pgha.testkit;

import io.pgha.TaskScheduler;
import io.pgha.Ticker;
import io.pgha.internal.engine.ThreadTaskScheduler;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * A linearizable {@link Dcs} in memory, with etcd-like leases: a lease expires {@code ttl} after the
 * last refresh <em>received</em>, and takes its keys with it. For the simulator it runs on
 * {@link VirtualTime} with random request latency; for ordinary tests it runs on real time.
 *
 * <p>Faults: {@link #partition(String)} black-holes one member's requests and watch events (its
 * lease keeps ageing on the server); {@link #setOutage(boolean)} makes the whole store refuse
 * connections, and, like an etcd cluster that lost and regained its leader, extends every lease by a
 * full ttl when it comes back.
 */
public final class InMemoryDcs implements Dcs {
    private final Ticker ticker;
    private final TaskScheduler server;
    private final Random random;
    private final long minLatency;
    private final long maxLatency;
    private final AutoCloseable ownedScheduler;

    // server state, guarded by this
    private final Map<String, Map<String, Entry>> data = new HashMap<>();
    private final Map<Long, Lease> leases = new HashMap<>();
    private final List<Watcher> watchers = new ArrayList<>();
    private final Set<String> partitioned = new HashSet<>();
    private final Set<Watcher> missedWhilePartitioned = new HashSet<>();
    private boolean outage;
    private long revision;
    private long nextLeaseId = 1;
    private long requests;

    private record Entry(String value, long version, long lease) {
    }

    private static final class Lease {
        final long id;
        final String scope;
        final String member;
        final long ttl;
        long expiresAt;
        boolean alive = true;
        Session owner;

        Lease(long id, String scope, String member, long ttl, long expiresAt) {
            this.id = id;
            this.scope = scope;
            this.member = member;
            this.ttl = ttl;
            this.expiresAt = expiresAt;
        }
    }

    private record Watcher(Session session, DcsListener listener) {
    }

    private record Change(String scope, Optional<String> path) {
    }

    /** Changes not yet announced to watchers; guarded by this. */
    private final List<Change> journal = new ArrayList<>();

    private void record(String scope, String path) {
        journal.add(new Change(scope, Optional.of(path)));
    }

    private List<Change> drainJournal() {
        synchronized (this) {
            List<Change> c = new ArrayList<>(journal);
            journal.clear();
            return c;
        }
    }

    private void announce(List<Change> changes) {
        for (Change c : changes) {
            List<Watcher> targets;
            synchronized (this) {
                targets = new ArrayList<>();
                for (Watcher w : watchers) {
                    if (w.session.spec.scope().equals(c.scope())) {
                        targets.add(w);
                    }
                }
            }
            targets.forEach(w -> deliver(w, c.path(), true));
        }
    }

    private InMemoryDcs(Builder b) {
        if (b.ticker != null) {
            this.ticker = b.ticker;
            this.server = b.scheduler;
            this.ownedScheduler = null;
        } else {
            ThreadTaskScheduler s = new ThreadTaskScheduler("in-memory-dcs");
            this.ticker = Ticker.system();
            this.server = s;
            this.ownedScheduler = s;
        }
        this.random = new Random(b.seed);
        this.minLatency = b.minLatency.toNanos();
        this.maxLatency = b.maxLatency.toNanos();
    }

    /** A store on real time with no added latency. */
    public static InMemoryDcs create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds an {@link InMemoryDcs}. */
    public static final class Builder {
        private Ticker ticker;
        private TaskScheduler scheduler;
        private long seed = 1;
        private Duration minLatency = Duration.ZERO;
        private Duration maxLatency = Duration.ZERO;

        private Builder() {
        }

        /** Runs on this clock and scheduler (virtual time) instead of real time. */
        public Builder time(Ticker ticker, TaskScheduler scheduler) {
            this.ticker = Objects.requireNonNull(ticker);
            this.scheduler = Objects.requireNonNull(scheduler);
            return this;
        }

        /** One-way latency of every request and watch event, drawn uniformly from [min, max]. */
        public Builder latency(Duration min, Duration max) {
            if (min.isNegative() || max.compareTo(min) < 0) {
                throw new IllegalArgumentException("latency: need 0 <= min <= max");
            }
            this.minLatency = min;
            this.maxLatency = max;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public InMemoryDcs build() {
            return new InMemoryDcs(this);
        }
    }

    @Override
    public DcsSession open(SessionSpec spec) {
        return new Session(spec);
    }

    @Override
    public void close() {
        if (ownedScheduler != null) {
            try {
                ownedScheduler.close();
            } catch (Exception e) {
                // nothing to do
            }
        }
    }

    // ------------------------------------------------------------------ faults

    /** Cuts one member off: its requests and watch events vanish (its calls time out). */
    public synchronized void partition(String member) {
        partitioned.add(member);
    }

    /** Reconnects a member; its watches report a change, as a resumed watch would. */
    public void heal(String member) {
        List<Watcher> notify = new ArrayList<>();
        synchronized (this) {
            partitioned.remove(member);
            for (Iterator<Watcher> it = missedWhilePartitioned.iterator(); it.hasNext(); ) {
                Watcher w = it.next();
                if (w.session.member().equals(member)) {
                    notify.add(w);
                    it.remove();
                }
            }
        }
        notify.forEach(w -> deliver(w, Optional.empty(), false));
    }

    public synchronized boolean isPartitioned(String member) {
        return partitioned.contains(member);
    }

    /** The whole store down (connections refused) or back up. Coming back extends every lease by its ttl. */
    public void setOutage(boolean down) {
        List<Watcher> notify = new ArrayList<>();
        synchronized (this) {
            if (outage && !down) {
                long now = ticker.read();
                for (Lease l : leases.values()) {
                    if (l.alive && l.expiresAt - (now + l.ttl) < 0) {
                        l.expiresAt = now + l.ttl;
                        scheduleExpiry(l);
                    }
                }
                notify.addAll(watchers);
            }
            outage = down;
        }
        notify.forEach(w -> deliver(w, Optional.empty(), false));
    }

    public synchronized boolean isDown() {
        return outage;
    }

    /** Requests served so far (for footprint figures). */
    public synchronized long requests() {
        return requests;
    }

    /** The current value of a key, for assertions. */
    public synchronized Optional<String> peek(String scope, ClusterKey key) {
        return Optional.ofNullable(data.getOrDefault(scope, Map.of()).get(key.path())).map(Entry::value);
    }

    // ------------------------------------------------------------------ server side

    private long latency() {
        if (maxLatency == 0) {
            return 0;
        }
        synchronized (random) {
            return minLatency + (long) (random.nextDouble() * (maxLatency - minLatency));
        }
    }

    private Map<String, Entry> scope(String scope) {
        return data.computeIfAbsent(scope, s -> new TreeMap<>());
    }

    /** Expires due leases (their keys go to the journal). Caller holds the lock. */
    private void expireDue() {
        if (outage) {
            return;
        }
        long now = ticker.read();
        for (Lease l : leases.values()) {
            if (l.alive && now - l.expiresAt >= 0) {
                l.alive = false;
                deleteLeaseKeys(l);
                if (l.owner != null) {
                    Session s = l.owner;
                    server.schedule(() -> s.lostLease(l.id, "lease " + l.id + " expired"), 0);
                }
            }
        }
        leases.values().removeIf(l -> !l.alive);
    }

    private boolean deleteLeaseKeys(Lease l) {
        boolean any = false;
        for (Iterator<Map.Entry<String, Entry>> it = scope(l.scope).entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Entry> e = it.next();
            if (e.getValue().lease() == l.id) {
                it.remove();
                record(l.scope, e.getKey());
                any = true;
            }
        }
        if (any) {
            revision++;
        }
        return any;
    }

    private void scheduleExpiry(Lease l) {
        long delay = Math.max(0, l.expiresAt - ticker.read());
        server.schedule(() -> {
            synchronized (InMemoryDcs.this) {
                expireDue();
            }
            announce(drainJournal());
        }, delay);
    }

    private void deliver(Watcher w, Optional<String> path, boolean delay) {
        server.schedule(() -> {
            synchronized (InMemoryDcs.this) {
                if (!watchers.contains(w)) {
                    return;
                }
                if (outage || partitioned.contains(w.session.member())) {
                    missedWhilePartitioned.add(w);
                    return;
                }
            }
            w.listener.clusterChanged(path);
        }, delay ? latency() : 0);
    }

    // ------------------------------------------------------------------ sessions

    private final class Session implements DcsSession {
        private final SessionSpec spec;
        private long leaseId;
        private boolean closed;
        private final List<Watcher> mine = new ArrayList<>();

        Session(SessionSpec spec) {
            this.spec = spec;
        }

        String member() {
            return spec.member().orElse("");
        }

        @Override
        public SessionSpec spec() {
            return spec;
        }

        /**
         * Sends one request: after half the latency it is applied on the server, after the other
         * half the answer arrives. A partitioned member's request is lost (it times out); during an
         * outage the connection is refused.
         */
        private <T> CompletableFuture<T> request(Function<String, T> op) {
            CompletableFuture<T> f = new CompletableFuture<>();
            long timeout = spec.retryTimeout().toNanos();
            TaskScheduler.Cancellable timer = server.schedule(() -> f.completeExceptionally(
                    new DcsUnreachableException("in-memory store: no answer within retry_timeout")), timeout);
            long there = latency();
            long back = latency();
            server.schedule(() -> {
                T result;
                synchronized (InMemoryDcs.this) {
                    if (partitioned.contains(member())) {
                        return;
                    }
                    if (outage) {
                        server.schedule(() -> {
                            timer.cancel();
                            f.completeExceptionally(new DcsUnreachableException("in-memory store: connection refused"));
                        }, back);
                        return;
                    }
                    requests++;
                    expireDue();
                    try {
                        result = op.apply(spec.scope());
                    } catch (RuntimeException e) {
                        server.schedule(() -> {
                            timer.cancel();
                            f.completeExceptionally(e);
                        }, back);
                        return;
                    }
                }
                announce(drainJournal());
                server.schedule(() -> {
                    boolean lost;
                    synchronized (InMemoryDcs.this) {
                        lost = partitioned.contains(member());
                    }
                    if (!lost) {
                        timer.cancel();
                        f.complete(result);
                    }
                }, back);
            }, there);
            return f;
        }

        private void requireMember() {
            if (spec.member().isEmpty()) {
                throw new IllegalStateException("an observer session cannot hold a lease");
            }
        }

        /** Refreshes (or creates) this session's lease. Caller holds the lock. */
        private Lease refreshLease() {
            long now = ticker.read();
            Lease l = leases.get(leaseId);
            if (l == null || !l.alive) {
                l = new Lease(nextLeaseId++, spec.scope(), member(), spec.ttl().toNanos(), now + spec.ttl().toNanos());
                l.owner = this;
                leases.put(l.id, l);
                leaseId = l.id;
            } else {
                l.expiresAt = now + l.ttl;
            }
            scheduleExpiry(l);
            return l;
        }

        void lostLease(long id, String reason) {
            List<Watcher> ws;
            synchronized (InMemoryDcs.this) {
                if (id != leaseId || closed || partitioned.contains(member()) || outage) {
                    return;
                }
                ws = new ArrayList<>(mine);
            }
            ws.forEach(w -> w.listener.leaseLost(reason));
        }

        private void put(String scope, String path, String value, long lease) {
            revision++;
            scope(scope).put(path, new Entry(value, revision, lease));
            record(scope, path);
        }

        private void remove(String scope, String path) {
            if (scope(scope).remove(path) != null) {
                revision++;
                record(scope, path);
            }
        }

        @Override
        public CompletionStage<ClusterSnapshot> read() {
            return request(scope -> {
                Map<ClusterKey, DcsEntry> keys = new EnumMap<>(ClusterKey.class);
                Map<String, DcsEntry> members = new HashMap<>();
                for (Map.Entry<String, Entry> e : scope(scope).entrySet()) {
                    String path = e.getKey();
                    DcsEntry v = new DcsEntry(e.getValue().value(), e.getValue().version());
                    if (path.startsWith(ClusterKey.MEMBERS_PREFIX)) {
                        members.put(path.substring(ClusterKey.MEMBERS_PREFIX.length()), v);
                    } else {
                        ClusterKey k = ClusterKey.fromPath(path);
                        if (k != null) {
                            keys.put(k, v);
                        }
                    }
                }
                return new ClusterSnapshot(revision, keys, members);
            });
        }

        @Override
        public CompletionStage<Boolean> acquireLeader() {
            requireMember();
            return request(scope -> {
                Lease l = refreshLease();
                if (scope(scope).containsKey(ClusterKey.LEADER.path())) {
                    return false;
                }
                put(scope, ClusterKey.LEADER.path(), member(), l.id);
                return true;
            });
        }

        @Override
        public CompletionStage<Boolean> renewLeader(Optional<String> status) {
            requireMember();
            return request(scope -> {
                Lease l = refreshLease();
                Entry leader = scope(scope).get(ClusterKey.LEADER.path());
                if (leader != null && !leader.value().equals(member())) {
                    return false;
                }
                if (leader == null || leader.lease() != l.id) {
                    put(scope, ClusterKey.LEADER.path(), member(), l.id);
                }
                status.ifPresent(s -> put(scope, ClusterKey.STATUS.path(), s, 0));
                return true;
            });
        }

        @Override
        public CompletionStage<Boolean> releaseLeader() {
            requireMember();
            return request(scope -> {
                Entry leader = scope(scope).get(ClusterKey.LEADER.path());
                if (leader == null || !leader.value().equals(member())) {
                    return false;
                }
                remove(scope, ClusterKey.LEADER.path());
                return true;
            });
        }

        @Override
        public CompletionStage<Void> touchMember(String value) {
            requireMember();
            return request(scope -> {
                Lease l = refreshLease();
                String path = ClusterKey.MEMBERS_PREFIX + member();
                Entry e = scope(scope).get(path);
                if (e == null || !e.value().equals(value) || e.lease() != l.id) {
                    put(scope, path, value, l.id);
                }
                return null;
            });
        }

        private void requireVersioned(ClusterKey key) {
            if (key == ClusterKey.LEADER || key == ClusterKey.STATUS) {
                throw new IllegalArgumentException(key + " is written only through the lease methods");
            }
        }

        @Override
        public CompletionStage<Boolean> compareAndSet(ClusterKey key, String value, long expectedVersion) {
            requireVersioned(key);
            Objects.requireNonNull(value, "value");
            return request(scope -> {
                Entry e = scope(scope).get(key.path());
                boolean ok = expectedVersion == DcsEntry.ABSENT ? e == null : e != null && e.version() == expectedVersion;
                if (ok) {
                    put(scope, key.path(), value, 0);
                }
                return ok;
            });
        }

        @Override
        public CompletionStage<Boolean> compareAndDelete(ClusterKey key, long expectedVersion) {
            requireVersioned(key);
            return request(scope -> {
                Entry e = scope(scope).get(key.path());
                if (e == null || e.version() != expectedVersion) {
                    return false;
                }
                remove(scope, key.path());
                return true;
            });
        }

        @Override
        public CompletionStage<Void> deleteCluster() {
            return request(scope -> {
                for (String path : new ArrayList<>(scope(scope).keySet())) {
                    remove(scope, path);
                }
                return null;
            });
        }

        @Override
        public Subscription watch(DcsListener listener) {
            Watcher w = new Watcher(this, listener);
            synchronized (InMemoryDcs.this) {
                watchers.add(w);
                mine.add(w);
            }
            return () -> {
                synchronized (InMemoryDcs.this) {
                    watchers.remove(w);
                    mine.remove(w);
                    missedWhilePartitioned.remove(w);
                }
            };
        }

        @Override
        public void close() {
            synchronized (InMemoryDcs.this) {
                if (closed) {
                    return;
                }
                closed = true;
                watchers.removeAll(mine);
                missedWhilePartitioned.removeAll(mine);
                mine.clear();
                Lease l = leases.get(leaseId);
                if (l != null && l.alive && !partitioned.contains(member()) && !outage) {
                    l.alive = false;
                    deleteLeaseKeys(l);
                    leases.remove(l.id);
                }
            }
            announce(drainJournal());
        }
    }
}
