package io.pgha.internal.decision;

import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.DynamicConfig;
import io.pgha.internal.cluster.Member;
import io.pgha.spi.Lsn;
import io.pgha.spi.ReplicationSlot;
import io.pgha.spi.SlotNames;
import io.pgha.spi.SlotPlan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Which replication slots a member's server should have, from the cluster as read (Patroni's slot
 * synchronisation, {@code postgresql/slots.py}). Pure: the engine keeps {@code unneededSince}
 * between cycles.
 *
 * <ul>
 *   <li>The primary holding the lock has a physical slot for each member that streams from it
 *       (every member but those tagged {@code replicatefrom} another running member); a replica has
 *       one for each member tagged {@code replicatefrom} it.</li>
 *   <li>The permanent physical slots ({@code slots}) are on the primary and on every replica that
 *       may fail over, where each is advanced to the leader's published position (never past what
 *       the replica has replayed), so the slot is there, and current, after a failover. Permanent
 *       logical slots are created on the primary. A replica that may fail over holds a copy of each
 *       (PostgreSQL 11 to 16: Patroni's {@code copy_logical_slots}): one it lacks while the leader
 *       publishes the slot's position is listed in {@link Result#toCopy} for the engine to copy
 *       (a restart, as a long action); one it has is advanced to the leader's published
 *       {@code confirmed_flush_lsn}, never past what it has replayed.</li>
 *   <li>A physical slot named after a member that streams elsewhere now is dropped at once; any
 *       other physical slot (a departed member's, or one nobody claims) is kept for
 *       {@code member_slots_ttl}, counted from when this node first found it unneeded, then dropped.
 *       {@code ignore_slots} protects a slot from being dropped. A replica drops a logical slot that
 *       the cluster's {@code slots} no longer lists (or lists with another database or plugin, to
 *       copy it again); a primary never drops a logical slot (a consumer's own slot is not pgha's to
 *       remove).</li>
 * </ul>
 */
public final class SlotPlanner {
    /** Patroni's default {@code member_slots_ttl}. */
    public static final Duration DEFAULT_MEMBER_SLOTS_TTL = Duration.ofMinutes(30);

    private SlotPlanner() {
    }

    /**
     * @param me              this member
     * @param cluster         the cluster as read this cycle
     * @param leaderWithLock  this member holds the lock and its server runs as the leader's: a running
     *                        primary, or in a standby cluster the standby leader's running standby
     * @param runningReplica  this member's server is a running standby
     * @param canFailover     this member may become the leader (not {@code nofailover})
     * @param replayed        how far a standby has replayed (advance targets stop there)
     * @param existing        the slots the server had at the last synchronisation
     * @param unneededSince   slot name to the ticker time this node first found it unneeded
     * @param now             ticker time now
     */
    public record Input(String me, Cluster cluster, boolean leaderWithLock, boolean runningReplica, boolean canFailover,
                        Lsn replayed, List<ReplicationSlot> existing, Map<String, Long> unneededSince, long now) {
        public Input {
            Objects.requireNonNull(me);
            Objects.requireNonNull(cluster);
            Objects.requireNonNull(replayed);
            existing = List.copyOf(existing);
            unneededSince = Map.copyOf(unneededSince);
        }
    }

    /**
     * @param plan          what the controller is to do
     * @param unneededSince the clock to keep for the next cycle
     * @param retained      slots kept without being needed (Patroni's {@code retain_slots})
     * @param holdsLogicalCopies this member is a replica that may fail over: it holds copies of the
     *                      permanent logical slots
     */
    public record Result(SlotPlan plan, Map<String, Long> unneededSince, List<String> retained, boolean holdsLogicalCopies) {
        /**
         * The permanent logical slots this replica should hold a copy of but does not have among
         * {@code present} (the slots it has after the synchronisation), each only once the leader
         * publishes its position (Patroni copies only slots with feedback in the store): the copy a
         * long action makes. Empty on a primary.
         */
        public Map<String, SlotPlan.LogicalSlot> toCopy(List<ReplicationSlot> present, Map<String, Long> leaderSlots) {
            if (!holdsLogicalCopies) {
                return Map.of();
            }
            Set<String> have = new HashSet<>();
            present.forEach(s -> have.add(s.name()));
            Map<String, SlotPlan.LogicalSlot> out = new TreeMap<>();
            plan.logical().forEach((name, kind) -> {
                if (!have.contains(name) && leaderSlots.getOrDefault(name, 0L) > 0) {
                    out.put(name, kind);
                }
            });
            return out;
        }
    }

    /** The plan, or empty when this member manages no slots now ({@code use_slots: false}, or neither a primary with the lock nor a running standby). */
    public static Optional<Result> plan(Input in) {
        DynamicConfig config = in.cluster().dynamicConfig();
        if (!config.useSlots().orElse(true) || !(in.leaderWithLock() || in.runningReplica())) {
            return Optional.empty();
        }
        String mySlot = SlotNames.forMember(in.me());
        Map<String, Optional<Lsn>> physical = new TreeMap<>();
        Set<String> memberSlots = new HashSet<>();
        for (Member m : in.cluster().members().values()) {
            if (m.name().equals(in.me())) {
                continue;
            }
            String slot = SlotNames.forMember(m.name());
            memberSlots.add(slot);
            // the upstream the member's own node chooses (Decider.upstreamFor): its replicatefrom member while that runs
            Optional<String> from = m.tags().replicatefrom().filter(r -> !r.equals(m.name()))
                    .filter(r -> in.cluster().member(r).map(u -> u.isRunning() && !u.connUrl().isEmpty()).orElse(false));
            boolean streamsFromMe = in.leaderWithLock() ? from.map(in.me()::equals).orElse(true) : from.map(in.me()::equals).orElse(false);
            if (streamsFromMe) {
                physical.put(slot, Optional.empty());
            }
        }
        Map<String, SlotPlan.LogicalSlot> logical = new TreeMap<>();
        Map<String, Lsn> logicalAdvance = new TreeMap<>();
        Set<String> drop = new HashSet<>();
        Map<String, ReplicationSlot> have = new HashMap<>();
        in.existing().forEach(s -> have.put(s.name(), s));
        // a replica that may fail over holds copies of the permanent logical slots
        // Patroni's _get_permanent_slots: a standby cluster keeps physical slots only (a standby can
        // neither create a logical slot nor decode from one before PostgreSQL 16); a section that
        // cannot be read still names a standby cluster (DynamicConfig.standbyClusterProblem)
        boolean standbyCluster = config.standbyCluster().isPresent() || config.standbyClusterProblem().isPresent();
        boolean holdsLogicalCopies = !in.leaderWithLock() && in.canFailover() && !standbyCluster;
        config.permanentSlots().forEach((name, kind) -> {
            if (kind.isPresent() && standbyCluster) {
                return;
            }
            if (kind.isPresent()) {
                ReplicationSlot mine = have.get(name);
                if (in.leaderWithLock()) {
                    logical.put(name, kind.get());
                } else if (holdsLogicalCopies && mine != null && !sameLogical(mine, kind.get()) && !config.paused().orElse(false)) {
                    drop.add(name); // another kind of slot under this name: dropped, then copied afresh
                } else if (holdsLogicalCopies) {
                    logical.put(name, kind.get());
                    long published = in.cluster().leaderSlots().getOrDefault(name, 0L);
                    if (mine != null && published > 0) {
                        Lsn target = new Lsn(published).compareTo(in.replayed()) > 0 ? in.replayed() : new Lsn(published);
                        if (target.compareTo(mine.position()) > 0) {
                            logicalAdvance.put(name, target);
                        }
                    }
                }
            } else if (!name.equals(mySlot) && (in.leaderWithLock() || in.canFailover())) {
                Optional<Lsn> target = in.leaderWithLock() ? Optional.empty()
                        : Optional.ofNullable(in.cluster().leaderSlots().get(name)).filter(v -> v > 0).map(Lsn::new)
                                .map(l -> l.compareTo(in.replayed()) > 0 ? in.replayed() : l);
                physical.merge(name, target, (a, b) -> b);
            }
        });
        List<SlotPlan.SlotMatcher> ignore = config.ignoreSlots();
        Map<String, Long> since = new HashMap<>();
        List<String> retained = new ArrayList<>();
        Duration ttl = config.memberSlotsTtl().orElse(DEFAULT_MEMBER_SLOTS_TTL);
        for (ReplicationSlot s : in.existing()) {
            if (physical.containsKey(s.name()) || logical.containsKey(s.name()) || ignore.stream().anyMatch(r -> r.matches(s))) {
                continue;
            }
            if (!s.isPhysical()) {
                if (!in.leaderWithLock() && !config.paused().orElse(false)) {
                    // no longer in slots, or this replica may not fail over: its copy goes (Patroni drops no slot while paused)
                    drop.add(s.name());
                }
                continue;
            }
            if (s.name().equals(mySlot) || memberSlots.contains(s.name())) {
                drop.add(s.name()); // a present member streams elsewhere (or it is this member's own name): nothing needs it here
                continue;
            }
            long first = in.unneededSince().getOrDefault(s.name(), in.now());
            if (in.now() - first >= ttl.toNanos()) {
                drop.add(s.name());
            } else {
                since.put(s.name(), first);
                retained.add(s.name());
            }
        }
        retained.sort(null);
        return Optional.of(new Result(new SlotPlan(physical, logical, logicalAdvance, drop), since, retained, holdsLogicalCopies));
    }

    private static boolean sameLogical(ReplicationSlot s, SlotPlan.LogicalSlot kind) {
        return !s.isPhysical() && s.database().map(kind.database()::equals).orElse(false)
                && s.plugin().map(kind.plugin()::equals).orElse(false);
    }
}
