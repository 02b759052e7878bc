package io.pgha.postgres;

import io.pgha.spi.Lsn;
import io.pgha.spi.PendingSetting;
import io.pgha.spi.PostgresException;
import io.pgha.spi.PostgresState;
import io.pgha.spi.ReplicationConnection;
import io.pgha.spi.RunState;
import io.pgha.spi.ServerTimes;
import io.pgha.spi.Upstream;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@link PgController#observe()} reports: a running server is asked over JDBC (one query for
 * its position and settings, then its walreceiver and walsenders); a stopped, crashed or starting
 * one is described from pg_controldata and the files pgha wrote.
 */
final class StateReader {
    private static final Logger LOG = LoggerFactory.getLogger(PgController.class);
    private final PgConfig cfg;
    private final Binaries bin;
    private final Jdbc jdbc;
    private final ManagedFiles files;
    private final PostmasterWatch watch;
    private final DataDirectory dataDir;
    private final AssignedRole role;

    StateReader(PgConfig cfg, Binaries bin, Jdbc jdbc, ManagedFiles files, PostmasterWatch watch, DataDirectory dataDir,
                AssignedRole role) {
        this.cfg = cfg;
        this.bin = bin;
        this.jdbc = jdbc;
        this.files = files;
        this.watch = watch;
        this.dataDir = dataDir;
        this.role = role;
    }

    PostgresState read() {
        if (!dataDir.isUsable()) {
            return PostgresState.uninitialized();
        }
        Optional<PidFile> pf = dataDir.livePostmaster();
        if (pf.isPresent()) {
            watch.watch(pf.get().pid());
            if (!pf.get().ready()) {
                return fileState(RunState.STARTING);
            }
            try {
                return runningState();
            } catch (Jdbc.NotAcceptingConnectionsException e) {
                if (!goneAfterShutdown()) {
                    return fileState(RunState.STARTING);
                }
            } catch (PostgresException e) {
                // it may have died between the pid check and the query (a crash, a fence), or be
                // shutting down and have ended our connection: then what the files say once it is
                // gone is the answer, not the failed connection
                if (!goneAfterShutdown()) {
                    throw e;
                }
            }
        }
        ControlData cd = dataDir.controlData();
        // a fresh pg_basebackup or pg_rewind result carries a backup_label and the source's
        // "in production" state: that is a copy waiting for its first start, not a crash
        boolean copy = Files.exists(cfg.dataDirectory().resolve("backup_label"));
        return fileState(cd.state().isCleanShutdown() || copy ? RunState.STOPPED : RunState.CRASHED, cd);
    }

    /**
     * Whether the postmaster is gone, given a moment to finish if it publishes that it is shutting
     * down (a fast shutdown, a fence): a server on its way down ends or refuses connections, and
     * that is not a failure to observe it.
     */
    private boolean goneAfterShutdown() {
        long deadline = System.nanoTime() + SHUTDOWN_GRACE.toNanos();
        for (Optional<PidFile> pf = dataDir.livePostmaster(); pf.isPresent(); pf = dataDir.livePostmaster()) {
            if (!"stopping".equals(pf.get().status()) || System.nanoTime() - deadline > 0) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** How long {@link #read()} waits for a server that is shutting down to be gone. */
    private static final java.time.Duration SHUTDOWN_GRACE = java.time.Duration.ofSeconds(2);

    /** Whether the running server is a standby; {@code what} names the step in a failure's message. */
    boolean isInRecovery(String what) {
        return jdbc.local(what, c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
                rs.next();
                return rs.getBoolean(1);
            }
        });
    }

    /**
     * The timeline a standby replays, from its own walsender ({@code IDENTIFY_SYSTEM}, as Patroni
     * asks it), when no walreceiver reports it: pg_control's checkpoint timeline lags until the next
     * restartpoint, so a standby that followed a promotion and then lost its upstream would report
     * the timeline before it, and its position would count only up to that timeline's end in the
     * cluster's history (see the engine's lag check). Empty if the walsender cannot be asked.
     */
    private Optional<Integer> replayTimeline() {
        try {
            Walsender.Identity id = jdbc.remote("IDENTIFY_SYSTEM (local)", cfg.localHost(), cfg.port(), cfg.replicationUser(), true,
                    Walsender::identifySystem);
            return Optional.of(id.timeline());
        } catch (PostgresException e) {
            LOG.debug("{}: the standby's replay timeline is unknown, pg_control's is reported: {}", cfg.name(), e.getMessage());
            return Optional.empty();
        }
    }

    private PostgresState runningState() {
        ManagedFiles.Role r = role.get();
        return jdbc.local("observe", c -> {
            boolean inRecovery;
            int version;
            String sysid;
            Lsn write;
            Lsn flush;
            Lsn receive;
            Lsn replay;
            int timeline;
            String sync;
            int checkpointTimeline;
            ServerTimes times;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                    SELECT pg_is_in_recovery(),
                           current_setting('server_version_num')::int,
                           (SELECT system_identifier::text FROM pg_control_system()),
                           CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END,
                           CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn()::text END,
                           pg_last_wal_receive_lsn()::text,
                           pg_last_wal_replay_lsn()::text,
                           CASE WHEN pg_is_in_recovery() THEN 0
                                ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
                           current_setting('synchronous_standby_names'),
                           (SELECT timeline_id FROM pg_control_checkpoint()),
                           pg_postmaster_start_time(),
                           pg_last_xact_replay_timestamp(),
                           CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END""")) {
                rs.next();
                inRecovery = rs.getBoolean(1);
                version = rs.getInt(2);
                sysid = rs.getString(3);
                write = lsn(rs.getString(4));
                flush = lsn(rs.getString(5));
                receive = lsn(rs.getString(6));
                replay = lsn(rs.getString(7));
                timeline = rs.getInt(8);
                sync = rs.getString(9);
                checkpointTimeline = rs.getInt(10);
                times = new ServerTimes(instant(rs.getObject(11, OffsetDateTime.class)), instant(rs.getObject(12, OffsetDateTime.class)),
                        rs.getBoolean(13));
            }
            boolean streaming = false;
            boolean receiverReportedTimeline = false;
            if (inRecovery) {
                timeline = checkpointTimeline;
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                        "SELECT status, sender_host, sender_port, received_tli FROM pg_stat_wal_receiver")) {
                    if (rs.next()) {
                        int tli = rs.getInt(4);
                        if (tli > 0) {
                            timeline = tli;
                            receiverReportedTimeline = true;
                        }
                        Optional<Upstream> up = r.upstream();
                        streaming = "streaming".equals(rs.getString(1)) && up.isPresent()
                                && sameServer(up.get(), rs.getString(2), rs.getInt(3));
                    }
                }
                if (!receiverReportedTimeline) {
                    timeline = replayTimeline().orElse(checkpointTimeline);
                }
            }
            List<ReplicationConnection> replication = new ArrayList<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT application_name, state, sync_state, flush_lsn::text, replay_lsn::text FROM pg_stat_replication"
                            + " ORDER BY application_name")) {
                while (rs.next()) {
                    replication.add(new ReplicationConnection(nz(rs.getString(1)), nz(rs.getString(2)), nz(rs.getString(3)),
                            lsn(rs.getString(4)), lsn(rs.getString(5))));
                }
            }
            List<PendingSetting> pending = new ArrayList<>();
            // the value the files now give: pg_file_settings' last line for the name (superuser only, as pgha connects)
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                    SELECT s.name, current_setting(s.name),
                           (SELECT f.setting FROM pg_file_settings f WHERE f.name = s.name ORDER BY f.seqno DESC LIMIT 1)
                    FROM pg_settings s WHERE s.pending_restart ORDER BY s.name""")) {
                while (rs.next()) {
                    pending.add(new PendingSetting(rs.getString(1), nz(rs.getString(2)), nz(rs.getString(3))));
                }
            }
            if (inRecovery) {
                // a standby that started above its configuration to match its primary waits for a restart to
                // come down, as Patroni reports it; the restart takes pg_control's values as they are then
                for (Map.Entry<String, String> raised : files.raisedFromConfigured().entrySet()) {
                    if (pending.stream().noneMatch(x -> x.name().equals(raised.getKey()))) {
                        try (Statement st = c.createStatement();
                             ResultSet rs = st.executeQuery("SELECT current_setting('" + raised.getKey() + "')")) {
                            rs.next();
                            String running = rs.getString(1);
                            if (!running.equals(raised.getValue())) {
                                pending.add(new PendingSetting(raised.getKey(), running, raised.getValue()));
                            }
                        }
                    }
                }
            }
            return new PostgresState(RunState.RUNNING, inRecovery, Optional.ofNullable(sysid), timeline,
                    inRecovery ? Lsn.ZERO : write, inRecovery ? Lsn.ZERO : flush,
                    inRecovery ? receive : Lsn.ZERO, inRecovery ? replay : Lsn.ZERO,
                    inRecovery ? r.upstream() : Optional.empty(), streaming, replication, SyncNames.parse(sync),
                    timelineStart(timeline), version, pending, times);
        });
    }

    private static Optional<Instant> instant(OffsetDateTime t) {
        return Optional.ofNullable(t).map(OffsetDateTime::toInstant);
    }

    private PostgresState fileState(RunState rs) {
        return fileState(rs, dataDir.controlData());
    }

    /** What the files say: for a stopped, crashed or starting server. */
    private PostgresState fileState(RunState rs, ControlData cd) {
        boolean standby = files.hasStandbySignal();
        ManagedFiles.Role r = role.get();
        int timeline = cd.wasInRecovery() && cd.minRecoveryEndTimeline() > 0 ? cd.minRecoveryEndTimeline() : cd.checkpointTimeline();
        Lsn position = Lsn.max(cd.checkpoint(), cd.minRecoveryEnd());
        return new PostgresState(rs, standby, Optional.of(cd.systemIdentifier()), timeline,
                standby ? Lsn.ZERO : cd.checkpoint(), standby ? Lsn.ZERO : cd.checkpoint(),
                Lsn.ZERO, standby ? position : Lsn.ZERO,
                standby ? r.upstream() : Optional.empty(), false, List.of(), r.sync(), timelineStart(timeline), bin.versionNum(), List.of());
    }

    private static boolean sameServer(Upstream up, String senderHost, int senderPort) {
        if (senderHost == null) {
            return false;
        }
        if (up.connectionUrl().isEmpty()) {
            return false; // an archive-only standby cluster streams from nobody
        }
        // a standby cluster's remote may list several hosts: the walreceiver is on whichever took writes
        return ConnUrl.parse(up.connectionUrl()).names(senderHost, senderPort);
    }

    /** Where {@code timeline} began, from its history file; ZERO on timeline 1 or when the file is missing. */
    private Lsn timelineStart(int timeline) {
        if (timeline <= 1) {
            return Lsn.ZERO;
        }
        Path f = cfg.dataDirectory().resolve("pg_wal").resolve(String.format("%08X.history", timeline));
        try {
            return TimelineHistory.parse(Files.readString(f, StandardCharsets.UTF_8)).lastSwitchpoint();
        } catch (IOException e) {
            return Lsn.ZERO;
        }
    }

    private static Lsn lsn(String s) {
        return s == null ? Lsn.ZERO : Lsn.parse(s);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
