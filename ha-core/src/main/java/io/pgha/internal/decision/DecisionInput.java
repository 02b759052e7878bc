package io.pgha.internal.decision;

import io.pgha.MemberTags;
import io.pgha.internal.cluster.Cluster;
import io.pgha.spi.PeerStatus;
import io.pgha.spi.PostgresState;
import io.pgha.spi.SlotPlan;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Everything one decision looks at. Built by the loop from one observation; the decision reads
 * no clock and performs no I/O.
 *
 * @param me          this member's name
 * @param tags        this member's tags
 * @param cluster     the cluster as read this cycle, or empty when the store could not be read
 * @param dcsError    why the store could not be read (present exactly when {@code cluster} is empty)
 * @param pg          PostgreSQL as observed this cycle, or empty when it could not be observed
 * @param pgError     why PostgreSQL could not be observed
 * @param lease       our belief about our lease
 * @param peers       peers that answered a status request this cycle (asked only during leader races
 *                    and manual failovers)
 * @param config      the effective settings
 * @param memory      what the loop remembers
 * @param connectionUrl our {@code conn_url}, for upstream comparisons
 * @param now         ticker time of this cycle
 * @param wallNow     wall-clock time (scheduled switchovers and history timestamps only)
 * @param bugs        safety rules switched off on purpose by a simulator test ({@link PlantedBug}); empty otherwise
 * @param canCreateReplicaWithoutLeader the PostgreSQL controller can create a replica with no running member to
 *                    copy from (Patroni's {@code no_leader} replica methods)
 * @param failsafeLeader the primary that confirmed through {@code POST /failsafe} within the ttl that it runs on
 *                    without the store (a replica does not race while there is one)
 * @param watchdogReady the watchdog allows this member to lead (always, unless {@code watchdog.mode} is required
 *                    and the device cannot be used)
 * @param logicalSlotsToCopy the permanent logical slots this replica should hold a copy of and lacks, as its
 *                    last slot synchronisation found them ({@code SlotPlanner.Result#toCopy}); empty otherwise
 */
public record DecisionInput(String me, MemberTags tags, Optional<Cluster> cluster, Optional<String> dcsError,
                            Optional<PostgresState> pg, Optional<String> pgError, LeaseView lease,
                            Map<String, PeerStatus> peers, EffectiveConfig config, NodeMemory memory,
                            long now, Instant wallNow, Set<PlantedBug> bugs, boolean canCreateReplicaWithoutLeader,
                            Optional<String> failsafeLeader, boolean watchdogReady,
                            Map<String, SlotPlan.LogicalSlot> logicalSlotsToCopy) {
    public DecisionInput {
        Objects.requireNonNull(me);
        Objects.requireNonNull(tags);
        Objects.requireNonNull(cluster);
        Objects.requireNonNull(dcsError);
        Objects.requireNonNull(pg);
        Objects.requireNonNull(pgError);
        Objects.requireNonNull(lease);
        peers = Map.copyOf(peers);
        Objects.requireNonNull(config);
        Objects.requireNonNull(memory);
        Objects.requireNonNull(wallNow);
        bugs = Set.copyOf(bugs);
        Objects.requireNonNull(failsafeLeader);
        logicalSlotsToCopy = Map.copyOf(logicalSlotsToCopy);
        if (cluster.isPresent() == dcsError.isPresent()) {
            throw new IllegalArgumentException("exactly one of cluster and dcsError must be present");
        }
    }

    /** An input with no planted bug: what every caller but the simulator's bug tests builds. */
    public DecisionInput(String me, MemberTags tags, Optional<Cluster> cluster, Optional<String> dcsError,
                         Optional<PostgresState> pg, Optional<String> pgError, LeaseView lease,
                         Map<String, PeerStatus> peers, EffectiveConfig config, NodeMemory memory,
                         long now, Instant wallNow) {
        this(me, tags, cluster, dcsError, pg, pgError, lease, peers, config, memory, now, wallNow, Set.of(), false, Optional.empty(),
                true, Map.of());
    }

    /** This input, from a node whose controller can (or cannot) create a replica without a leader. */
    public DecisionInput withReplicaWithoutLeader(boolean can) {
        return new DecisionInput(me, tags, cluster, dcsError, pg, pgError, lease, peers, config, memory, now, wallNow, bugs, can,
                failsafeLeader, watchdogReady, logicalSlotsToCopy);
    }

    /** This input, from a node that heard (or did not hear) a primary's failsafe confirmation within the ttl. */
    public DecisionInput withFailsafeLeader(Optional<String> leader) {
        return new DecisionInput(me, tags, cluster, dcsError, pg, pgError, lease, peers, config, memory, now, wallNow, bugs,
                canCreateReplicaWithoutLeader, leader, watchdogReady, logicalSlotsToCopy);
    }

    /** This input, from a node whose watchdog does (or does not) allow it to lead. */
    public DecisionInput withWatchdogReady(boolean ready) {
        return new DecisionInput(me, tags, cluster, dcsError, pg, pgError, lease, peers, config, memory, now, wallNow, bugs,
                canCreateReplicaWithoutLeader, failsafeLeader, ready, logicalSlotsToCopy);
    }

    /** This input, from a replica whose slot synchronisation found these permanent logical slots missing. */
    public DecisionInput withLogicalSlotsToCopy(Map<String, SlotPlan.LogicalSlot> slots) {
        return new DecisionInput(me, tags, cluster, dcsError, pg, pgError, lease, peers, config, memory, now, wallNow, bugs,
                canCreateReplicaWithoutLeader, failsafeLeader, watchdogReady, slots);
    }

    /** Whether {@code bug} is planted (a simulator test switched its rule off). */
    public boolean plants(PlantedBug bug) {
        return bugs.contains(bug);
    }
}
