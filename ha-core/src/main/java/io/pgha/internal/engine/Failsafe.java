package io.pgha.internal.engine;

import io.pgha.Ticker;
import io.pgha.internal.cluster.Cluster;
import io.pgha.spi.FailsafeRequest;
import io.pgha.spi.Lsn;
import io.pgha.spi.PeerClient;
import io.pgha.spi.PostgresState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Patroni's {@code failsafe_mode}, both sides.
 *
 * <p>A primary that cannot reach the store asks every other member of the {@code failsafe}
 * topology (the leader keeps it in the store) to accept that it runs on ({@code POST /failsafe}),
 * once per cycle. When all of them accept, its belief in the lease, and both fences, run to the
 * ttl after the requests were sent; one that does not accept leaves the lease to end, and the
 * primary demotes as without failsafe mode.
 *
 * <p>A member that accepts remembers the primary for the ttl from then, and does not race for the
 * lock meanwhile; a primary refuses (it runs as a leader itself). The ttl is measured on each
 * side's own ticker, the primary's from before it sent, so the primary's extension always ends
 * before the members it asked stop holding back (the fencing margin covers clock rates).
 *
 * <p>Thread-safe: the lane runs {@link #confirm}, the REST API's threads {@link #accept}.
 */
final class Failsafe {
    private static final Logger LOG = LoggerFactory.getLogger(Failsafe.class);
    /** Patroni asks each member with a 2 s timeout. */
    private static final Duration ASK_TIMEOUT = Duration.ofSeconds(2);

    private record Heard(String leader, long at) {
    }

    private final String me;
    private final Ticker ticker;
    private final LongSupplier ttlNanos;
    private final Consumer<Runnable> lane;
    private volatile Optional<Heard> heard = Optional.empty();
    // lane-confined
    private boolean inFlight;
    private volatile boolean active;
    /**
     * Every member this node, as leader, put in a failsafe topology it wrote (or tried to: a write
     * with an unknown outcome may be in the store). Another member may race unless it is pinged, so
     * this node pings every member of the last topology it read and of every one it wrote since.
     */
    private final java.util.Map<String, String> written = new java.util.TreeMap<>();
    private Map<String, String> lastWritten;
    private List<String> lastRefused = List.of();

    private final java.util.Set<io.pgha.internal.decision.PlantedBug> bugs;

    Failsafe(String me, Ticker ticker, LongSupplier ttlNanos, Consumer<Runnable> lane, java.util.Set<io.pgha.internal.decision.PlantedBug> bugs) {
        this.me = me;
        this.bugs = java.util.Set.copyOf(bugs);
        this.ticker = ticker;
        this.ttlNanos = ttlNanos;
        this.lane = lane;
    }

    /** A member's side: the answer to a primary's request. */
    FailsafeAnswer accept(FailsafeRequest request, boolean enabled, Optional<PostgresState> pg) {
        if (!enabled) {
            return new FailsafeAnswer.NotEnabled();
        }
        if (pg.map(PostgresState::isRunningPrimary).orElse(false)) {
            return new FailsafeAnswer.RunningAsLeader();
        }
        if (!bugs.contains(io.pgha.internal.decision.PlantedBug.FAILSAFE_FORGETS_ITS_ANSWER)) {
            heard = Optional.of(new Heard(request.name(), ticker.read()));
        }
        return new FailsafeAnswer.Accepted(pg.map(p -> Lsn.max(p.receiveLsn(), p.replayLsn())).orElse(Lsn.ZERO));
    }

    /** The primary that confirmed within the ttl that it runs on without the store, if any. */
    Optional<String> freshLeader(long now) {
        return heard.filter(h -> now - h.at() < ttlNanos.getAsLong()).map(Heard::leader);
    }

    /** Whether this primary runs on without the store because every member confirmed it (read from any thread). */
    boolean active() {
        return active;
    }

    /** A failsafe topology this node, as leader, is about to write (lane). */
    void writing(Map<String, String> members) {
        written.putAll(members);
        lastWritten = Map.copyOf(members);
    }

    /**
     * The store answered again: a primary's failsafe run is over; once the store shows the last
     * topology this node wrote, the older ones it wrote cannot be there any more (lane).
     */
    void storeReachable(Cluster c) {
        if (lastWritten != null && c.failsafe().map(f -> f.members().equals(lastWritten)).orElse(false)) {
            written.clear();
            written.putAll(lastWritten);
        }
        if (active) {
            LOG.info("{}: the store is reachable again; failsafe mode no longer needed", me);
        }
        active = false;
    }

    /**
     * A primary's side, once per cycle while the store cannot be reached: asks every other member of
     * {@code last}'s failsafe topology and, when all accept, extends the lease belief (lane).
     */
    void confirm(Cluster last, PostgresState pg, String connUrl, Optional<String> apiUrl, Optional<PeerClient> client,
                 Map<String, Long> slots, LeaseKeeper lease, io.pgha.TaskScheduler timer) {
        if (inFlight || !last.dynamicConfig().failsafeMode().orElse(false) || !pg.isRunningPrimary() || !lease.view().held()
                || last.failsafe().map(f -> !f.members().containsKey(me)).orElse(true)) {
            return;
        }
        long sentAt = ticker.read();
        FailsafeRequest request = new FailsafeRequest(me, connUrl, apiUrl, slots);
        List<CompletableFuture<Boolean>> asks = new ArrayList<>();
        List<String> names = new ArrayList<>();
        Map<String, String> topology = new java.util.TreeMap<>(written);
        topology.putAll(last.failsafe().get().members());
        topology.forEach((name, url) -> {
            if (!name.equals(me)) {
                names.add(name);
                // a member that does not answer (a frozen one accepts the connection and says nothing) is one that refused
                asks.add(client.map(c -> Futures.withTimeout(Futures.call(() -> c.confirmFailsafe(name, Optional.of(url), request,
                                        ASK_TIMEOUT)), ASK_TIMEOUT.toNanos(), timer, () -> new java.util.concurrent.TimeoutException("no answer"))
                                .exceptionally(e -> false))
                        .orElse(CompletableFuture.completedFuture(false)));
            }
        });
        inFlight = true;
        CompletableFuture.allOf(asks.toArray(new CompletableFuture[0])).whenComplete((v, e) -> lane.accept(() -> {
            inFlight = false;
            List<String> refused = new ArrayList<>();
            for (int i = 0; i < asks.size(); i++) {
                if (!Boolean.TRUE.equals(asks.get(i).getNow(false))) {
                    refused.add(names.get(i));
                }
            }
            boolean enough = refused.isEmpty() || (bugs.contains(io.pgha.internal.decision.PlantedBug.FAILSAFE_TRUSTS_ONE_ANSWER)
                    && refused.size() < names.size());
            if (enough && lease.failsafeConfirmed(sentAt)) {
                if (!active) {
                    LOG.warn("{}: the store cannot be reached; failsafe mode: running on as the leader, {} confirmed",
                            me, names.isEmpty() ? "no other member to ask" : "every member " + names);
                }
                active = true;
            } else {
                // once per change, not once per cycle of an outage
                if (active || !refused.equals(lastRefused)) {
                    LOG.warn("{}: failsafe mode: {} did not confirm; the leader lease ends as without failsafe mode", me,
                            refused.isEmpty() ? "the lease" : refused);
                }
                active = false;
            }
            lastRefused = refused;
        }));
    }
}
