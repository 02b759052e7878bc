package io.pgha.testkit.servers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A plain PostgreSQL server for tests and test programs, the way {@link EtcdProcess},
 * {@link ZooKeeperProcess} and {@link ConsulAgent} give the other stores: {@code initdb} into a temp
 * folder, one server on a free loopback port, a superuser {@code postgres} with a random password
 * (SCRAM over TCP), {@code fsync} off. For a store of your own kept in PostgreSQL (a "witness"
 * database), or any test that needs a database beside the cluster under test; it is not a cluster
 * member (pg-driver's {@code PgController} is what manages those).
 *
 * <p>{@link #stop()} is a fast shutdown, {@link #kill()} an immediate one (as a crash), and
 * {@link #restart()} starts it again on the same port with the same data. {@link #close()} stops it
 * and deletes its folder; a shutdown hook stops it if the JVM exits first. Uses only the JDK.
 *
 * <p>The binaries: {@code -Dpgha.postgres.bin} or {@code $PGHA_POSTGRES_BIN} (a folder with
 * {@code initdb} and {@code pg_ctl}) if set, else {@code /usr/lib/postgresql/15/bin}, else the newest
 * {@code /usr/lib/postgresql/<major>/bin}. When the JVM runs as root, the server runs as the
 * {@code postgres} OS user ({@code runuser}), as PostgreSQL refuses to run as root.
 */
public final class PostgresProcess implements AutoCloseable {
    private final Path bin;
    private final Path dir;
    private final Path data;
    private final int port;
    private final String password;
    private final Optional<String> runAs;
    private final Thread stopper;

    private PostgresProcess(Path bin, Path dir, int port, String password, Optional<String> runAs) {
        this.bin = bin;
        this.dir = dir;
        this.data = dir.resolve("data");
        this.port = port;
        this.password = password;
        this.runAs = runAs;
        this.stopper = new Thread(this::stopImmediately, "stop-postgres-" + port);
        Runtime.getRuntime().addShutdownHook(stopper);
    }

    /** Creates a database cluster in a temp folder and starts the server; returns once it accepts connections. */
    public static PostgresProcess start() throws IOException, InterruptedException {
        Path bin = binaries();
        Path dir = Files.createTempDirectory("pgha-postgres-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxr-xr-x")));
        Optional<String> runAs = "root".equals(System.getProperty("user.name")) ? Optional.of("postgres") : Optional.empty();
        byte[] random = new byte[12];
        new SecureRandom().nextBytes(random);
        PostgresProcess pg = new PostgresProcess(bin, dir, freePort(), "pw-" + HexFormat.of().formatHex(random), runAs);
        try {
            pg.init();
            pg.launch();
        } catch (IOException | InterruptedException | RuntimeException e) {
            pg.close();
            throw e;
        }
        return pg;
    }

    private void init() throws IOException, InterruptedException {
        Path pwfile = dir.resolve("pwfile");
        Files.writeString(pwfile, password + "\n", StandardCharsets.UTF_8);
        if (runAs.isPresent()) {
            run(List.of("chown", "-R", runAs.get(), dir.toString()));
        }
        run(asServerUser(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres", "--pwfile=" + pwfile,
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"));
        Files.delete(pwfile);
        Files.writeString(data.resolve("postgresql.auto.conf"), String.join("\n",
                "listen_addresses = '127.0.0.1'",
                "port = " + port,
                "unix_socket_directories = '" + dir + "'",
                "fsync = off",
                "synchronous_commit = off",
                "full_page_writes = off",
                "shared_buffers = '16MB'",
                "max_connections = 50",
                "logging_collector = off",
                "") , StandardCharsets.UTF_8);
        if (runAs.isPresent()) {
            run(List.of("chown", runAs.get(), data.resolve("postgresql.auto.conf").toString()));
        }
    }

    /**
     * Starts the server again after {@link #stop()} or {@link #kill()}: the same port and data.
     * Returns once it accepts connections.
     *
     * @throws IllegalStateException if it is running, or does not start within 60 s
     */
    public synchronized void restart() {
        if (isRunning()) {
            throw new IllegalStateException("PostgreSQL on port " + port + " is already running");
        }
        launch();
    }

    private void launch() {
        try {
            run(asServerUser(bin.resolve("pg_ctl").toString(), "start", "-D", data.toString(), "-w", "-t", "60", "-s",
                    "-l", dir.resolve("postgres.log").toString()));
        } catch (IOException e) {
            throw new IllegalStateException("could not start PostgreSQL on port " + port + ": " + e.getMessage() + "\n" + logTail(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting PostgreSQL", e);
        }
    }

    /** A fast shutdown ({@code pg_ctl stop -m fast}): sessions end, connections are refused. Waits until it is down. */
    public synchronized void stop() {
        pgCtlStop("fast");
    }

    /** An immediate shutdown ({@code pg_ctl stop -m immediate}), as a crash: no checkpoint. Waits until it is down. */
    public synchronized void kill() {
        pgCtlStop("immediate");
    }

    private void pgCtlStop(String mode) {
        if (!isRunning()) {
            return;
        }
        try {
            run(asServerUser(bin.resolve("pg_ctl").toString(), "stop", "-D", data.toString(), "-m", mode, "-w", "-t", "30", "-s"));
        } catch (IOException e) {
            throw new IllegalStateException("could not stop PostgreSQL on port " + port + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void stopImmediately() {
        try {
            kill();
        } catch (RuntimeException e) {
            // a shutdown hook or close(): best effort
        }
    }

    /** Whether the server is running (its {@code postmaster.pid} exists). */
    public boolean isRunning() {
        return Files.exists(data.resolve("postmaster.pid"));
    }

    /** {@code jdbc:postgresql://127.0.0.1:<port>/<database>}, with no credentials in it. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** {@link #jdbcUrl(String)} of the {@code postgres} database. */
    public String jdbcUrl() {
        return jdbcUrl("postgres");
    }

    public int port() {
        return port;
    }

    /** The superuser's name: {@code postgres}. */
    public String user() {
        return "postgres";
    }

    /** The superuser's password, random for each server; give it to a client, never print it. */
    public String password() {
        return password;
    }

    /** The server's folder: {@code data/} and {@code postgres.log}. */
    public Path dir() {
        return dir;
    }

    /** The last lines of the server's log. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("postgres.log"), StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Stops the server (immediately) and deletes its folder. */
    @Override
    public void close() {
        stopImmediately();
        try {
            Runtime.getRuntime().removeShutdownHook(stopper);
        } catch (IllegalStateException e) {
            // shutting down already
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // a temp folder left behind is harmless
        }
    }

    @Override
    public String toString() {
        return "PostgreSQL at 127.0.0.1:" + port + (isRunning() ? " (running)" : " (stopped)");
    }

    /** A free TCP port on the loopback interface. */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<String> asServerUser(String... argv) {
        List<String> cmd = new ArrayList<>();
        runAs.ifPresent(u -> cmd.addAll(List.of("runuser", "-u", u, "--")));
        cmd.addAll(List.of(argv));
        return cmd;
    }

    private void run(List<String> cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile("pgha-postgres-cmd", ".log");
        try {
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).start();
            if (!p.waitFor(90, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd.get(runAs.isPresent() ? 3 : 0) + " did not finish within 90 s");
            }
            if (p.exitValue() != 0) {
                throw new IOException(Path.of(cmd.get(runAs.isPresent() ? 3 : 0)).getFileName() + " exited with " + p.exitValue() + ": "
                        + Files.readString(out, StandardCharsets.UTF_8).strip());
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static Path binaries() {
        String configured = System.getProperty("pgha.postgres.bin", System.getenv("PGHA_POSTGRES_BIN"));
        if (configured != null && !configured.isBlank()) {
            return requireBinaries(Path.of(configured));
        }
        Path fifteen = Path.of("/usr/lib/postgresql/15/bin");
        if (Files.isExecutable(fifteen.resolve("pg_ctl"))) {
            return fifteen;
        }
        try (Stream<Path> majors = Files.list(Path.of("/usr/lib/postgresql"))) {
            return requireBinaries(majors.map(m -> m.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("pg_ctl")))
                    .max(Comparator.comparingInt(b -> major(b.getParent().getFileName().toString())))
                    .orElseThrow(() -> new IllegalStateException("no PostgreSQL under /usr/lib/postgresql; set -Dpgha.postgres.bin")));
        } catch (IOException e) {
            throw new IllegalStateException("no PostgreSQL binaries found: set -Dpgha.postgres.bin or PGHA_POSTGRES_BIN", e);
        }
    }

    private static int major(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Path requireBinaries(Path bin) {
        if (!Files.isExecutable(bin.resolve("initdb")) || !Files.isExecutable(bin.resolve("pg_ctl"))) {
            throw new IllegalStateException("no initdb and pg_ctl in " + bin);
        }
        return bin;
    }
}
