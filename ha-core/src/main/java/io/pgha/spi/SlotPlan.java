package io.pgha.spi;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The replication slots one server should have, as the engine plans them each cycle (Patroni's
 * slot synchronisation): the physical slots of the members that stream from it and the cluster's
 * permanent ones, created if missing and, on a standby, advanced to where the leader has them; the
 * permanent logical ones, created on the primary and, on a standby that holds a copy of one
 * ({@link PostgresController#copyLogicalSlots}), advanced to where the leader has it; and the slots
 * to drop. A controller drops only the slots named in {@link #drop()}, and only while nothing uses
 * them; it never drops a slot on its own account, and never creates a logical slot on a standby
 * (a logical slot made on a standby is not the primary's: only a copy of the primary's state
 * continues its stream after a failover).
 *
 * @param physical       physical slots by name, each with the position to advance it to on a
 *                       standby (the leader's, from the {@code status} key), or empty to leave it
 *                       where it is
 * @param logical        permanent logical slots: created if missing on a primary; on a standby
 *                       only their database is used (to advance them in it)
 * @param logicalAdvance on a standby, the permanent logical slots to advance with
 *                       {@code pg_replication_slot_advance}, each to the leader's published
 *                       {@code confirmed_flush_lsn} but never past what the standby has replayed;
 *                       a slot the standby does not have, or has at or beyond that, is left alone.
 *                       Every name is one of {@code logical}'s
 * @param drop           slots to drop if unused: a physical one of a member that streams
 *                       elsewhere now, of a departed member after {@code member_slots_ttl}; on a
 *                       standby also a logical one no longer in the cluster's {@code slots}
 */
public record SlotPlan(Map<String, Optional<Lsn>> physical, Map<String, LogicalSlot> logical, Map<String, Lsn> logicalAdvance,
                       Set<String> drop) {
    /** Nothing to do: the first plan, which only learns which slots there are. */
    public static final SlotPlan NONE = new SlotPlan(Map.of(), Map.of(), Set.of());

    public SlotPlan {
        physical = Map.copyOf(Objects.requireNonNull(physical, "physical"));
        logical = Map.copyOf(Objects.requireNonNull(logical, "logical"));
        logicalAdvance = Map.copyOf(Objects.requireNonNull(logicalAdvance, "logicalAdvance"));
        drop = Set.copyOf(Objects.requireNonNull(drop, "drop"));
        for (String d : drop) {
            if (physical.containsKey(d) || logical.containsKey(d)) {
                throw new IllegalArgumentException("slot " + d + " is both wanted and to be dropped");
            }
        }
        for (String a : logicalAdvance.keySet()) {
            if (!logical.containsKey(a)) {
                throw new IllegalArgumentException("logical slot " + a + " is to be advanced but is not a permanent logical slot");
            }
        }
    }

    /** A plan that advances no logical slot (a primary's, or a controller's that copies none). */
    public SlotPlan(Map<String, Optional<Lsn>> physical, Map<String, LogicalSlot> logical, Set<String> drop) {
        this(physical, logical, Map.of(), drop);
    }

    /** A permanent logical slot: the database it decodes and its output plugin. */
    public record LogicalSlot(String database, String plugin) {
        public LogicalSlot {
            Objects.requireNonNull(database, "database");
            Objects.requireNonNull(plugin, "plugin");
        }
    }

    /**
     * One {@code ignore_slots} rule: a slot matches when every property the rule names is equal
     * (Patroni's {@code name}, {@code type}, {@code database}, {@code plugin}).
     */
    public record SlotMatcher(Optional<String> name, Optional<String> type, Optional<String> database, Optional<String> plugin) {
        public SlotMatcher {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(database, "database");
            Objects.requireNonNull(plugin, "plugin");
        }

        public boolean matches(ReplicationSlot slot) {
            return name.map(slot.name()::equals).orElse(true) && type.map(slot.type()::equals).orElse(true)
                    && database.map(d -> slot.database().map(d::equals).orElse(false)).orElse(true)
                    && plugin.map(p -> slot.plugin().map(p::equals).orElse(false)).orElse(true);
        }
    }
}
