package io.pgha.postgres;

import io.pgha.spi.Lsn;
import io.pgha.spi.ReplicationSlot;
import io.pgha.spi.SlotPlan;
import io.pgha.spi.support.WarnOnce;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local server's replication slots brought to an engine's {@link SlotPlan}: physical slots
 * created (reserving WAL at once) and, on a standby, advanced; permanent logical slots created on a
 * primary, in their database; the slots named for dropping dropped while unused. One slot's failure
 * does not stop the others: it is logged once and tried again at the next synchronisation.
 */
final class Slots {
    private static final Logger LOG = LoggerFactory.getLogger(Slots.class);
    /** SQLSTATE object_in_use: a walsender uses the slot. */
    private static final String IN_USE = "55006";

    private final PgConfig cfg;
    private final Jdbc jdbc;
    private final WarnOnce warnOnce = new WarnOnce(LOG, 256);
    /** Slot changes tried so far (runs on the controller's operation thread, one synchronisation at a time). */
    private int attempts;

    Slots(PgConfig cfg, Jdbc jdbc) {
        this.cfg = cfg;
        this.jdbc = jdbc;
    }

    List<ReplicationSlot> sync(SlotPlan plan) {
        boolean standby = jdbc.local("reading the recovery state", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
                rs.next();
                return rs.getBoolean(1);
            }
        });
        List<ReplicationSlot> before = read();
        Map<String, ReplicationSlot> have = new java.util.HashMap<>();
        before.forEach(s -> have.put(s.name(), s));
        int attempts = this.attempts;
        plan.physical().forEach((name, target) -> {
            ReplicationSlot s = have.get(name);
            if (s == null) {
                attempt("create physical slot " + name, "SELECT pg_create_physical_replication_slot(?, true)", name, null);
            } else if (standby && s.isPhysical() && target.isPresent() && target.get().compareTo(s.position()) > 0) {
                attempt("advance slot " + name, "SELECT pg_replication_slot_advance(?, ?::pg_lsn)", name, target.get().toString());
            }
        });
        if (!standby) {
            plan.logical().forEach((name, kind) -> {
                if (!have.containsKey(name)) {
                    createLogical(name, kind);
                }
            });
        }
        for (String name : plan.drop()) {
            ReplicationSlot s = have.get(name);
            if (s != null && s.isPhysical() && !s.active()) {
                attempt("drop slot " + name, "SELECT pg_drop_replication_slot(?)", name, null);
            }
        }
        // most cycles change nothing: the slots read above are still the answer
        return this.attempts == attempts ? before : read();
    }

    private List<ReplicationSlot> read() {
        return jdbc.local("reading the replication slots", c -> {
            List<ReplicationSlot> out = new ArrayList<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                    SELECT slot_name, slot_type, database, plugin, active,
                           COALESCE(CASE WHEN slot_type = 'logical' THEN confirmed_flush_lsn ELSE restart_lsn END, '0/0')::text
                    FROM pg_replication_slots ORDER BY slot_name""")) {
                while (rs.next()) {
                    out.add(new ReplicationSlot(rs.getString(1), rs.getString(2), Optional.ofNullable(rs.getString(3)),
                            Optional.ofNullable(rs.getString(4)), Lsn.parse(rs.getString(6)), rs.getBoolean(5)));
                }
            }
            return out;
        });
    }

    private void attempt(String what, String sql, String name, String arg) {
        attempts++;
        try {
            jdbc.local(what, c -> {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setString(1, name);
                    if (arg != null) {
                        ps.setString(2, arg);
                    }
                    ps.execute();
                }
                return null;
            });
            if (what.startsWith("advance")) {
                // every cycle on a replica while the leader writes: not worth a line each time
                LOG.debug("{}: {} to {}", cfg.name(), what, arg);
            } else {
                LOG.info("{}: {}", cfg.name(), what);
            }
            warnOnce.clear(what);
        } catch (RuntimeException e) {
            if (e.getMessage() != null && e.getMessage().contains(IN_USE)) {
                return; // a walsender took it up meanwhile: it is needed after all
            }
            warnOnce.warn(what, "{}: could not {}: {}", cfg.name(), what, e.getMessage());
        }
    }

    /** A logical slot is created in its database, so pgha connects there. */
    private void createLogical(String name, SlotPlan.LogicalSlot kind) {
        attempts++;
        String what = "create logical slot " + name + " (" + kind.plugin() + " on database " + kind.database() + ")";
        try {
            jdbc.localIn(what, kind.database(), c -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_create_logical_replication_slot(?, ?)")) {
                    ps.setString(1, name);
                    ps.setString(2, kind.plugin());
                    ps.execute();
                }
                return null;
            });
            LOG.info("{}: {}", cfg.name(), what);
            warnOnce.clear(what);
        } catch (RuntimeException e) {
            warnOnce.warn(what, "{}: could not {}: {}", cfg.name(), what, e.getMessage());
        }
    }
}
