package io.pgha.examples.witness;

import io.pgha.HaNode;
import io.pgha.RestApiConfig;
import io.pgha.Role;
import io.pgha.postgres.PgController;
import io.pgha.testkit.RealNodes;
import io.pgha.testkit.servers.PostgresProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * Real cluster members on one witness database, for the end-to-end tests: each member is an
 * {@link HaNode} with its own {@link WitnessDcs} (as a separate process would have), pg-driver's
 * {@link PgController} managing a real PostgreSQL in a temp folder, and its REST API on a free
 * loopback port. {@link #close()} stops every node and every PostgreSQL it started, and deletes
 * the folder, whatever happened.
 */
final class WitnessCluster implements AutoCloseable {
    static final String SUPERUSER_PASSWORD = "su-Secret-" + Long.toHexString(System.nanoTime());
    private static final String REPLICATION_PASSWORD = "repl-Secret-" + Long.toHexString(System.nanoTime() * 31);
    private static final String REWIND_PASSWORD = "rewind-Secret-" + Long.toHexString(System.nanoTime() * 17);

    /** One member: its ports and folder, and what runs while it is up. */
    static final class Member {
        final String name;
        final int pgPort;
        final int apiPort;
        final Path dataDir;
        WitnessDcs dcs;
        PgController postgres;
        HaNode node;

        Member(String name, int pgPort, int apiPort, Path dataDir) {
            this.name = name;
            this.pgPort = pgPort;
            this.apiPort = apiPort;
            this.dataDir = dataDir;
        }

        boolean isUp() {
            return node != null;
        }

        Role role() {
            return node == null ? Role.STOPPED : node.status().role();
        }

        @Override
        public String toString() {
            return name + (node == null ? " (down)" : " " + node.status().role() + ", leader " + node.status().leader().orElse("none"));
        }
    }

    final String scope = "witness-e2e-" + Long.toHexString(System.nanoTime() & 0xFFFFFF);
    final Duration ttl;
    final Duration loopWait;
    final Duration retryTimeout;
    private final PostgresProcess witness;
    private final Optional<String> dynamicConfig;
    private final Path root;
    private final Map<String, Member> members = new LinkedHashMap<>();
    /** The store connections of crashed members, closed at the end only. */
    private final List<WitnessDcs> dead = new ArrayList<>();

    WitnessCluster(PostgresProcess witness, int size, Duration ttl, Duration loopWait, Duration retryTimeout, Optional<String> dynamicConfig) {
        this.witness = witness;
        this.ttl = ttl;
        this.loopWait = loopWait;
        this.retryTimeout = retryTimeout;
        this.dynamicConfig = dynamicConfig;
        try {
            // PostgreSQL runs as its own OS user when the tests run as root: the folder must be open to it
            this.root = Files.createTempDirectory("pgha-witness-e2e-", PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwxr-xr-x")));
            for (int i = 1; i <= size; i++) {
                String name = "n" + i;
                Path dir = Files.createDirectories(root.resolve(name));
                members.put(name, new Member(name, PostgresProcess.freePort(), PostgresProcess.freePort(), dir.resolve("data")));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    List<Member> members() {
        return new ArrayList<>(members.values());
    }

    void startAll() {
        members.values().forEach(this::start);
    }

    /** Starts the member's store connection, PostgreSQL controller and node (again, after {@link #crash}). */
    void start(Member m) {
        m.dcs = WitnessDcs.builder().jdbcUrl(witness.jdbcUrl()).credentials(witness.user(), witness.password()).build();
        m.postgres = PgController.builder()
                .name(m.name)
                .dataDirectory(m.dataDir)
                .listenAddresses("127.0.0.1")
                .port(m.pgPort)
                .superuser("postgres", SUPERUSER_PASSWORD)
                .replicationUser("replicator", REPLICATION_PASSWORD)
                .rewindUser("rewinder", REWIND_PASSWORD)
                .hba(List.of("host all all 127.0.0.1/32 scram-sha-256",
                        "host replication replicator 127.0.0.1/32 scram-sha-256"))
                .parameter("shared_buffers", "16MB")
                .parameter("max_connections", "30")
                .parameter("fsync", "off")
                .parameter("wal_keep_size", "64MB")
                .syncDataFiles(false)
                .build();
        HaNode.Builder b = HaNode.builder()
                .name(m.name)
                .scope(scope)
                .dcs(m.dcs)
                .postgres(m.postgres)
                .ttl(ttl)
                .loopWait(loopWait)
                .retryTimeout(retryTimeout)
                .usePgRewind(true)
                .restApi(RestApiConfig.builder().listen("127.0.0.1", m.apiPort).build());
        dynamicConfig.ifPresent(b::initialDynamicConfig);
        m.node = b.build().start();
    }

    /**
     * The member's machine dies: its node stops doing anything at once (no release, no renewal, no
     * lease deleted), its postmaster is killed with SIGKILL, its controller goes away.
     */
    void crash(Member m) {
        RealNodes.kill(m.node);
        killPostmaster(m);
        m.postgres.close();
        // not closed now: closing would delete its lease in the witness, which a dead machine cannot do
        dead.add(m.dcs);
        m.node.close(); // harmless after kill: it does nothing more
        m.node = null;
        m.dcs = null;
    }

    /** The one member whose node says PRIMARY and whose PostgreSQL takes writes, if exactly one does. */
    Optional<Member> writablePrimary() {
        List<Member> p = members.values().stream().filter(m -> m.role() == Role.PRIMARY && acceptsWrites(m)).toList();
        return p.size() == 1 ? Optional.of(p.get(0)) : Optional.empty();
    }

    /** Whether the member's PostgreSQL answers and is not in recovery. */
    boolean acceptsWrites(Member m) {
        try (Connection c = sql(m); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT NOT pg_is_in_recovery()")) {
            return rs.next() && rs.getBoolean(1);
        } catch (SQLException e) {
            return false;
        }
    }

    /** How many standbys stream from the member (it must be a primary), by its {@code pg_stat_replication}. */
    int streamingStandbys(Member m) {
        try (Connection c = sql(m); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) {
            rs.next();
            return rs.getInt(1);
        } catch (SQLException e) {
            return -1;
        }
    }

    /** A primary with every other running member streaming from it. */
    Optional<Member> healthyPrimary() {
        Optional<Member> p = writablePrimary();
        long others = members.values().stream().filter(Member::isUp).count() - 1;
        return p.filter(m -> streamingStandbys(m) == others
                && members.values().stream().filter(o -> o != m && o.isUp()).allMatch(o -> o.role() == Role.REPLICA));
    }

    Connection sql(Member m) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("password", SUPERUSER_PASSWORD);
        p.setProperty("connectTimeout", "2");
        p.setProperty("socketTimeout", "5");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + m.pgPort + "/postgres", p);
    }

    /** What every member says, for a failing test's message. */
    String describe() {
        return members.values().toString();
    }

    private static void killPostmaster(Member m) {
        try {
            Path pid = m.dataDir.resolve("postmaster.pid");
            if (Files.exists(pid)) {
                long p = Long.parseLong(Files.readAllLines(pid).get(0).strip());
                ProcessHandle.of(p).ifPresent(h -> {
                    h.destroyForcibly();
                    h.onExit().join();
                });
            }
        } catch (IOException | RuntimeException e) {
            // not running
        }
    }

    /** Stops every node (a leader stops its PostgreSQL), then kills whatever PostgreSQL is left, and deletes the folder. */
    @Override
    public void close() {
        for (Member m : members.values()) {
            try {
                if (m.node != null) {
                    m.node.close();
                }
            } catch (RuntimeException e) {
                // closing the rest anyway
            }
        }
        for (Member m : members.values()) {
            try {
                if (m.postgres != null) {
                    m.postgres.close();
                }
                if (m.dcs != null) {
                    m.dcs.close();
                }
            } catch (RuntimeException e) {
                // closing the rest anyway
            }
            killPostmaster(m);
        }
        dead.forEach(WitnessDcs::close);
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // a temp folder left behind is harmless
        }
    }
}
