package io.pgha.internal.engine;

import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.decision.SlotPlanner;
import io.pgha.spi.PostgresController;
import io.pgha.spi.PostgresState;
import io.pgha.spi.ReplicationSlot;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the server's replication slots as {@link SlotPlanner} plans them, once per cycle while the
 * server runs and no long operation does (Patroni's slot synchronisation): one synchronisation at a
 * time, a failed one tried again at the next cycle. A leader publishes its slots' positions and
 * the slots it retains with each renewal ({@code status}). Lane-confined: {@link #offer} and the
 * completion run on the engine's lane.
 */
final class SlotManager {
    private static final Logger LOG = LoggerFactory.getLogger(SlotManager.class);

    private final String me;
    private final PostgresController postgres;
    private final LeaseKeeper lease;
    private final Consumer<Runnable> lane;
    private final Consumer<String> warnOnce;
    /** The slots the server had at the last synchronisation; empty before the first, so nothing is dropped unseen. */
    private List<ReplicationSlot> existing = List.of();
    private Map<String, Long> unneededSince = Map.of();
    private boolean inFlight;
    /** The positions a leader last published (also sent with a failsafe request). */
    private Map<String, Long> positions = Map.of();
    private boolean failing;
    private boolean unsupported;

    SlotManager(String me, PostgresController postgres, LeaseKeeper lease, Consumer<Runnable> lane, Consumer<String> warnOnce) {
        this.me = me;
        this.postgres = postgres;
        this.lease = lease;
        this.lane = lane;
        this.warnOnce = warnOnce;
    }

    /** The leader's slots and their positions as last synchronised (lane). */
    Map<String, Long> positions() {
        return positions;
    }

    /**
     * Plans and synchronises the slots for this cycle. On the lane.
     *
     * @param holdsLock   this member holds the leader lock
     * @param canFailover this member may become the leader
     * @param now         ticker time
     */
    void offer(Cluster cluster, PostgresState pg, boolean holdsLock, boolean canFailover, long now) {
        if (inFlight || unsupported) {
            return;
        }
        boolean primary = holdsLock && pg.isRunningPrimary();
        Optional<SlotPlanner.Result> planned = SlotPlanner.plan(new SlotPlanner.Input(me, cluster, primary, pg.isRunningReplica(),
                canFailover, pg.replayLsn(), existing, unneededSince, now));
        if (planned.isEmpty()) {
            lease.publishSlots(Map.of(), List.of());
            return;
        }
        SlotPlanner.Result r = planned.get();
        inFlight = true;
        postgres.syncSlots(r.plan()).whenComplete((slots, e) -> lane.accept(() -> {
            inFlight = false;
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause == null) {
                if (failing) {
                    LOG.info("{}: replication slots synchronised again", me);
                }
                failing = false;
                existing = List.copyOf(slots);
                Set<String> present = new HashSet<>();
                slots.forEach(s -> present.add(s.name()));
                Map<String, Long> kept = new LinkedHashMap<>(r.unneededSince());
                kept.keySet().retainAll(present);
                unneededSince = kept;
                if (primary) {
                    Map<String, Long> positions = new LinkedHashMap<>();
                    slots.stream().filter(s -> r.plan().physical().containsKey(s.name()) || r.plan().logical().containsKey(s.name()))
                            .forEach(s -> positions.put(s.name(), s.position().value()));
                    this.positions = Map.copyOf(positions);
                    lease.publishSlots(positions, r.retained());
                }
            } else if (cause instanceof UnsupportedOperationException) {
                unsupported = true;
                warnOnce.accept("replication slots are not managed: " + cause.getMessage()
                        + " (a departed member's slot is never dropped, permanent slots are not created)");
            } else if (!failing) {
                failing = true;
                LOG.warn("{}: could not synchronise the replication slots (tried again each cycle): {}", me, Futures.describe(cause));
            }
        }));
    }
}
