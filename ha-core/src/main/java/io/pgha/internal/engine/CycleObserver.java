package io.pgha.internal.engine;

import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.cluster.Member;
import io.pgha.internal.decision.Decider;
import io.pgha.internal.decision.EffectiveConfig;
import io.pgha.internal.decision.PlantedBug;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsSession;
import io.pgha.spi.PeerClient;
import io.pgha.spi.PeerStatus;
import io.pgha.spi.PostgresState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The observe step of a cycle: one view of the cluster from the store, the local PostgreSQL's
 * state, and during a leader race the peers' status. Keeps the rules that say when a view must come
 * from the store itself ({@link DcsSession#readAuthoritative}) rather than a cache: at start, after
 * a store call failed or was refused, when a view is older than what this node saw or wrote, when it
 * hides the leader key this node holds, when it shows no leader while a peer runs as primary, and at
 * least once a ttl. Lane-confined, except {@link #leaderKeyMayHaveChanged()}.
 */
final class CycleObserver {
    private static final Logger LOG = LoggerFactory.getLogger(CycleObserver.class);

    /** What one observation brought back, before it is judged. */
    record Raw(ClusterSnapshot snapshot, Throwable readError, PostgresState postgres, Throwable pgError) {
    }

    /** What the store's view is worth to this cycle. */
    sealed interface StoreView {
        /** The store did not answer. */
        record Unreachable(String error) implements StoreView {
        }

        /** The view cannot be acted on; the cycle starts over with a read from the store itself. */
        record Stale(String why) implements StoreView {
        }

        /** The view to decide on. */
        record Current(Cluster cluster) implements StoreView {
        }
    }

    /** The peers' answers during a leader race; settles early when the leader key changes meanwhile. */
    static final class PeerProbe {
        private final CompletableFuture<Map<String, PeerStatus>> answers;
        private final CompletableFuture<Object> settled;

        private PeerProbe(CompletableFuture<Map<String, PeerStatus>> answers, CompletableFuture<Void> leaderChanged) {
            this.answers = answers;
            this.settled = CompletableFuture.anyOf(answers, leaderChanged);
        }

        /** Completes when every peer answered or gave up, or the leader key may have changed. */
        CompletableFuture<Object> settled() {
            return settled;
        }

        /** The answers, if all are in (a peer that failed is left out); empty if the leader key changed first. */
        Optional<Map<String, PeerStatus>> answers() {
            if (!answers.isDone()) {
                return Optional.empty();
            }
            Map<String, PeerStatus> p = answers.isCompletedExceptionally() ? Map.of() : answers.join();
            return Optional.of(p == null ? Map.of() : p);
        }
    }

    private final EngineConfig cfg;
    private final String me;
    private final DcsSession session;
    private final LeaseKeeper lease;

    /**
     * The next cycle reads from the store itself: a store call failed or had an unknown outcome, or
     * the last view was contradicted by what this node knows. True at start, so the first decision
     * never comes from a cache.
     */
    private boolean readFromStore = true;
    /** When (ticker) the last read from the store itself began: a cached view is trusted for at most a ttl after it. */
    private long lastAuthoritativeAt;
    /** The newest store revision this node decided on: a later read older than it is stale. */
    private long actedRevision;
    /** The session's write revision when the store was seen to go back in time (restored): writes up to it no longer count. */
    private long discountedWrites;
    /**
     * Completed by the watch when the leader key changes (or may have): a cycle waiting for its
     * peers during a leader race stops waiting, because what it read is out of date anyway. A fresh
     * one per race.
     */
    private volatile CompletableFuture<Void> leaderKeyMayHaveChanged = new CompletableFuture<>();

    private Optional<PostgresState> lastPostgres = Optional.empty();
    private Optional<Instant> storeLastSeen = Optional.empty();
    private boolean storeReachable;

    CycleObserver(EngineConfig cfg, DcsSession session, LeaseKeeper lease) {
        this.cfg = cfg;
        this.me = cfg.name();
        this.session = session;
        this.lease = lease;
    }

    /**
     * Whether the cycle beginning at {@code start} reads from the store itself. At least once a ttl
     * it does, whatever else happened: a watch cache that went wrong without anyone noticing
     * (etcd#15220 made one skip changes for good) misleads a node for at most that long.
     */
    boolean readsFromStore(long start, EffectiveConfig config) {
        return (readFromStore || start - lastAuthoritativeAt >= config.ttlNanos()) && !cfg.bugs().contains(PlantedBug.TRUSTS_STALE_VIEWS);
    }

    /** The next view must come from the store itself (a store call failed, or what the store shows was contradicted). */
    void mustReadFromStore() {
        readFromStore = true;
    }

    /** From the watch, on any thread: the leader key changed, or may have. */
    void leaderKeyMayHaveChanged() {
        leaderKeyMayHaveChanged.complete(null);
    }

    /** Reads the cluster (from the store itself when {@code authoritative}) and observes PostgreSQL, each bounded by retry_timeout. */
    CompletableFuture<Raw> observe(boolean authoritative, EffectiveConfig config) {
        Duration retry = config.settings().retryTimeout();
        CompletableFuture<ClusterSnapshot> read = Futures.storeCall(authoritative ? session::readAuthoritative : session::read,
                retry.toNanos(), cfg.loopScheduler());
        CompletableFuture<PostgresState> observed = Futures.postgresCall(Futures.call(cfg.postgres()::observe), retry, cfg.loopScheduler());
        CompletableFuture<Raw> raw = new CompletableFuture<>();
        read.handle((s, e) -> observed.handle((p, pe) -> raw.complete(new Raw(s, e, p, pe))));
        return raw;
    }

    /** Judges the store's part of an observation, on the lane, and keeps what it learned. */
    StoreView judge(long start, boolean authoritative, Raw raw) {
        if (raw.readError() != null) {
            storeReachable = false;
            readFromStore = true;
            return new StoreView.Unreachable(Futures.describe(raw.readError()));
        }
        ClusterSnapshot snapshot = raw.snapshot();
        Cluster c = ClusterCodec.decode(snapshot);
        if (!authoritative) {
            Optional<String> stale = stale(snapshot, c);
            if (stale.isPresent()) {
                return new StoreView.Stale(stale.get());
            }
        } else {
            readFromStore = false;
            lastAuthoritativeAt = start;
            long written = session.writeRevision();
            if (snapshot.revision() > 0 && snapshot.revision() < Math.max(actedRevision, written > discountedWrites ? written : 0)) {
                // a store restored from a backup, or Consul's index after its tombstones were reaped
                LOG.info("{}: the store's revision went back from {} to {}; going on from what it shows now", me,
                        Math.max(actedRevision, written), snapshot.revision());
                actedRevision = snapshot.revision();
                discountedWrites = Math.max(discountedWrites, written);
            }
        }
        actedRevision = Math.max(actedRevision, snapshot.revision());
        storeReachable = true;
        storeLastSeen = Optional.of(cfg.wallClock().instant());
        return new StoreView.Current(c);
    }

    /** Keeps PostgreSQL's part of an observation that the cycle goes on with (the last state stays when it did not answer). */
    void notePostgres(Raw raw) {
        if (raw.postgres() != null) {
            lastPostgres = Optional.of(raw.postgres());
        }
    }

    /**
     * Why a view that did not come from the store itself cannot be acted on, if it cannot: it is
     * older than a view this node already acted on or than its own last write, or it does not show
     * the leader key that this node holds under a lease it renewed less than a ttl ago. Either the
     * view is stale (a watch cache behind, a lagging server) or the store really changed; only a
     * read from the store itself tells which.
     */
    private Optional<String> stale(ClusterSnapshot snapshot, Cluster c) {
        if (cfg.bugs().contains(PlantedBug.TRUSTS_STALE_VIEWS)) {
            return Optional.empty();
        }
        long written = session.writeRevision();
        long floor = Math.max(actedRevision, written > discountedWrites ? written : 0);
        if (snapshot.revision() > 0 && snapshot.revision() < floor) {
            return Optional.of("the view (revision " + snapshot.revision() + ") is older than what this node already saw or wrote (revision "
                    + floor + ")");
        }
        if (lease.view().isValid(cfg.ticker().read()) && !c.isLeader(me)) {
            return Optional.of("the view shows " + c.leader().map(l -> "leader '" + l + "'").orElse("no leader")
                    + " while this node holds the leader lease");
        }
        return Optional.empty();
    }

    /** During a leader race (or a manual failover), asks the peers for their status; otherwise settles at once with none. */
    PeerProbe probePeers(Optional<Cluster> cluster, EffectiveConfig config) {
        boolean race = cluster.isPresent() && Decider.wantsPeerStatus(cluster.get(), me);
        CompletableFuture<Void> leaderChanged = race ? (leaderKeyMayHaveChanged = new CompletableFuture<>()) : new CompletableFuture<>();
        CompletableFuture<Map<String, PeerStatus>> answers = race ? fetchPeers(cluster.get(), config)
                : CompletableFuture.completedFuture(Map.of());
        return new PeerProbe(answers, leaderChanged);
    }

    /**
     * Why a view that did not come from the store itself cannot be acted on although it passed
     * {@link #judge}: it shows no leader while a peer runs as primary (a leader that took the key
     * after the view was taken is the likeliest reason).
     */
    Optional<String> contradictedByPeers(boolean authoritative, Optional<Cluster> cluster, Map<String, PeerStatus> peers) {
        if (authoritative || cluster.isEmpty() || cluster.get().hasLeader() || cfg.bugs().contains(PlantedBug.TRUSTS_STALE_VIEWS)) {
            return Optional.empty();
        }
        return peers.values().stream()
                .filter(p -> !p.member().equals(me) && p.running() && !p.inRecovery()).findFirst()
                .map(p -> "peer '" + p.member() + "' runs as a primary but the view shows no leader");
    }

    /** Asks one peer, within {@code timeout}; its answer, if any, goes into {@code answers}. */
    private CompletableFuture<Void> ask(PeerClient client, String member, Optional<String> apiUrl, Duration timeout,
                                       Map<String, PeerStatus> answers) {
        return Futures.withTimeout(Futures.call(() -> client.fetch(member, apiUrl, timeout)), timeout.toNanos(), cfg.loopScheduler(),
                () -> new TimeoutException("peer timeout")).handle((opt, e) -> {
                    if (e == null && opt != null) {
                        opt.ifPresent(p -> answers.put(member, p));
                    }
                    return null;
                });
    }

    private CompletableFuture<Map<String, PeerStatus>> fetchPeers(Cluster c, EffectiveConfig config) {
        List<Member> others = c.members().values().stream().filter(m -> !m.name().equals(me)).toList();
        // failsafe_mode: a primary that runs on without the store lets its member entry lapse, but it is in the
        // failsafe topology with its api_url; asked, it answers that it runs as a primary (Patroni asks them too)
        Map<String, String> listedOnly = new java.util.TreeMap<>();
        if (c.dynamicConfig().failsafeMode().orElse(false) && !cfg.bugs().contains(PlantedBug.FAILSAFE_RACES_WITHOUT_ASKING)) {
            c.failsafe().ifPresent(f -> f.members().forEach((name, url) -> {
                if (!name.equals(me) && !c.members().containsKey(name)) {
                    listedOnly.put(name, url);
                }
            }));
        }
        if (others.isEmpty() && listedOnly.isEmpty()) {
            return CompletableFuture.completedFuture(Map.of());
        }
        Optional<PeerClient> client = cfg.peerClient();
        // a client that reaches peers only through their api_url (the default HTTP client) cannot ask
        // a peer that publishes none (it runs no REST API): its member entry speaks for it
        boolean entriesForUnreachable = client.map(PeerClient::needsApiUrl).orElse(true);
        Map<String, PeerStatus> fromStore = new ConcurrentHashMap<>();
        for (Member m : others) {
            if (client.isEmpty() || (entriesForUnreachable && m.apiUrl().isEmpty())) {
                fromStore.put(m.name(), new PeerStatus(m.name(), m.isRunning(), !m.isPrimary(), m.xlogLocation(), m.timeline(),
                        m.tags().nofailover(), m.tags().failoverPriority()));
            }
        }
        if (client.isEmpty() || (fromStore.size() == others.size() && listedOnly.isEmpty())) {
            return CompletableFuture.completedFuture(Map.copyOf(fromStore));
        }
        Duration timeout = config.settings().peerTimeout();
        Map<String, PeerStatus> answers = fromStore;
        List<CompletableFuture<?>> calls = new ArrayList<>();
        for (Member m : others) {
            if (answers.containsKey(m.name())) {
                continue;
            }
            calls.add(ask(client.get(), m.name(), m.apiUrl(), timeout, answers));
        }
        listedOnly.forEach((name, url) -> calls.add(ask(client.get(), name, Optional.of(url), timeout, answers)));
        return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).thenApply(v -> Map.copyOf(answers));
    }

    /** The last state PostgreSQL reported (kept while it does not answer). */
    Optional<PostgresState> lastPostgres() {
        return lastPostgres;
    }

    /** Whether the last read of the store was answered. */
    boolean storeReachable() {
        return storeReachable;
    }

    /** When (wall clock) the store last answered a read. */
    Optional<Instant> storeLastSeen() {
        return storeLastSeen;
    }
}
