package io.pgha.spi;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The replication slots one server should have, as the engine plans them each cycle (Patroni's
 * slot synchronisation): the physical slots of the members that stream from it and the cluster's
 * permanent ones, created if missing and, on a standby, advanced to where the leader has them; the
 * permanent logical ones, created on the primary; and the physical slots to drop. A controller
 * drops only the slots named in {@link #drop()}, and only while no walsender uses them; it never
 * drops a slot on its own account.
 *
 * @param physical physical slots by name, each with the position to advance it to on a standby
 *                 (the leader's, from the {@code status} key), or empty to leave it where it is
 * @param logical  permanent logical slots to create if missing (on a primary only)
 * @param drop     physical slots to drop if unused: a member's that streams elsewhere now, a
 *                 departed member's after {@code member_slots_ttl}
 */
public record SlotPlan(Map<String, Optional<Lsn>> physical, Map<String, LogicalSlot> logical, Set<String> drop) {
    /** Nothing to do: the first plan, which only learns which slots there are. */
    public static final SlotPlan NONE = new SlotPlan(Map.of(), Map.of(), Set.of());

    public SlotPlan {
        physical = Map.copyOf(Objects.requireNonNull(physical, "physical"));
        logical = Map.copyOf(Objects.requireNonNull(logical, "logical"));
        drop = Set.copyOf(Objects.requireNonNull(drop, "drop"));
        for (String d : drop) {
            if (physical.containsKey(d) || logical.containsKey(d)) {
                throw new IllegalArgumentException("slot " + d + " is both wanted and to be dropped");
            }
        }
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
