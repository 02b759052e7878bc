package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.bench.LocalCluster.Node;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Real HAProxy in front of a pgha cluster, with the configuration a Patroni user already has:
 * {@code option httpchk} on {@code /primary} for the write port and on {@code /replica} for the
 * read port. Writes through HAProxy follow the primary across a switchover.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HaproxyTest {
    private LocalCluster cluster;
    private Process haproxy;
    private Path haproxyCfg;
    private final int writePort = LocalCluster.freePort();
    private final int readPort = LocalCluster.freePort();

    @RegisterExtension
    final TestWatcher dumpLogsOnFailure = ClusterTestSupport.dumpLogsOnFailure(() -> cluster, 40);

    @BeforeAll
    void start() throws IOException {
        cluster = new LocalCluster(3, "    ttl: 5\n    loop_wait: 1\n    retry_timeout: 2");
        cluster.startAll();
        ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(90));
        StringBuilder servers = new StringBuilder();
        for (Node n : cluster.nodes()) {
            servers.append("    server ").append(n.name).append(" 127.0.0.1:").append(n.pgPort)
                    .append(" maxconn 100 check port ").append(n.apiPort).append('\n');
        }
        String cfg = """
                global
                    maxconn 200

                defaults
                    mode tcp
                    retries 2
                    timeout client 30m
                    timeout connect 4s
                    timeout server 30m
                    timeout check 2s

                listen primary
                    bind 127.0.0.1:%d
                    option httpchk OPTIONS /primary
                    http-check expect status 200
                    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
                %s
                listen replicas
                    bind 127.0.0.1:%d
                    balance roundrobin
                    option httpchk OPTIONS /replica
                    http-check expect status 200
                    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
                %s""".formatted(writePort, servers, readPort, servers);
        haproxyCfg = cluster.root.resolve("haproxy.cfg");
        Files.writeString(haproxyCfg, cfg);
        Path haproxyBin = Path.of("/usr/sbin/haproxy");
        if (!Files.isExecutable(haproxyBin)) {
            throw new IllegalStateException("haproxy is not installed: run bin/install-test-deps (apt-get install -y haproxy)");
        }
        haproxy = new ProcessBuilder(haproxyBin.toString(), "-db", "-f", haproxyCfg.toString()).redirectErrorStream(true)
                .redirectOutput(cluster.root.resolve("haproxy.log").toFile()).start();
    }

    @AfterAll
    void stop() throws InterruptedException {
        if (haproxy != null) {
            haproxy.destroy();
            if (!haproxy.waitFor(10, TimeUnit.SECONDS)) {
                haproxy.destroyForcibly();
            }
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /** Which member's PostgreSQL a connection through HAProxy reached, and whether it took a write. */
    private int writeThrough(int port) throws SQLException {
        try (Connection c = cluster.sql(port); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS probe (id serial primary key, at timestamptz default now())");
            st.execute("INSERT INTO probe DEFAULT VALUES");
            try (ResultSet rs = st.executeQuery("SELECT inet_server_port()")) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** The port of the member a read through {@code port} reached, negated when that member is not in recovery. */
    private int readThrough(int port) throws SQLException {
        try (Connection c = cluster.sql(port); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT inet_server_port(), pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(2) ? rs.getInt(1) : -rs.getInt(1);
        }
    }

    /**
     * The ports a round of reads through the read port reached, once every read of a round reaches
     * a replica. HAProxy takes a server out only after {@code fall 2} failed checks 500 ms apart (and
     * counts servers up until their first checks), so for about a second after it starts, or after
     * a promotion, a read may still reach the primary: that is HAProxy's check interval, not pgha's.
     */
    private java.util.Set<Integer> readsReachOnlyReplicas() {
        java.util.Set<Integer> reached = new java.util.HashSet<>();
        await("every read through HAProxy's read port reaches a replica").atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
                    reached.clear();
                    for (int i = 0; i < 4; i++) {
                        reached.add(readThrough(readPort));
                    }
                    return reached.stream().allMatch(p -> p > 0);
                });
        return reached;
    }

    private int writesLandOn() {
        try {
            return writeThrough(writePort);
        } catch (SQLException e) {
            return -1;
        }
    }

    @Test
    void writesThroughHaproxyReachTheNewPrimaryAfterASwitchover() throws Exception {
        Node old = cluster.node(cluster.leader().orElseThrow());
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> writesLandOn() == old.pgPort);
        assertThat(readsReachOnlyReplicas()).doesNotContain(old.pgPort);

        Node target = cluster.nodes().stream().filter(n -> n != old).findFirst().orElseThrow();
        var r = cluster.call(old, "POST", "/switchover", "{\"leader\":\"" + old.name + "\",\"candidate\":\"" + target.name + "\"}", true);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> writesLandOn() == target.pgPort);
        ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(20));
        assertThat(readsReachOnlyReplicas()).doesNotContain(target.pgPort);
    }
}
