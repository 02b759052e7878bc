package io.pgha.postgres.bench;

import io.pgha.postgres.PgController;
import io.pgha.spi.PostgresState;
import io.pgha.spi.StopMode;
import io.pgha.spi.Upstream;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Measures the controller's operations on this machine's PostgreSQL, N times each, and prints
 * min / median / max. Not a test: timings depend on the machine. Run with {@code pg-driver/bench.sh [N]}.
 *
 * <ul>
 *   <li>bootstrap: initdb + managed files + start + users, into an empty directory;</li>
 *   <li>clone: pg_basebackup of an empty cluster (stream WAL, fast checkpoint);</li>
 *   <li>promote: {@code pg_ctl promote -w} of a streaming standby;</li>
 *   <li>follow-reload: a running standby retargeted to another upstream (slot, reload) until it streams;</li>
 *   <li>rewind: a stopped former primary that wrote after the split, pg_rewind from the new primary.</li>
 * </ul>
 */
public final class PgBench {
    private static final Duration T = Duration.ofSeconds(60);
    private static final String SUPER = "bench-su-" + System.nanoTime();
    private static final String REPL = "bench-repl-" + System.nanoTime();

    private final Path root;
    private final List<PgController> all = new ArrayList<>();
    private final Map<String, List<Long>> results = new LinkedHashMap<>();

    private PgBench(Path root) {
        this.root = root;
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        Path root = Files.createTempDirectory("pgha-bench-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        PgBench b = new PgBench(root);
        try {
            b.run(n);
        } finally {
            b.cleanUp();
        }
        System.out.printf("%nPostgreSQL %s, N=%d, times in ms%n", b.all.isEmpty() ? "?" : b.version(), n);
        System.out.printf("%-15s %8s %8s %8s%n", "operation", "min", "median", "max");
        b.results.forEach((k, v) -> {
            List<Long> s = v.stream().sorted().toList();
            System.out.printf("%-15s %8d %8d %8d%n", k, s.get(0), s.get(s.size() / 2), s.get(s.size() - 1));
        });
    }

    private String version() {
        return Integer.toString(all.get(0).majorVersion());
    }

    private void run(int n) throws Exception {
        for (int i = 0; i < n; i++) {
            PgController c = controller("boot" + i);
            long t0 = System.nanoTime();
            get(c.bootstrap());
            record("bootstrap", t0);
            get(c.stop(StopMode.IMMEDIATE, T));
        }

        PgController p = controller("p");
        get(p.bootstrap());
        for (int i = 0; i < n; i++) {
            PgController c = controller("clone" + i);
            long t0 = System.nanoTime();
            get(c.cloneFrom(up(p)));
            record("clone", t0);
        }

        for (int i = 0; i < n; i++) {
            PgController s = standbyOf(p, "prom" + i);
            long t0 = System.nanoTime();
            get(s.promote(T));
            record("promote", t0);
            get(s.stop(StopMode.IMMEDIATE, T));
        }

        PgController s1 = standbyOf(p, "s1");
        PgController s2 = standbyOf(p, "s2");
        for (int i = 0; i < n; i++) {
            PgController target = i % 2 == 0 ? s1 : p;
            long t0 = System.nanoTime();
            get(s2.follow(Optional.of(up(target)), T));
            waitUntil(() -> streamingFrom(s2, target));
            record("follow-reload", t0);
        }
        get(s1.stop(StopMode.IMMEDIATE, T));
        get(s2.stop(StopMode.IMMEDIATE, T));

        PgController x = p;
        PgController y = standbyOf(p, "r");
        for (int i = 0; i < n; i++) {
            get(y.promote(T));
            exec(x, "CREATE TABLE IF NOT EXISTS lost (i int); INSERT INTO lost SELECT generate_series(1, 1000)");
            get(x.stop(StopMode.FAST, T));
            long t0 = System.nanoTime();
            get(x.rewind(up(y)));
            record("rewind", t0);
            get(x.follow(Optional.of(up(y)), T));
            PgController newPrimary = y;
            PgController follower = x;
            waitUntil(() -> streamingFrom(follower, newPrimary));
            x = y;
            y = follower;
        }
    }

    private PgController standbyOf(PgController primary, String name) throws Exception {
        PgController s = controller(name);
        get(s.cloneFrom(up(primary)));
        get(s.follow(Optional.of(up(primary)), T));
        waitUntil(() -> streamingFrom(s, primary));
        return s;
    }

    private boolean streamingFrom(PgController s, PgController from) {
        try {
            PostgresState st = get(s.observe());
            return st.streaming() && st.upstream().equals(Optional.of(up(from)));
        } catch (Exception e) {
            return false;
        }
    }

    private PgController controller(String name) {
        PgController c = PgController.builder()
                .name(name)
                .dataDirectory(root.resolve(name))
                .port(freePort())
                .superuser("postgres", SUPER)
                .replicationUser("replicator", REPL)
                .parameter("shared_buffers", "16MB")
                .parameter("max_connections", "20")
                .build();
        all.add(c);
        return c;
    }

    private static Upstream up(PgController c) {
        return new Upstream(c.name(), c.connectionUrl());
    }

    private void record(String what, long t0) {
        results.computeIfAbsent(what, k -> new ArrayList<>()).add((System.nanoTime() - t0) / 1_000_000);
    }

    private static void exec(PgController c, String sql) throws Exception {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("password", SUPER);
        String url = "jdbc:postgresql://" + c.connectionUrl().substring("postgres://".length());
        try (Connection conn = DriverManager.getConnection(url, p); Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    private static void waitUntil(BooleanSupplier condition) throws InterruptedException {
        long until = System.nanoTime() + T.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException("condition not met within " + T);
            }
            Thread.sleep(5);
        }
    }

    private static <V> V get(CompletionStage<V> stage) throws Exception {
        return stage.toCompletableFuture().get(T.toSeconds(), TimeUnit.SECONDS);
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void cleanUp() {
        for (PgController c : all) {
            try {
                c.disarmFence();
                get(c.stop(StopMode.IMMEDIATE, T));
            } catch (Exception e) {
                System.err.println("could not stop " + c + ": " + e.getMessage());
            }
            c.close();
        }
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                    Files.delete(f);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("could not delete " + root + ": " + e.getMessage());
        }
    }
}
