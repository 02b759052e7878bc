package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.bench.LocalCluster.Node;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * {@code synchronous_mode: on}: a client commits continuously, the primary is killed, and every
 * commit the client saw acknowledged is on the new primary.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SynchronousModeTest {
    private LocalCluster cluster;

    @RegisterExtension
    final TestWatcher dumpLogsOnFailure = ClusterTestSupport.dumpLogsOnFailure(() -> cluster, 120);

    @BeforeAll
    void start() {
        cluster = new LocalCluster(3, "    ttl: 5\n    loop_wait: 1\n    retry_timeout: 1.5\n    synchronous_mode: true");
        cluster.startAll();
        ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(90));
    }

    @AfterAll
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void noCommitTheClientSawAcknowledgedIsLostWhenThePrimaryIsKilled() throws Exception {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> cluster.nodes().stream().anyMatch(n -> cluster.get(n, "/sync") == 200));
        Node old = cluster.node(cluster.leader().orElseThrow());
        List<WriteProbe.Write> acked;
        Node now;
        try (WriteProbe probe = new WriteProbe(cluster, 20).start()) {
            await().atMost(Duration.ofSeconds(20)).until(() -> probe.writes().size() >= 100);
            long killedAt = System.nanoTime();
            cluster.crash(old);
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                    .until(() -> cluster.leader().filter(l -> !l.equals(old.name)).isPresent());
            now = cluster.node(cluster.leader().get());
            await().atMost(Duration.ofSeconds(20)).until(() -> probe.firstWriteOn(now.name, killedAt).isPresent());
            acked = probe.writes();
        }
        Set<Long> onNewPrimary = new HashSet<>();
        try (Connection c = cluster.sql(now.pgPort); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT id FROM probe")) {
            while (rs.next()) {
                onNewPrimary.add(rs.getLong(1));
            }
        }
        long lost = acked.stream().filter(w -> !onNewPrimary.contains(w.id())).count();
        System.out.printf("synchronous mode: %d commits acknowledged, %d missing on the new primary %s%n", acked.size(), lost, now.name);
        assertThat(acked.size()).isGreaterThan(100);
        assertThat(lost).as("acknowledged commits missing from the new primary").isZero();
    }
}
