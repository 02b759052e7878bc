package io.pgha.postgres;

import io.pgha.spi.PostgresException;
import io.pgha.spi.Upstream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * pg_rewind: brings a diverged former primary (or a standby that ran ahead) back onto the source's
 * timeline so that it can stream from it. The target is made cleanly shut down first, the source
 * checkpointed, and the local configuration files survive the copy. A failed rewind leaves data
 * that can start only as a standby, or, if so configured, becomes a fresh clone.
 */
final class Rewind {
    // one logger name for the whole controller, as before it was split into parts: operators filter on it
    private static final Logger LOG = LoggerFactory.getLogger(PgController.class);
    /** pg_rewind copies the source's versions of these over ours; they describe this member, not the source. */
    private static final List<String> LOCAL_CONFIGURATION = List.of("postgresql.conf", "pg_ident.conf", "postgresql.auto.conf");

    private final PgConfig cfg;
    private final Binaries bin;
    private final Fs fs;
    private final ManagedFiles files;
    private final Commands cmds;
    private final Jdbc jdbc;
    private final DataDirectory dataDir;
    private final AssignedRole role;
    private final ServerProcess process;
    private final Provisioning provisioning;
    private final OperationRunner runner;

    Rewind(PgConfig cfg, Binaries bin, Fs fs, ManagedFiles files, Commands cmds, Jdbc jdbc, DataDirectory dataDir,
           AssignedRole role, ServerProcess process, Provisioning provisioning, OperationRunner runner) {
        this.cfg = cfg;
        this.bin = bin;
        this.fs = fs;
        this.files = files;
        this.cmds = cmds;
        this.jdbc = jdbc;
        this.dataDir = dataDir;
        this.role = role;
        this.process = process;
        this.provisioning = provisioning;
        this.runner = runner;
    }

    /** Rewinds the stopped local server from {@code source}; it becomes a standby of nobody. */
    void from(Upstream source) {
        long t0 = System.nanoTime();
        dataDir.requireInitialized();
        if (dataDir.livePostmaster().isPresent()) {
            throw new ServerStateException(cfg.name() + ": cannot rewind while PostgreSQL runs: stop it first");
        }
        ConnUrl u = ConnUrl.parse(source.connectionUrl());
        ControlData cd = dataDir.controlData();
        if (!cd.state().isCleanShutdown()) {
            crashRecovery(cd);
        }
        if (!cfg.rewindRole().hasPassword()) {
            runner.quietly(files::writeStandbySignal);
            throw new AuthenticationFailedException(cfg.name() + ": cannot rewind from " + source.member() + ": pg_rewind logs in to"
                    + " the leader, and the superuser '" + cfg.superuser().name() + "' has no password (set"
                    + " postgresql.authentication.rewind, or a superuser password)");
        }
        ensureSourceCheckpointed(source, u);
        Path backup = cfg.workDirectory().resolve("rewind-backup");
        copyFiles(cfg.dataDirectory(), backup, LOCAL_CONFIGURATION);
        List<String> argv = new ArrayList<>(List.of(bin.path("pg_rewind").toString(), "-D", cfg.dataDirectory().toString(),
                "--source-server=" + CopyPrograms.conninfo(u, cfg.rewindRole(), Optional.of("postgres"), "pgha-rewind-" + cfg.name())));
        if (!cfg.syncDataFiles()) {
            argv.add("--no-sync");
        }
        Commands.Result r = cmds.run(Commands.Cmd.of(cfg.operationTimeout(), argv));
        if (!r.ok()) {
            PostgresException failure = CopyPrograms.failure(cfg.name(), r, u, cfg.rewindRole(), "rewind from " + source.member(), jdbc, false);
            // a refused login or TLS handshake is a configuration problem a fresh copy would not solve
            if (!cfg.removeDataDirectoryOnRewindFailure() || failure instanceof AuthenticationFailedException
                    || failure instanceof TlsFailedException) {
                // the target may be half-rewound: it must not come up as a primary
                runner.quietly(files::writeStandbySignal);
                throw failure;
            }
            LOG.warn("{}; remove_data_directory_on_rewind_failure is on: wiping the data directory and cloning from {}",
                    failure.getMessage(), source.member());
            Fs.deleteContents(cfg.dataDirectory());
            provisioning.cloneFrom(source);
            return;
        }
        // pg_rewind copied the source's configuration files over ours: put back the local ones
        copyFiles(backup, cfg.dataDirectory(), LOCAL_CONFIGURATION);
        role.becomeStandbyOfNobody();
        LOG.info("{}: rewound from {} in {} ms", cfg.name(), source.member(), (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * pg_rewind needs a cleanly shut down target. After a crash, replay the local WAL in single-user
     * mode (which refuses to run with standby.signal, so it is set aside meanwhile).
     */
    private void crashRecovery(ControlData cd) {
        LOG.info("{}: the last shutdown was not clean ({}): running crash recovery in single-user mode", cfg.name(), cd.state());
        process.clearLeftovers();
        boolean standby = files.hasStandbySignal();
        files.removeRecoverySignals();
        role.rewriteServerFiles();
        try {
            Commands.Result r = cmds.run(Commands.Cmd.of(cfg.operationTimeout(), List.of(bin.path("postgres").toString(), "--single",
                    "-F", "-D", cfg.dataDirectory().toString(), "-c", "archive_mode=off", "template1")));
            if (!r.ok()) {
                throw new CommandFailedException(cfg.name() + ": crash recovery (postgres --single) failed (exit " + r.exitCode() + "): "
                        + r.tail(), "postgres", r.exitCode());
            }
        } finally {
            if (standby) {
                files.writeStandbySignal();
            }
        }
        ControlData after = dataDir.controlData();
        if (!after.state().isCleanShutdown()) {
            throw new DataDirectoryException(cfg.name() + ": still '" + after.state() + "' after single-user crash recovery");
        }
    }

    /** pg_rewind reads the source's timeline from its pg_control, which moves only at a checkpoint after promotion. */
    private void ensureSourceCheckpointed(Upstream source, ConnUrl u) {
        // the superuser when it can log in over TCP; else the rewind role, granted pg_checkpoint at bootstrap
        PgUser as = cfg.superuser().hasPassword() ? cfg.superuser() : cfg.rewindRole();
        jdbc.remote("checkpoint on " + source.member(), u.host(), u.port(), as, false, cfg.operationTimeout(), c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                    SELECT pg_is_in_recovery(),
                           (SELECT timeline_id FROM pg_control_checkpoint()),
                           CASE WHEN pg_is_in_recovery() THEN 0
                                ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END""")) {
                rs.next();
                if (!rs.getBoolean(1) && rs.getInt(2) < rs.getInt(3)) {
                    LOG.info("{}: {} has not checkpointed since its promotion: asking for a CHECKPOINT", cfg.name(), source.member());
                    try (Statement cp = c.createStatement()) {
                        cp.execute("CHECKPOINT");
                    }
                }
            }
            return null;
        });
    }

    private void copyFiles(Path from, Path to, List<String> names) {
        try {
            if (!Files.isDirectory(to)) {
                fs.mkdir(to);
            }
            for (String n : names) {
                Path src = from.resolve(n);
                if (Files.isRegularFile(src)) {
                    Path dst = to.resolve(n);
                    Files.copy(src, dst, StandardCopyOption.REPLACE_EXISTING);
                    Files.setPosixFilePermissions(dst, Fs.FILE_600);
                    fs.own(dst);
                }
            }
        } catch (IOException e) {
            throw new DataDirectoryException(cfg.name() + ": cannot copy configuration files from " + from + " to " + to + ": "
                    + e.getMessage(), e);
        }
    }
}
