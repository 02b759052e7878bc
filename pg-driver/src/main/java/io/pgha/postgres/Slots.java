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
 * primary, in their database, and on a standby (holding copies made by {@link #readFromPrimary} and
 * {@link #writeStates}) advanced in their database with {@code pg_replication_slot_advance}; the
 * slots named for dropping dropped while unused. A standby holding logical copies runs with
 * {@code hot_standby_feedback} on. One slot's failure does not stop the others: it is logged once
 * and tried again at the next synchronisation.
 */
final class Slots {
    private static final Logger LOG = LoggerFactory.getLogger(Slots.class);
    /** SQLSTATE object_in_use: a walsender uses the slot. */
    private static final String IN_USE = "55006";
    /** SQLSTATE undefined_file: the WAL a slot needs was removed. */
    private static final String WAL_REMOVED = "58P01";
    /** SQLSTATE object_not_in_prerequisite_state: among others, an invalidated slot. */
    private static final String INVALIDATED = "55000";

    /** Turns hot_standby_feedback enforcement on or off, reloading a running server when that changed its files. */
    interface FeedbackSetting {
        void enforce(boolean on);
    }

    private final PgConfig cfg;
    private final Jdbc jdbc;
    private final Fs fs;
    private final FeedbackSetting feedback;
    private final WarnOnce warnOnce = new WarnOnce(LOG, 256);
    /** Slot changes tried so far (runs on the controller's operation thread, one synchronisation at a time). */
    private int attempts;
    /**
     * Logical slots copied from the primary that are not yet known safe to use after a failover
     * (Patroni's readiness check), with the primary's catalog_xmin of the slot once the physical slot
     * of this standby holds one; and the primary they were copied from.
     */
    private final Map<String, Optional<Long>> unready = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile Optional<io.pgha.spi.Upstream> copiedFrom = Optional.empty();

    Slots(PgConfig cfg, Jdbc jdbc, Fs fs, FeedbackSetting feedback) {
        this.cfg = cfg;
        this.jdbc = jdbc;
        this.fs = fs;
        this.feedback = feedback;
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
        } else {
            plan.logicalAdvance().forEach((name, target) -> {
                ReplicationSlot s = have.get(name);
                if (s != null && !s.isPhysical() && target.compareTo(s.position()) > 0) {
                    advanceLogical(name, plan.logical().get(name).database(), target);
                }
            });
            checkReadiness(have.keySet());
        }
        feedback.enforce(standby && !plan.logical().isEmpty());
        for (String name : plan.drop()) {
            ReplicationSlot s = have.get(name);
            // a primary keeps every logical slot; a standby's are copies pgha made
            if (s != null && !s.active() && (s.isPhysical() || standby)) {
                attempt("drop slot " + name, "SELECT pg_drop_replication_slot(?)", name, null);
                unready.remove(name);
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

    /**
     * A copied logical slot advances in its database (logical decoding reads the catalog there); a
     * slot whose WAL is gone or that PostgreSQL invalidated cannot, and is logged: dropping it lets the
     * next synchronisation copy it afresh.
     */
    private void advanceLogical(String name, String database, Lsn target) {
        attempts++;
        String what = "advance logical slot " + name;
        try {
            jdbc.localIn(what, database, c -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_replication_slot_advance(?, ?::pg_lsn)")) {
                    ps.setString(1, name);
                    ps.setString(2, target.toString());
                    ps.execute();
                }
                return null;
            });
            LOG.debug("{}: {} to {}", cfg.name(), what, target);
            warnOnce.clear(what);
        } catch (RuntimeException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains(WAL_REMOVED) || m.contains(INVALIDATED)) {
                // Patroni's SlotsAdvanceThread: the WAL is gone or the slot was invalidated; this copy can never be
                // used: dropped, so that it is copied afresh from the primary
                LOG.warn("{}: could not {} to {} ({}): dropping it to copy it again", cfg.name(), what, target, m);
                attempt("drop slot " + name, "SELECT pg_drop_replication_slot(?)", name, null);
                unready.remove(name);
                return;
            }
            warnOnce.warn(what, "{}: could not {} to {}: {}", cfg.name(), what, target, m);
        }
    }

    /**
     * Reads the state files of {@code wanted}'s logical slots on {@code primary} (Patroni's
     * {@code copy_logical_slots} query: {@code pg_read_binary_file('pg_replslot/<name>/state')}), as
     * the superuser when it has a password, else as the rewind role (granted that function at
     * bootstrap). A slot whose database or plugin differs from the configuration's is left out,
     * logged. Name to the state file's bytes.
     */
    Map<String, byte[]> readFromPrimary(io.pgha.spi.Upstream primary, Map<String, SlotPlan.LogicalSlot> wanted) {
        ConnUrl u = ConnUrl.parse(primary.connectionUrl());
        PgUser as = cfg.superuser().hasPassword() ? cfg.superuser() : cfg.rewindRole();
        Map<String, byte[]> out = new java.util.TreeMap<>();
        long oldest = oldestLocalWal();
        jdbc.remote("reading logical slots on " + primary.member(), u.host(), u.port(), as, false, c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT slot_name, datname, plugin, pg_catalog.pg_read_binary_file('pg_replslot/' || slot_name || '/state'),
                           pg_catalog.pg_wal_lsn_diff(restart_lsn, '0/0')::bigint
                    FROM pg_catalog.pg_get_replication_slots() JOIN pg_catalog.pg_database ON datoid = oid
                    WHERE slot_type = 'logical' AND NOT pg_catalog.pg_is_in_recovery() AND slot_name = ANY(?)""")) {
                ps.setArray(1, c.createArrayOf("text", wanted.keySet().toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String name = rs.getString(1);
                        SlotPlan.LogicalSlot kind = wanted.get(name);
                        String why = "copy the logical slot " + name;
                        if (rs.getLong(5) < oldest) {
                            // a copy decodes from the slot's restart_lsn on this standby: WAL this standby never had (it was
                            // cloned after the slot was made) would make the copy useless; once the consumer moves the slot
                            // on, the copy works (Patroni copies, fails to advance, and copies again: a restart each time)
                            warnOnce.warn(why, "{}: not copying the logical slot {} yet: it still needs WAL from {} on, older than"
                                    + " this standby's oldest ({}); copied once its consumer moves it on", cfg.name(), name,
                                    new Lsn(rs.getLong(5)), new Lsn(oldest));
                            continue;
                        }
                        warnOnce.clear(why);
                        if (kind.database().equals(rs.getString(2)) && kind.plugin().equals(rs.getString(3))) {
                            out.put(name, rs.getBytes(4));
                        } else {
                            LOG.warn("{}: will not copy the logical slot {}: it decodes database {} with {} on the primary, the"
                                    + " configuration says {} with {}", cfg.name(), name, rs.getString(2), rs.getString(3),
                                    kind.database(), kind.plugin());
                        }
                    }
                }
            }
            return null;
        });
        return out;
    }

    /** The start of the oldest WAL segment in this server's pg_wal (whatever its timeline). */
    private long oldestLocalWal() {
        return jdbc.local("reading the oldest WAL segment", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                    SELECT min(name), (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size')
                    FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'""")) {
                rs.next();
                String name = rs.getString(1);
                long segmentSize = rs.getLong(2);
                if (name == null) {
                    return Long.MAX_VALUE;
                }
                long log = Long.parseLong(name.substring(8, 16), 16);
                long seg = Long.parseLong(name.substring(16, 24), 16);
                return (log * (0x100000000L / segmentSize) + seg) * segmentSize;
            }
        });
    }

    /**
     * Writes copied slot states into the stopped server's {@code pg_replslot}, each first into a
     * temporary folder that is synced and renamed, as PostgreSQL itself saves a slot; the server
     * loads them at its next start.
     */
    void writeStates(java.nio.file.Path dataDirectory, io.pgha.spi.Upstream primary, Map<String, byte[]> states) {
        java.nio.file.Path replslot = dataDirectory.resolve("pg_replslot");
        try {
            for (Map.Entry<String, byte[]> e : states.entrySet()) {
                java.nio.file.Path dir = replslot.resolve(e.getKey());
                java.nio.file.Path tmp = replslot.resolve(e.getKey() + ".tmp");
                Fs.deleteTree(tmp);
                fs.mkdir(tmp);
                java.nio.file.Path state = tmp.resolve("state");
                java.nio.file.Files.createFile(state, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(Fs.FILE_600));
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(state, java.nio.file.StandardOpenOption.WRITE)) {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(e.getValue());
                    while (b.hasRemaining()) {
                        ch.write(b);
                    }
                    ch.force(true);
                }
                fs.own(state);
                syncDirectory(tmp);
                Fs.deleteTree(dir);
                java.nio.file.Files.move(tmp, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                syncDirectory(dir);
                unready.put(e.getKey(), Optional.empty());
                LOG.info("{}: copied the logical slot {} from {}", cfg.name(), e.getKey(), primary.member());
            }
            syncDirectory(replslot);
            copiedFrom = Optional.of(primary);
        } catch (java.io.IOException e) {
            throw new DataDirectoryException(cfg.name() + ": cannot write the copied logical slots into " + replslot + ": "
                    + e.getMessage(), e);
        }
    }

    private static void syncDirectory(java.nio.file.Path dir) throws java.io.IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir, java.nio.file.StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /**
     * Patroni's readiness check: a copied slot is safe to use after a failover once the primary's
     * physical slot of this standby holds a {@code catalog_xmin} (hot_standby_feedback reaches it)
     * that is at least the primary's slot's and at most the copy's, so the catalog rows the copy
     * needs are held back. Logged, never a gate on a failover (Patroni warns when it promotes with a
     * slot not known ready: {@link #unready()}).
     */
    private void checkReadiness(java.util.Set<String> present) {
        unready.keySet().retainAll(present);
        Optional<io.pgha.spi.Upstream> primary = copiedFrom;
        if (unready.isEmpty() || primary.isEmpty()) {
            return;
        }
        String what = "check the readiness of the copied logical slots on " + primary.get().member();
        try {
            ConnUrl u = ConnUrl.parse(primary.get().connectionUrl());
            PgUser as = cfg.superuser().hasPassword() ? cfg.superuser() : cfg.rewindRole();
            List<String> names = new ArrayList<>(unready.keySet());
            names.add(cfg.slotName());
            Map<String, Long> onPrimary = new java.util.HashMap<>();
            jdbc.remote(what, u.host(), u.port(), as, false, c -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT slot_name, catalog_xmin::text::bigint FROM"
                        + " pg_catalog.pg_get_replication_slots() WHERE NOT pg_catalog.pg_is_in_recovery() AND slot_name = ANY(?)")) {
                    ps.setArray(1, c.createArrayOf("text", names.toArray()));
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            long x = rs.getLong(2);
                            onPrimary.put(rs.getString(1), rs.wasNull() ? null : x);
                        }
                    }
                }
                return null;
            });
            if (!onPrimary.containsKey(cfg.slotName())) {
                warnOnce.warn(what, "{}: the physical slot {} is not on the primary: copied logical slots {} are not safe after a"
                        + " failover yet", cfg.name(), cfg.slotName(), unready.keySet());
                return;
            }
            Long physical = onPrimary.get(cfg.slotName());
            if (physical == null) {
                warnOnce.warn(what, "{}: the primary's slot {} holds no catalog_xmin yet (is hot_standby_feedback on and the standby"
                        + " streaming?): copied logical slots {} are not safe after a failover yet", cfg.name(), cfg.slotName(),
                        unready.keySet());
                return;
            }
            warnOnce.clear(what);
            Map<String, Long> local = localCatalogXmins();
            for (String name : List.copyOf(unready.keySet())) {
                Optional<Long> remembered = unready.get(name);
                if (remembered == null) {
                    continue;
                }
                if (remembered.isEmpty()) {
                    Long x = onPrimary.get(name);
                    if (x == null) {
                        continue;
                    }
                    remembered = Optional.of(x);
                    unready.put(name, remembered);
                }
                Long copy = local.get(name);
                if (copy != null && remembered.get() <= physical && physical <= copy) {
                    unready.remove(name);
                    LOG.info("{}: logical slot {} is safe to be used after a failover", cfg.name(), name);
                }
            }
        } catch (RuntimeException e) {
            warnOnce.warn(what, "{}: could not {}: {}", cfg.name(), what, e.getMessage());
        }
    }

    private Map<String, Long> localCatalogXmins() {
        return jdbc.local("reading the logical slots' catalog_xmin", c -> {
            Map<String, Long> out = new java.util.HashMap<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT slot_name, catalog_xmin::text::bigint FROM pg_replication_slots WHERE slot_type = 'logical'"
                            + " AND catalog_xmin IS NOT NULL")) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getLong(2));
                }
            }
            return out;
        });
    }

    /** Copied logical slots not yet known safe to use after a failover (Patroni warns of them when it promotes). */
    java.util.Set<String> unready() {
        return java.util.Set.copyOf(unready.keySet());
    }

    /** After a promotion the copies are this primary's slots: nothing more to check. */
    void promoted() {
        unready.clear();
        copiedFrom = Optional.empty();
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
