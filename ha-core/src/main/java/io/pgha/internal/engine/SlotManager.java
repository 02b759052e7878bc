package io.pgha.internal.engine;

import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.decision.SlotPlanner;
import io.pgha.spi.PostgresController;
import io.pgha.spi.PostgresState;
import io.pgha.spi.ReplicationSlot;
import io.pgha.spi.SlotPlan;
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
 * the slots it retains with each renewal ({@code status}). A replica that lacks a permanent logical
 * slot learns it here ({@link #logicalSlotsToCopy}); the decision copies it as a long action.
 * Lane-confined: {@link #offer} and the completion run on the engine's lane.
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
    /** The permanent logical slots the last synchronisation found missing on this replica, and the action epoch it began in. */
    private Map<String, SlotPlan.LogicalSlot> toCopy = Map.of();
    private long toCopyEpoch = -1;
    private boolean copyUnsupported;

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
     * The permanent logical slots to copy from the primary, as the last synchronisation found them;
     * empty when a long action started or ended since it began (a copy just made is not yet seen),
     * or when the controller cannot copy. On the lane.
     */
    Map<String, SlotPlan.LogicalSlot> logicalSlotsToCopy(long actionEpoch) {
        return copyUnsupported || toCopyEpoch != actionEpoch ? Map.of() : toCopy;
    }

    /** The controller cannot copy logical slots: never asked again (lane). */
    void copyUnsupported(String why) {
        if (!copyUnsupported) {
            copyUnsupported = true;
            warnOnce.accept("permanent logical slots are not copied to replicas: " + why
                    + " (a logical consumer finds no slot after a failover)");
        }
    }

    /**
     * Plans and synchronises the slots for this cycle. On the lane.
     *
     * @param holdsLock   this member holds the leader lock
     * @param canFailover this member may become the leader
     * @param now         ticker time
     * @param actionEpoch the action runner's epoch now (see {@link #logicalSlotsToCopy})
     */
    void offer(Cluster cluster, PostgresState pg, boolean holdsLock, boolean canFailover, long now, long actionEpoch) {
        if (inFlight || unsupported) {
            return;
        }
        // a standby cluster's standby leader keeps its members' slots as a primary does (Patroni's
        // _get_members_slots for the standby_leader role): they cascade from it through them
        boolean standbyLeader = holdsLock && pg.isRunningReplica() && cluster.dynamicConfig().standbyCluster().isPresent();
        boolean primary = holdsLock && pg.isRunningPrimary() || standbyLeader;
        Optional<SlotPlanner.Result> planned = SlotPlanner.plan(new SlotPlanner.Input(me, cluster, primary, pg.isRunningReplica(),
                canFailover, pg.replayLsn(), existing, unneededSince, now));
        if (planned.isEmpty()) {
            lease.publishSlots(Map.of(), List.of());
            toCopy = Map.of();
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
                toCopy = r.toCopy(slots, cluster.leaderSlots());
                toCopyEpoch = actionEpoch;
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
