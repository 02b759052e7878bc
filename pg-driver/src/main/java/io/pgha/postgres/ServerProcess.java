package io.pgha.postgres;

import io.pgha.spi.PostgresException;
import io.pgha.spi.StopMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The postmaster's life through pg_ctl: start (after clearing what a crashed one left behind), stop
 * (SIGKILL being the last word of an immediate stop), reload; and, when a start fails, what the
 * server log says about why.
 */
final class ServerProcess {
    // one logger name for the whole controller, as before it was split into parts: operators filter on it
    private static final Logger LOG = LoggerFactory.getLogger(PgController.class);

    private final PgConfig cfg;
    private final Binaries bin;
    private final Commands cmds;
    private final Redactor redactor;
    private final ManagedFiles files;
    private final Jdbc jdbc;
    private final PostmasterWatch watch;
    private final DataDirectory dataDir;
    private final AssignedRole role;

    ServerProcess(PgConfig cfg, Binaries bin, Commands cmds, Redactor redactor, ManagedFiles files, Jdbc jdbc,
                  PostmasterWatch watch, DataDirectory dataDir, AssignedRole role) {
        this.cfg = cfg;
        this.bin = bin;
        this.cmds = cmds;
        this.redactor = redactor;
        this.files = files;
        this.jdbc = jdbc;
        this.watch = watch;
        this.dataDir = dataDir;
        this.role = role;
    }

    /** Starts the server and waits until it accepts connections; a server that already runs is only waited for. */
    void start(Duration timeout) {
        dataDir.requireInitialized();
        Optional<PidFile> running = dataDir.livePostmaster();
        if (running.isPresent()) {
            watch.watch(running.get().pid());
            awaitReady(timeout);
            return;
        }
        clearLeftovers();
        role.rewriteServerFiles();
        files.writePassFile();
        requirePortFree();
        long logOffset = logSize();
        Commands.Result r = cmds.run(Commands.Cmd.of(timeout.plusSeconds(15), List.of(bin.path("pg_ctl").toString(),
                "start", "-D", cfg.dataDirectory().toString(), "-l", files.serverLog().toString(),
                "-w", "-t", Long.toString(waitSeconds(timeout)), "-s")));
        if (!r.ok()) {
            String log = redactor.scrub(logSince(logOffset));
            if (log.contains("Address already in use")) {
                throw new PortInUseException(cfg.name() + ": PostgreSQL could not listen on port " + cfg.port()
                        + ": address already in use (" + lastLines(log, 3) + ")", cfg.port());
            }
            String out = r.stdout() + r.stderr();
            if (out.contains("did not start in time")) {
                throw new PostgresTimeoutException(cfg.name() + ": PostgreSQL did not accept connections within " + timeout.toMillis()
                        + " ms (it keeps starting; server log: " + lastLines(log, 3) + ")");
            }
            throw new CommandFailedException(cfg.name() + ": pg_ctl start failed (exit " + r.exitCode() + "): " + r.tail()
                    + "; server log: " + lastLines(log, 5), "pg_ctl", r.exitCode());
        }
        dataDir.livePostmaster().ifPresent(p -> watch.watch(p.pid()));
        LOG.info("{}: PostgreSQL started on port {}", cfg.name(), cfg.port());
    }

    private void awaitReady(Duration timeout) {
        long until = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<PidFile> pf = dataDir.livePostmaster();
            if (pf.isEmpty()) {
                throw new PostgresException(cfg.name() + ": the postmaster exited while starting; server log: "
                        + lastLines(redactor.scrub(logSince(Math.max(0, logSize() - 4096))), 3));
            }
            if (pf.get().ready()) {
                return;
            }
            if (System.nanoTime() - until > 0) {
                throw new PostgresTimeoutException(cfg.name() + ": PostgreSQL did not accept connections within " + timeout.toMillis() + " ms");
            }
            pause(50);
        }
    }

    /** Stops the server; an immediate stop that pg_ctl cannot finish kills it. A server that is not running is left as it is. */
    void stop(StopMode mode, Duration timeout) {
        Optional<PidFile> pf = dataDir.livePostmaster();
        jdbc.invalidate();
        if (pf.isEmpty()) {
            return;
        }
        long pid = pf.get().pid();
        Runnable endOfExpectedExit = watch.expectingExit();
        try {
            Commands.Result r = cmds.run(Commands.Cmd.of(timeout.plusSeconds(15), List.of(bin.path("pg_ctl").toString(),
                    "stop", "-D", cfg.dataDirectory().toString(), "-m", mode.name().toLowerCase(Locale.ROOT),
                    "-w", "-t", Long.toString(waitSeconds(timeout)), "-s")));
            if (!r.ok() && Proc.isAliveIn(pid, dataDir.realPath())) {
                if (mode == StopMode.IMMEDIATE) {
                    LOG.warn("{}: pg_ctl stop -m immediate failed ({}); killing postmaster {}", cfg.name(), r.tail(), pid);
                    killHard(pid);
                    return;
                }
                if ((r.stdout() + r.stderr()).contains("does not shut down")) {
                    throw new PostgresTimeoutException(cfg.name() + ": PostgreSQL did not stop (" + mode + ") within " + timeout.toMillis() + " ms");
                }
                throw Commands.failed(r);
            }
            // pg_ctl returns once postmaster.pid is gone, a moment before the process itself is:
            // keep the exit "expected" until it is, or the watch would report our own stop as a crash
            long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (Proc.isAliveIn(pid, dataDir.realPath()) && System.nanoTime() - until < 0) {
                pause(10);
            }
        } finally {
            endOfExpectedExit.run();
        }
        LOG.info("{}: PostgreSQL stopped ({})", cfg.name(), mode.name().toLowerCase(Locale.ROOT));
    }

    /** SIGKILL for the postmaster and its children: the children first, so none is left working unsupervised. */
    private void killHard(long pid) {
        Proc.signal(pid, "STOP");
        List<Long> kids = new ArrayList<>();
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "task", Long.toString(pid), "children")).strip();
            for (String k : s.isEmpty() ? new String[0] : s.split("\\s+")) {
                kids.add(Long.parseLong(k));
            }
        } catch (IOException | NumberFormatException e) {
            // no children file: the postmaster is gone already, or the kernel lacks it
        }
        for (long k : kids) {
            Proc.signal(k, "KILL");
        }
        Proc.signal(pid, "KILL");
    }

    void reload() {
        if (dataDir.livePostmaster().isEmpty()) {
            return; // a stopped server reads its files when it starts
        }
        cmds.check(Commands.Cmd.of(Duration.ofSeconds(30), List.of(bin.path("pg_ctl").toString(), "reload", "-D",
                cfg.dataDirectory().toString(), "-s")));
    }

    /**
     * After a crash: waits for the old postmaster's children to notice and exit (they do within a
     * moment), kills stragglers, and removes a {@code postmaster.pid} whose pid is a zombie or
     * belongs to some other process - PostgreSQL itself would refuse to start on it.
     */
    void clearLeftovers() {
        Path real = dataDir.realPath();
        List<Long> left = Proc.processesIn(real);
        long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!left.isEmpty() && System.nanoTime() - until < 0) {
            pause(50);
            left = Proc.processesIn(real);
        }
        if (!left.isEmpty()) {
            LOG.warn("{}: killing leftover server processes {} of a dead postmaster", cfg.name(), left);
            left.forEach(p -> Proc.signal(p, "KILL"));
            until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (!Proc.processesIn(real).isEmpty() && System.nanoTime() - until < 0) {
                pause(50);
            }
            if (!Proc.processesIn(real).isEmpty()) {
                throw new DataDirectoryException(cfg.name() + ": processes " + Proc.processesIn(real) + " still use " + real);
            }
        }
        Optional<PidFile> pf = PidFile.read(cfg.dataDirectory());
        if (pf.isPresent() && Files.exists(Path.of("/proc", Long.toString(pf.get().pid())))) {
            try {
                Files.deleteIfExists(cfg.dataDirectory().resolve("postmaster.pid"));
                LOG.info("{}: removed a stale postmaster.pid (pid {} is a zombie or another process)", cfg.name(), pf.get().pid());
            } catch (IOException e) {
                throw new DataDirectoryException(cfg.name() + ": cannot remove the stale postmaster.pid: " + e.getMessage(), e);
            }
        }
    }

    /** Checked before initdb's first start and every start: a port in use is named as such, not as a failed start. */
    void requirePortFree() {
        for (String addr : cfg.listenAddresses().split(",")) {
            String a = addr.strip();
            if (a.isEmpty()) {
                continue;
            }
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                InetSocketAddress where = a.equals("*") ? new InetSocketAddress(cfg.port())
                        : new InetSocketAddress(InetAddress.getByName(a), cfg.port());
                s.bind(where);
            } catch (BindException e) {
                if (e.getMessage() == null || !e.getMessage().contains("in use")) {
                    continue; // "cannot assign requested address": not ours to judge, PostgreSQL will say
                }
                throw new PortInUseException(cfg.name() + ": port " + cfg.port() + " on " + a
                        + " is already in use by another process", cfg.port());
            } catch (IOException e) {
                // an address we cannot check from Java (e.g. not local yet): PostgreSQL will tell
            }
        }
    }

    private long logSize() {
        try {
            return Files.exists(files.serverLog()) ? Files.size(files.serverLog()) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private String logSince(long offset) {
        try (RandomAccessFile f = new RandomAccessFile(files.serverLog().toFile(), "r")) {
            long len = f.length();
            long from = Math.max(offset, len - 64 * 1024);
            byte[] b = new byte[(int) Math.max(0, len - from)];
            f.seek(from);
            f.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static String lastLines(String text, int n) {
        String[] lines = text.strip().split("\n");
        return String.join(" | ", Arrays.asList(lines).subList(Math.max(0, lines.length - n), lines.length));
    }

    /** pg_ctl's {@code -t} counts whole seconds: round up, and never ask for 0, which would give up at once. */
    static long waitSeconds(Duration d) {
        return Math.max(1, (d.toMillis() + 999) / 1000);
    }

    /** Sleeps between polls; an interrupt (a cancelled operation) ends the operation. */
    static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PostgresException("interrupted");
        }
    }
}
