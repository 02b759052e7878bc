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
 * A {@link Dcs} in memory, with etcd-like leases: a lease expires {@code ttl} after the last
 * refresh <em>received</em>, and takes its keys with it. For the simulator it runs on
 * {@link VirtualTime} with random request latency; for ordinary tests it runs on real time. The
 * server is linearizable; what a member sees of it can be as stale as a real client's view.
 *
 * <p>Faults, each as a real store and its clients produce them:
 * <ul>
 *   <li>{@link #partition(String)}: one member's requests and watch events vanish (its calls time
 *       out) while its lease keeps ageing on the server;</li>
 *   <li>{@link #setOutage(boolean)}: the whole store refuses connections; when it comes back every
 *       lease is extended by a full ttl (an etcd that restarted, or whose cluster regained a
 *       leader);</li>
 *   <li>{@link #setFrozen(boolean)}: the whole store stops answering (an etcd under {@code SIGSTOP},
 *       a stalled disk): requests are held, their callers time out, and when it resumes the held
 *       requests are applied in order although nobody hears their answers any more (lost replies),
 *       and every lease whose ttl ran out meanwhile ends at once, so every member races again;</li>
 *   <li>with {@link Builder#cachedReads(boolean)}, a member session answers {@link DcsSession#read()}
 *       from a copy its watch keeps, as etcd's watch cache does: the copy lags the store by the
 *       watch's latency, even behind the member's own writes; {@link #staleReads(String, boolean)}
 *       makes one member's copy skip changes while claiming their revision, as a watch cache misled
 *       by an early progress report (etcd#15220) does, until a
 *       {@link DcsSession#readAuthoritative()} refills it.</li>
 * </ul>
 */
public final class InMemoryDcs implements Dcs {
    private final Ticker ticker;
    private final TaskScheduler server;
    private final Random random;
    private final long minLatency;
    private final long maxLatency;
    private final boolean cachedReads;
    private final AutoCloseable ownedScheduler;

    // server state, guarded by this
    private final Map<String, Map<String, Entry>> data = new HashMap<>();
    private final Map<Long, Lease> leases = new HashMap<>();
    private final List<Watcher> watchers = new ArrayList<>();
    private final Set<String> partitioned = new HashSet<>();
    private final Set<String> skipping = new HashSet<>();
    private final Set<Watcher> missedWhilePartitioned = new HashSet<>();
    /** Requests and watch deliveries held while the store is frozen, in arrival order. */
    private final List<Runnable> heldWhileFrozen = new ArrayList<>();
    private boolean outage;
    private boolean frozen;
    /** The request being applied arrived after its caller gave up (see {@link Session#refreshLease}). */
    private boolean applyingLate;
    private final Set<String> losingReplies = new HashSet<>();
    /** Members whose answers come back late: the most each answer is delayed by, in nanoseconds. */
    private final Map<String, Long> slowReplies = new HashMap<>();
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

    private static final class Watcher {
        final Session session;
        final DcsListener listener;
        /** Deliveries to one watcher keep their order, as events on one watch stream do. */
        long lastDeliveryAt;

        Watcher(Session session, DcsListener listener) {
            this.session = session;
            this.listener = listener;
        }
    }

    /** One change as the watch reports it: the key's new entry (empty: deleted) at {@code revision}. */
    private record Change(String scope, String path, Optional<Entry> entry, long revision) {
    }

    /** Changes not yet announced to watchers; guarded by this. */
    private final List<Change> journal = new ArrayList<>();

    private void record(String scope, String path, Optional<Entry> entry) {
        journal.add(new Change(scope, path, entry, revision));
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
            targets.forEach(w -> deliver(w, Optional.of(c), true));
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
        this.cachedReads = b.cachedReads;
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
        private boolean cachedReads;

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

        /**
         * Member sessions with a watch answer {@link DcsSession#read()} from the copy their watch
         * keeps, which lags the store by the watch's latency and does not wait for the session's own
         * writes: meaner than the {@link DcsSession} contract allows, on purpose, so that a test
         * shows the engine never acts on a view older than what it wrote. Off by default (the
         * contract suite runs with it off).
         */
        public Builder cachedReads(boolean cachedReads) {
            this.cachedReads = cachedReads;
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

    /** Reconnects a member; its watches catch up and report a change, as a resumed watch would. */
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
                missedWhilePartitioned.removeIf(w -> !partitioned.contains(w.session.member()));
            }
            outage = down;
        }
        notify.forEach(w -> deliver(w, Optional.empty(), false));
    }

    public synchronized boolean isDown() {
        return outage;
    }

    /**
     * The whole store stops answering, or resumes. While frozen, requests and watch events are held
     * and leases do not expire. On resuming, every lease whose ttl ran out ends at once (its keys
     * go, its owner hears of it), then the held requests are applied in the order they arrived (a
     * caller that gave up never hears the answer) and the held watch events are delivered.
     */
    public void setFrozen(boolean freeze) {
        List<Runnable> held;
        synchronized (this) {
            if (frozen == freeze) {
                return;
            }
            frozen = freeze;
            if (freeze) {
                return;
            }
            expireDue();
            held = new ArrayList<>(heldWhileFrozen);
            heldWhileFrozen.clear();
        }
        announce(drainJournal());
        held.forEach(Runnable::run);
        synchronized (this) {
            for (Lease l : leases.values()) {
                scheduleExpiry(l);
            }
        }
    }

    public synchronized boolean isFrozen() {
        return frozen;
    }

    /**
     * While on, {@code member}'s read cache skips every change its watch delivers, yet moves its
     * revision past it; when turned off it applies changes again but stays wrong about what it
     * skipped until its session reads from the store itself. Only with {@link Builder#cachedReads}.
     */
    public synchronized void staleReads(String member, boolean on) {
        if (on) {
            skipping.add(member);
        } else {
            skipping.remove(member);
        }
    }

    /**
     * While on, every other request of {@code member} is applied by the store but its answer is
     * lost: the caller times out not knowing whether its write happened.
     */
    public synchronized void loseReplies(String member, boolean on) {
        if (on) {
            losingReplies.add(member);
        } else {
            losingReplies.remove(member);
        }
    }

    /**
     * While {@code maxDelay} is positive, everything the store sends {@code member} comes late by a
     * delay drawn uniformly up to it: every answer (after its request took effect), every watch
     * event (in order), every lease-lost notice. A congested link, a client whose one connection
     * carries all three and whose thread picks them up late. {@link Duration#ZERO} ends it.
     */
    public synchronized void slowReplies(String member, Duration maxDelay) {
        if (maxDelay.isZero() || maxDelay.isNegative()) {
            slowReplies.remove(member);
        } else {
            slowReplies.put(member, maxDelay.toNanos());
        }
    }

    /** Requests served so far (for footprint figures). */
    public synchronized long requests() {
        return requests;
    }

    /** The current value of a key, for assertions. */
    public synchronized Optional<String> peek(String scope, ClusterKey key) {
        return Optional.ofNullable(data.getOrDefault(scope, Map.of()).get(key.path())).map(Entry::value);
    }

    /** Everything the store holds for {@code scope} right now, as a member's read would show it, for assertions. */
    public synchronized ClusterSnapshot peekAll(String scope) {
        return snapshotOf(scope(scope), revision);
    }

    /** The current value of a member's entry, for assertions. */
    public synchronized Optional<String> peekMember(String scope, String member) {
        return Optional.ofNullable(data.getOrDefault(scope, Map.of()).get(ClusterKey.MEMBERS_PREFIX + member)).map(Entry::value);
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

    /** How late the next thing sent to {@code member} arrives (0 unless its replies are slow). Caller holds the lock. */
    private long slowness(String member) {
        long most = slowReplies.getOrDefault(member, 0L);
        if (most == 0) {
            return 0;
        }
        synchronized (random) {
            return (long) (random.nextDouble() * most);
        }
    }

    private Map<String, Entry> scope(String scope) {
        return data.computeIfAbsent(scope, s -> new TreeMap<>());
    }

    /** Expires due leases (their keys go to the journal). Caller holds the lock. */
    private void expireDue() {
        if (outage || frozen) {
            return;
        }
        long now = ticker.read();
        for (Lease l : leases.values()) {
            if (l.alive && now - l.expiresAt >= 0) {
                l.alive = false;
                deleteLeaseKeys(l);
                if (l.owner != null) {
                    Session s = l.owner;
                    server.schedule(() -> s.lostLease(l.id, "lease " + l.id + " expired"), slowness(l.member));
                }
            }
        }
        leases.values().removeIf(l -> !l.alive);
    }

    private void deleteLeaseKeys(Lease l) {
        List<String> gone = new ArrayList<>();
        for (Iterator<Map.Entry<String, Entry>> it = scope(l.scope).entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Entry> e = it.next();
            if (e.getValue().lease() == l.id) {
                // the key first: TreeMap's iterator may reuse the removed entry for its successor
                gone.add(e.getKey());
                it.remove();
            }
        }
        if (!gone.isEmpty()) {
            revision++;
            gone.forEach(path -> record(l.scope, path, Optional.empty()));
        }
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

    /**
     * Delivers {@code change} (empty: "something may have changed", after a reconnect) to one watcher,
     * after the watch's latency and never before an earlier delivery to the same watcher.
     */
    private void deliver(Watcher w, Optional<Change> change, boolean delay) {
        long at;
        synchronized (this) {
            at = Math.max(ticker.read() + (delay ? latency() : 0) + slowness(w.session.member()), w.lastDeliveryAt);
            w.lastDeliveryAt = at;
        }
        server.schedule(() -> {
            synchronized (InMemoryDcs.this) {
                if (!watchers.contains(w)) {
                    return;
                }
                if (frozen) {
                    heldWhileFrozen.add(() -> deliver(w, change, false));
                    return;
                }
                if (outage || partitioned.contains(w.session.member())) {
                    // a resumed watch catches up on what it missed: the copy is refilled when it reconnects
                    missedWhilePartitioned.add(w);
                    w.session.cacheMissedChanges();
                    return;
                }
                change.ifPresentOrElse(c -> w.session.watched(c), w.session::resync);
            }
            w.listener.clusterChanged(change.map(Change::path));
        }, Math.max(0, at - ticker.read()));
    }

    /** A late request whose lease is gone: it changes nothing and nobody hears of it. */
    private static final class LateRequest extends RuntimeException {
        LateRequest() {
            super(null, null, false, false);
        }
    }

    private static ClusterSnapshot snapshotOf(Map<String, Entry> entries, long revision) {
        Map<ClusterKey, DcsEntry> keys = new EnumMap<>(ClusterKey.class);
        Map<String, DcsEntry> members = new HashMap<>();
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
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
    }

    // ------------------------------------------------------------------ sessions

    private final class Session implements DcsSession {
        private final SessionSpec spec;
        private long leaseId;
        private boolean closed;
        private final List<Watcher> mine = new ArrayList<>();
        private volatile long writeRevision;

        // the read cache, guarded by InMemoryDcs.this
        private Map<String, Entry> cache;
        /** The copy holds every change up to this revision as the store had it (changes up to it are skipped). */
        private long seedRevision;
        /** The revision the copy claims to be at: with skipped changes, more than it really holds. */
        private long cacheRevision;
        /** The session's last request was answered, at this time; a silent store is not read from memory. */
        private boolean answered;
        private long answeredAt;

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
         * Sends one request: after half the latency it reaches the server, after the other half the
         * answer arrives. A partitioned member's request is lost (it times out); during an outage
         * the connection is refused; while the store is frozen the request waits and is applied when
         * it resumes, by which time its caller has usually given up.
         */
        private <T> CompletableFuture<T> request(Function<String, T> op) {
            CompletableFuture<T> f = new CompletableFuture<>();
            long timeout = spec.retryTimeout().toNanos();
            TaskScheduler.Cancellable timer = server.schedule(() -> {
                if (f.completeExceptionally(new DcsUnreachableException("in-memory store: no answer within retry_timeout"))) {
                    noteAnswer(false);
                }
            }, timeout);
            long there = latency();
            long back = latency();
            server.schedule(() -> arrive(op, f, timer, back), there);
            return f;
        }

        private <T> void arrive(Function<String, T> op, CompletableFuture<T> f, TaskScheduler.Cancellable timer, long back) {
            T result;
            synchronized (InMemoryDcs.this) {
                if (partitioned.contains(member())) {
                    return;
                }
                if (frozen) {
                    heldWhileFrozen.add(() -> arrive(op, f, timer, back));
                    return;
                }
                if (outage) {
                    server.schedule(() -> {
                        timer.cancel();
                        if (f.completeExceptionally(new DcsUnreachableException("in-memory store: connection refused"))) {
                            noteAnswer(false);
                        }
                    }, back);
                    return;
                }
                requests++;
                expireDue();
                applyingLate = f.isDone();
                try {
                    result = op.apply(spec.scope());
                } catch (LateRequest e) {
                    return; // nobody listens any more
                } catch (RuntimeException e) {
                    server.schedule(() -> {
                        timer.cancel();
                        f.completeExceptionally(e);
                    }, back);
                    return;
                } finally {
                    applyingLate = false;
                }
            }
            announce(drainJournal());
            boolean dropReply;
            long slow;
            synchronized (InMemoryDcs.this) {
                dropReply = losingReplies.contains(member()) && random.nextBoolean();
                slow = slowness(member());
            }
            if (dropReply) {
                return;
            }
            server.schedule(() -> {
                boolean lost;
                synchronized (InMemoryDcs.this) {
                    lost = partitioned.contains(member()) || frozen;
                }
                if (!lost) {
                    timer.cancel();
                    if (f.complete(result)) {
                        noteAnswer(true);
                    }
                }
            }, back + slow);
        }

        private void noteAnswer(boolean ok) {
            synchronized (InMemoryDcs.this) {
                answered = ok;
                if (ok) {
                    answeredAt = ticker.read();
                }
            }
        }

        private void requireMember() {
            if (spec.member().isEmpty()) {
                throw new IllegalStateException("an observer session cannot hold a lease");
            }
        }

        /**
         * Refreshes (or creates) this session's lease. Caller holds the lock. A request applied after
         * its caller gave up (held by a frozen store) cannot create a lease: a real client grants a
         * new lease only in a step of its own, after hearing that the old one is gone, and no step
         * follows an abandoned request; it carried the old lease's id, which now fails.
         */
        private Lease refreshLease() {
            long now = ticker.read();
            Lease l = leases.get(leaseId);
            if ((l == null || !l.alive) && applyingLate) {
                throw new LateRequest();
            }
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
                if (id != leaseId || closed || partitioned.contains(member()) || outage || frozen) {
                    return;
                }
                ws = new ArrayList<>(mine);
            }
            ws.forEach(w -> w.listener.leaseLost(reason));
        }

        private void put(String scope, String path, String value, long lease) {
            revision++;
            Entry e = new Entry(value, revision, lease);
            scope(scope).put(path, e);
            record(scope, path, Optional.of(e));
            writeRevision = revision;
        }

        private void remove(String scope, String path) {
            if (scope(scope).remove(path) != null) {
                revision++;
                record(scope, path, Optional.empty());
                writeRevision = revision;
            }
        }

        // -------------------------------------------------------------- the read cache

        private boolean caches() {
            return cachedReads && spec.member().isPresent();
        }

        /** The watch delivered {@code c}: apply it to the copy (caller holds the lock). */
        void watched(Change c) {
            if (cache == null || c.revision() <= seedRevision) {
                return; // not filled yet, or already in the copy
            }
            cacheRevision = Math.max(cacheRevision, c.revision());
            if (skipping.contains(member())) {
                return; // misled: the revision moves on, the change is lost
            }
            if (c.entry().isPresent()) {
                cache.put(c.path(), c.entry().get());
            } else {
                cache.remove(c.path());
            }
        }

        /** The watch missed changes while cut off: the copy says nothing until it is filled again. */
        void cacheMissedChanges() {
            cache = null;
        }

        /** The watch reconnected: refill the copy from the store, as a resumed watch catches up. */
        void resync() {
            if (caches() && !mine.isEmpty()) {
                cache = new TreeMap<>(scope(spec.scope()));
                seedRevision = revision;
                cacheRevision = revision;
            }
        }

        @Override
        public CompletionStage<ClusterSnapshot> read() {
            if (caches()) {
                synchronized (InMemoryDcs.this) {
                    boolean fresh = answered && ticker.read() - answeredAt <= spec.ttl().toNanos();
                    if (cache != null && fresh && !closed) {
                        return CompletableFuture.completedFuture(snapshotOf(cache, cacheRevision));
                    }
                }
            }
            return readAuthoritative();
        }

        @Override
        public CompletionStage<ClusterSnapshot> readAuthoritative() {
            return request(scope -> {
                Map<String, Entry> now = scope(scope);
                if (caches() && !mine.isEmpty()) {
                    cache = new TreeMap<>(now);
                    seedRevision = revision;
                    cacheRevision = revision;
                }
                return snapshotOf(now, revision);
            });
        }

        @Override
        public long writeRevision() {
            return writeRevision;
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
                    if (mine.isEmpty()) {
                        cache = null;
                    }
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
                cache = null;
                Lease l = leases.get(leaseId);
                if (l != null && l.alive && !partitioned.contains(member()) && !outage && !frozen) {
                    l.alive = false;
                    deleteLeaseKeys(l);
                    leases.remove(l.id);
                }
            }
            announce(drainJournal());
        }
    }
}
