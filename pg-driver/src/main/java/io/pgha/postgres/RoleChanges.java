package io.pgha.postgres;

import io.pgha.spi.PostgresException;
import io.pgha.spi.StopMode;
import io.pgha.spi.SynchronousStandbys;
import io.pgha.spi.Upstream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What the engine changes about a server's role: promotion, whom a standby follows (with its
 * replication slot on the upstream), and a primary's synchronous standbys; plus the checkpoint, which
 * a promotion takes at once.
 */
final class RoleChanges {
    // one logger name for the whole controller, as before it was split into parts: operators filter on it
    private static final Logger LOG = LoggerFactory.getLogger(PgController.class);
    private static final Duration SETTING_WAIT = Duration.ofSeconds(10);

    private final PgConfig cfg;
    private final Binaries bin;
    private final Commands cmds;
    private final ManagedFiles files;
    private final Jdbc jdbc;
    private final DataDirectory dataDir;
    private final AssignedRole role;
    private final ServerProcess process;
    private final StateReader state;
    private final OperationRunner runner;
    private final PgListeners listeners;

    RoleChanges(PgConfig cfg, Binaries bin, Commands cmds, ManagedFiles files, Jdbc jdbc, DataDirectory dataDir,
                AssignedRole role, ServerProcess process, StateReader state, OperationRunner runner, PgListeners listeners) {
        this.cfg = cfg;
        this.bin = bin;
        this.cmds = cmds;
        this.files = files;
        this.jdbc = jdbc;
        this.dataDir = dataDir;
        this.role = role;
        this.process = process;
        this.state = state;
        this.runner = runner;
        this.listeners = listeners;
    }

    /** pg_ctl promote on a running standby; returns how long it took. */
    Duration promote(Duration timeout) {
        if (dataDir.livePostmaster().isEmpty()) {
            throw new ServerStateException(cfg.name() + ": cannot promote: PostgreSQL is not running");
        }
        if (!state.isInRecovery("promote")) {
            throw new ServerStateException(cfg.name() + ": cannot promote: it is already a primary");
        }
        long t0 = System.nanoTime();
        Commands.Result r = cmds.run(Commands.Cmd.of(timeout.plusSeconds(15), List.of(bin.path("pg_ctl").toString(), "promote",
                "-D", cfg.dataDirectory().toString(), "-w", "-t", Long.toString(ServerProcess.waitSeconds(timeout)), "-s")));
        if (!r.ok()) {
            if ((r.stdout() + r.stderr()).contains("did not promote in time")) {
                throw new PostgresTimeoutException(cfg.name() + ": promotion did not finish within " + timeout.toMillis() + " ms");
            }
            throw Commands.failed(r);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        role.becomePrimary();
        LOG.info("{}: promoted in {} ms", cfg.name(), took.toMillis());
        listeners.emit(new PgEvent.Promoted(cfg.name(), took));
        // as Patroni does: checkpoint at once, so pg_control shows the new timeline and pg_rewind
        // can use this server as its source without waiting for the next scheduled checkpoint
        runner.background(this::checkpoint);
        return took;
    }

    /** Makes the server a standby of {@code upstream} (of nobody when empty), starting it if it is stopped. */
    void follow(Optional<Upstream> upstream, Duration timeout) {
        dataDir.requireInitialized();
        upstream.filter(u -> !u.connectionUrl().isEmpty()).ifPresent(u -> ConnUrl.parse(u.connectionUrl()));
        Optional<PidFile> pm = dataDir.livePostmaster();
        boolean running = pm.isPresent();
        boolean ready = pm.filter(PidFile::ready).isPresent();
        // a server that is still starting cannot be asked; standby.signal says what it starts as
        boolean primary = ready ? !state.isInRecovery("pg_is_in_recovery") : running && !files.hasStandbySignal();
        if (primary) {
            throw new ServerStateException(cfg.name() + ": cannot follow " + upstream.map(Upstream::member).orElse("nobody")
                    + " while running as a primary: stop it first");
        }
        // a standby cluster's remote primary is another cluster's: its slot is its operator's to create (Patroni)
        if (upstream.isPresent() && !upstream.get().remote() && cfg.useReplicationSlots()) {
            ensureSlotOn(upstream.get());
        }
        ManagedFiles.Role next = new ManagedFiles.Role(upstream, SynchronousStandbys.NONE);
        ManagedFiles.Role before = role.follow(upstream);
        files.writePassFile();
        if (!running) {
            process.start(timeout);
            return;
        }
        if (before.equals(next)) {
            return;
        }
        if (bin.major() >= 13) {
            // primary_conninfo and primary_slot_name are reloadable since 13: the walreceiver restarts on its own
            process.reload();
            if (ready) {
                awaitSetting("primary_conninfo", upstream.filter(u -> !u.connectionUrl().isEmpty()).map(files::primaryConninfo).orElse(""));
            }
        } else {
            process.stop(StopMode.FAST, timeout);
            process.start(timeout);
        }
        LOG.info("{}: now following {}", cfg.name(), upstream.map(Upstream::member).orElse("nobody (read-only standby)"));
    }

    /**
     * Creates this member's physical slot on the upstream before pointing the walreceiver at it, so
     * the first connection finds it (Patroni's new primary creates member slots in its own next
     * cycle, and a follower that arrives first waits wal_retrieve_retry_interval). Best effort: the
     * walreceiver retries on its own if this fails.
     */
    private void ensureSlotOn(Upstream up) {
        ConnUrl u = ConnUrl.parse(up.connectionUrl());
        try {
            boolean created = jdbc.remote("creating slot " + cfg.slotName() + " on " + up.member(), u.host(), u.port(),
                    cfg.replicationUser(), true, c -> Walsender.createPhysicalSlot(c, cfg.slotName()));
            if (created) {
                LOG.info("{}: created replication slot '{}' on {}", cfg.name(), cfg.slotName(), up.member());
            }
        } catch (AuthenticationFailedException e) {
            throw e;
        } catch (PostgresException e) {
            LOG.warn("{}: could not create replication slot '{}' on {}: {}", cfg.name(), cfg.slotName(), up.member(), e.getMessage());
        }
    }

    /** Sets {@code synchronous_standby_names}; a running server has taken the new value when this returns. */
    void setSynchronousStandbys(SynchronousStandbys value) {
        role.setSynchronousStandbys(value);
        if (dataDir.livePostmaster().filter(PidFile::ready).isPresent()) {
            process.reload();
            awaitSetting("synchronous_standby_names", value.toSetting());
        }
        LOG.info("{}: synchronous_standby_names = '{}'", cfg.name(), value.toSetting());
    }

    /** A reload returns before the server has read its files: wait until it shows the value. */
    private void awaitSetting(String name, String expected) {
        long until = System.nanoTime() + SETTING_WAIT.toNanos();
        while (true) {
            String now = jdbc.local("SHOW " + name, c -> {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('" + name + "')")) {
                    rs.next();
                    return rs.getString(1);
                }
            });
            if (expected.equals(now)) {
                return;
            }
            if (System.nanoTime() - until > 0) {
                throw new PostgresTimeoutException(cfg.name() + ": the server did not take the new " + name + " within "
                        + SETTING_WAIT.toMillis() + " ms of a reload");
            }
            ServerProcess.pause(20);
        }
    }

    /** On its own connection: a CHECKPOINT may take far longer than pgha's usual statement timeout. */
    void checkpoint() {
        jdbc.remote("checkpoint", cfg.localHost(), cfg.port(), cfg.superuser(), false, cfg.operationTimeout(), c -> {
            try (Statement st = c.createStatement()) {
                st.execute("CHECKPOINT");
            }
            return null;
        });
    }
}
