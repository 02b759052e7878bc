package io.pgha.postgres;

import io.pgha.spi.Upstream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * Real PostgreSQL servers for one test class, in a temp folder, on free loopback ports. Whatever
 * happens in the test, every server it started is stopped afterwards: {@code pg_ctl stop -m
 * immediate}, then SIGKILL for any process still working in one of its data directories, then the
 * folder is deleted. Register with {@code @RegisterExtension static final PgSandbox pg = new PgSandbox(false)}
 * ({@code true}: clean up after each test instead of after the class).
 */
final class PgSandbox implements AfterEachCallback, AfterAllCallback {
    static final String SUPER_PASSWORD = "Su:per\\S3cret 'pw-" + Long.toHexString(Double.doubleToLongBits(Math.random()));
    static final String REPL_PASSWORD = "Re:pl\\S3cret 'pw-" + Long.toHexString(Double.doubleToLongBits(Math.random()));
    static final String REWIND_PASSWORD = "Re:wind\\S3cret 'pw-" + Long.toHexString(Double.doubleToLongBits(Math.random()));
    static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final Binaries BIN = Binaries.locate(java.util.Optional.empty());

    private final boolean perTest;
    private final List<PgController> controllers = new ArrayList<>();
    private final List<Path> dataDirs = new ArrayList<>();
    private Path root;

    PgSandbox(boolean perTest) {
        this.perTest = perTest;
    }

    synchronized Path root() {
        if (root == null) {
            try {
                root = Files.createTempDirectory("pgha-pg-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return root;
    }

    /** A builder with the test defaults: small memory, a free port, the shared test passwords. */
    PgController.Builder builder(String name) {
        return builder(name, freePort());
    }

    PgController.Builder builder(String name, int port) {
        return builder(name, port, REPL_PASSWORD);
    }

    PgController.Builder builder(String name, int port, String replicationPassword) {
        return withoutUsers(name, port)
                .superuser("postgres", SUPER_PASSWORD)
                .replicationUser("replicator", replicationPassword)
                .rewindUser("rewinder", REWIND_PASSWORD);
    }

    /** Like {@link #builder(String)} but with no user set: the test chooses them. */
    PgController.Builder withoutUsers(String name, int port) {
        Path data = root().resolve(name);
        synchronized (this) {
            dataDirs.add(data);
        }
        return PgController.builder()
                .name(name)
                .dataDirectory(data)
                .port(port)
                .parameter("shared_buffers", "16MB")
                .parameter("max_connections", "30")
                .syncDataFiles(false)
                .parameter("fsync", "off")
                .parameter("wal_keep_size", "64MB");
    }

    PgController controller(String name) {
        return register(builder(name).build());
    }

    PgController controller(String name, UnaryOperator<PgController.Builder> more) {
        return register(more.apply(builder(name)).build());
    }

    synchronized PgController register(PgController c) {
        controllers.add(c);
        if (!dataDirs.contains(c.dataDirectory())) {
            dataDirs.add(c.dataDirectory());
        }
        return c;
    }

    static Upstream upstream(PgController c) {
        return new Upstream(c.name(), c.connectionUrl());
    }

    static <T> T await(CompletionStage<T> stage) {
        try {
            return stage.toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A JDBC connection as the superuser, for the tests' own SQL. */
    static Connection sql(PgController c) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("password", SUPER_PASSWORD);
        p.setProperty("connectTimeout", "5");
        p.setProperty("socketTimeout", "60");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + ConnUrl.parse(c.connectionUrl()).port() + "/postgres", p);
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (perTest) {
            cleanUp();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        cleanUp();
    }

    private synchronized void cleanUp() {
        for (PgController c : controllers) {
            c.fenceHelperPid().ifPresent(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
            c.close();
        }
        controllers.clear();
        for (Path d : dataDirs) {
            stopImmediately(d);
        }
        dataDirs.clear();
        if (root != null) {
            try {
                Fs.deleteTree(root);
            } catch (RuntimeException e) {
                // a leftover temp folder is not worth failing the build for
            }
            root = null;
        }
    }

    private static void stopImmediately(Path data) {
        if (Files.exists(data.resolve("postmaster.pid"))) {
            try {
                List<String> argv = new ArrayList<>();
                if ("root".equals(System.getProperty("user.name"))) {
                    argv.addAll(List.of("runuser", "-u", "postgres", "--"));
                }
                argv.addAll(List.of(BIN.path("pg_ctl").toString(), "stop", "-D", data.toString(), "-m", "immediate", "-w", "-t", "10", "-s"));
                Process p = new ProcessBuilder(argv)
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (IOException e) {
                // fall through to the kill below
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Path real;
        try {
            real = data.toRealPath();
        } catch (IOException e) {
            return;
        }
        for (long pid : Proc.processesIn(real)) {
            Proc.signal(pid, "KILL");
        }
    }
}
