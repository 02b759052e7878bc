package io.pgha.postgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;

/**
 * The data directory as pgha finds it: whether it holds a cluster these binaries can run, whether it
 * may be filled, whether a live postmaster works in it, and what pg_controldata says about it.
 */
final class DataDirectory {
    private final PgConfig cfg;
    private final Binaries bin;
    private final Fs fs;
    private final Commands cmds;
    /** The server's user when the JVM runs as root; empty when the JVM's user is the server's. */
    private final OptionalInt serverUid;
    /** initdb or pg_basebackup is filling the data directory: it is not a usable one yet. */
    private volatile boolean filling;

    DataDirectory(PgConfig cfg, Binaries bin, Fs fs, Commands cmds, OptionalInt serverUid) {
        this.cfg = cfg;
        this.bin = bin;
        this.fs = fs;
        this.cmds = cmds;
        this.serverUid = serverUid;
    }

    Path path() {
        return cfg.dataDirectory();
    }

    boolean isInitialized() {
        return Files.isRegularFile(cfg.dataDirectory().resolve("PG_VERSION"));
    }

    /** Initialized and not being filled right now: a half-made copy is not reported as a broken cluster. */
    boolean isUsable() {
        return !filling && isInitialized();
    }

    /** Runs {@code work} (initdb, pg_basebackup), during which the directory does not count as usable. */
    void fill(Runnable work) {
        filling = true;
        try {
            work.run();
        } finally {
            filling = false;
        }
    }

    void requireInitialized() {
        if (!isInitialized()) {
            throw new DataDirectoryException(cfg.name() + ": " + cfg.dataDirectory()
                    + " holds no PostgreSQL data directory (no PG_VERSION): bootstrap or clone first");
        }
        try {
            String v = Files.readString(cfg.dataDirectory().resolve("PG_VERSION")).strip();
            if (!v.equals(Integer.toString(bin.major()))) {
                throw new DataDirectoryException(cfg.name() + ": " + cfg.dataDirectory() + " belongs to PostgreSQL " + v
                        + ", but the binaries in " + bin.dir() + " are " + bin.version());
            }
        } catch (IOException e) {
            throw new DataDirectoryException(cfg.name() + ": cannot read PG_VERSION: " + e.getMessage(), e);
        }
    }

    /** Bootstrap and clone fill only a missing or empty directory of the server's user: they never overwrite data. */
    void requireEmpty(String what) {
        Path d = cfg.dataDirectory();
        if (!Files.exists(d)) {
            return;
        }
        if (!Files.isDirectory(d)) {
            throw new DataDirectoryException("cannot " + what + ": " + d + " is not a directory");
        }
        int owner = Fs.ownerUid(d);
        int expected = serverUid.orElse(Proc.currentUid());
        boolean ours = owner == Proc.currentUid() && Fs.isEmptyDir(d);
        // an empty folder the JVM's own user (root) made is taken over: prepare() gives it to the server's user
        if (owner != expected && !ours) {
            throw new DataDirectoryException("cannot " + what + ": " + d + " is owned by " + ownerName(d) + " (uid " + owner
                    + "), not by " + cfg.runAsUser().orElse(System.getProperty("user.name")) + " (uid " + expected
                    + ") who runs PostgreSQL");
        }
        if (!Fs.isEmptyDir(d)) {
            List<String> some = new ArrayList<>();
            try (Stream<Path> s = Files.list(d)) {
                s.limit(4).forEach(p -> some.add(p.getFileName().toString()));
            } catch (IOException e) {
                // the names are only for the message
            }
            throw new DataDirectoryException("cannot " + what + ": data directory " + d + " is not empty (holds "
                    + String.join(", ", some) + ")");
        }
    }

    /** Data and work directories exist, belong to the server's user, and that user can reach them. */
    void prepare() {
        fs.mkdir(cfg.dataDirectory());
        fs.mkdir(cfg.workDirectory());
        if (cfg.runAsUser().isPresent()) {
            Commands.Result r = cmds.run(Commands.Cmd.of(Duration.ofSeconds(10), List.of("test",
                    "-w", cfg.dataDirectory().toString(), "-a", "-x", cfg.dataDirectory().toString(),
                    "-a", "-w", cfg.workDirectory().toString())));
            if (!r.ok()) {
                throw new DataDirectoryException("user " + cfg.runAsUser().get() + " cannot write to " + cfg.dataDirectory() + " or "
                        + cfg.workDirectory() + ": check that every parent directory is searchable (x) for it");
            }
        }
    }

    /** The postmaster of this directory, if one lives: a stale {@code postmaster.pid} whose pid died or was reused does not count. */
    Optional<PidFile> livePostmaster() {
        return PidFile.read(cfg.dataDirectory()).filter(p -> Proc.isAliveIn(p.pid(), realPath()));
    }

    /** The path with links resolved: what a server process's working directory shows in {@code /proc}. */
    Path realPath() {
        try {
            return cfg.dataDirectory().toRealPath();
        } catch (IOException e) {
            return cfg.dataDirectory();
        }
    }

    ControlData controlData() {
        Commands.Result r = cmds.run(Commands.Cmd.of(Duration.ofSeconds(30),
                List.of(bin.path("pg_controldata").toString(), "-D", cfg.dataDirectory().toString())));
        if (!r.ok()) {
            throw new DataDirectoryException(cfg.name() + ": pg_controldata failed: " + r.tail());
        }
        return ControlData.parse(r.stdout());
    }

    private static String ownerName(Path p) {
        try {
            return Files.getOwner(p).getName();
        } catch (IOException e) {
            return "?";
        }
    }
}
