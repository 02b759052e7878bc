package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgha.bench.LocalCluster.Node;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * {@code synchronous_mode: quorum} on real PostgreSQL and etcd: the primary runs with
 * {@code ANY 1 (...)} over both standbys, the {@code sync} key lists them as voters with quorum 1
 * (Patroni's arithmetic: 2 voters - 1 synchronous), {@code /quorum} answers 200 on the voters; a
 * client commits continuously, the primary is killed, and every commit the client saw acknowledged
 * is on the new primary, whose sync key and {@code /quorum} answers follow the new topology.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class QuorumModeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private LocalCluster cluster;

    @RegisterExtension
    final TestWatcher dumpLogsOnFailure = ClusterTestSupport.dumpLogsOnFailure(() -> cluster, 120);

    @BeforeAll
    void start() {
        cluster = new LocalCluster(3, "    ttl: 5\n    loop_wait: 1\n    retry_timeout: 1.5\n    synchronous_mode: quorum");
        cluster.startAll();
        ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(90));
    }

    @AfterAll
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private JsonNode syncKey() {
        try {
            return JSON.readTree(cluster.key("sync").orElse("{}"));
        } catch (java.io.IOException e) {
            return JSON.createObjectNode();
        }
    }

    private String synchronousStandbyNames(Node primary) {
        try (Connection c = cluster.sql(primary.pgPort); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW synchronous_standby_names")) {
            return rs.next() ? rs.getString(1) : "";
        } catch (SQLException e) {
            return "unreadable: " + e.getMessage();
        }
    }

    /** The sync key names {@code leader} with {@code voters} and {@code quorum}. */
    private boolean keyIs(String leader, Set<String> voters, int quorum) {
        JsonNode k = syncKey();
        return k.path("leader").asText().equals(leader) && k.path("quorum").asInt(-1) == quorum
                && k.path("sync_standby").asText("").equals(String.join(",", new TreeSet<>(voters)));
    }

    @Test
    @Order(1)
    void aKilledPrimaryLosesNoAcknowledgedCommitAndQuorumAnswersFollowTheVoters() throws Exception {
        Node old = cluster.node(cluster.leader().orElseThrow());
        List<Node> standbys = cluster.nodes().stream().filter(n -> n != old).toList();
        Set<String> standbyNames = new TreeSet<>(standbys.stream().map(n -> n.name).toList());
        String anyOneOfBoth = "ANY 1 (" + String.join(",", standbyNames.stream().map(n -> "\"" + n + "\"").toList()) + ")";
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> keyIs(old.name, standbyNames, 1) && synchronousStandbyNames(old).equals(anyOneOfBoth));
        System.out.printf("quorum mode: sync key %s, synchronous_standby_names %s%n", syncKey(), synchronousStandbyNames(old));
        assertThat(syncKey().fieldNames()).toIterable().containsExactlyInAnyOrder("leader", "quorum", "sync_standby");
        for (Node s : standbys) {
            assertThat(cluster.get(s, "/quorum")).as("/quorum on voter " + s.name).isEqualTo(200);
            assertThat(cluster.get(s, "/read-only-quorum")).as("/read-only-quorum on voter " + s.name).isEqualTo(200);
            assertThat(cluster.get(s, "/sync")).as("/sync is for synchronous_mode on: " + s.name).isEqualTo(503);
            assertThat(cluster.get(s, "/async")).as("/async on voter " + s.name).isEqualTo(503);
            assertThat(cluster.call(s, "GET", "/patroni", null, false).body()).contains("\"quorum_standby\":true");
            assertThat(cluster.call(s, "GET", "/metrics", null, false).body()).contains("patroni_quorum_standby{scope=");
        }
        assertThat(cluster.get(old, "/quorum")).as("/quorum on the primary").isEqualTo(503);
        assertThat(cluster.get(old, "/read-only-quorum")).as("/read-only-quorum on the primary").isEqualTo(200);

        List<WriteProbe.Write> acked;
        Node now;
        try (WriteProbe probe = new WriteProbe(cluster, 20).start()) {
            await().atMost(Duration.ofSeconds(20)).until(() -> probe.writes().size() >= 100);
            long killedAt = System.nanoTime();
            cluster.crash(old);
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                    .until(() -> cluster.leader().filter(l -> !l.equals(old.name)).isPresent());
            now = cluster.node(cluster.leader().get());
            long failoverMs = (System.nanoTime() - killedAt) / 1_000_000;
            await().atMost(Duration.ofSeconds(20)).until(() -> probe.firstWriteOn(now.name, killedAt).isPresent());
            acked = probe.writes();
            System.out.printf("quorum mode: leader key taken by %s %d ms after the kill%n", now.name, failoverMs);
        }
        Set<Long> onNewPrimary = new HashSet<>();
        try (Connection c = cluster.sql(now.pgPort); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT id FROM probe")) {
            while (rs.next()) {
                onNewPrimary.add(rs.getLong(1));
            }
        }
        long lost = acked.stream().filter(w -> !onNewPrimary.contains(w.id())).count();
        System.out.printf("quorum mode: %d commits acknowledged, %d missing on the new primary %s%n", acked.size(), lost, now.name);
        assertThat(acked.size()).isGreaterThan(100);
        assertThat(lost).as("acknowledged commits missing from the new primary").isZero();

        // the old primary is gone: the new leader keeps the other standby as its only voter (ANY 1 of 1, quorum 0)
        Node other = standbys.stream().filter(n -> n != now).findFirst().orElseThrow();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> keyIs(now.name, Set.of(other.name), 0) && cluster.get(other, "/quorum") == 200);
        System.out.printf("quorum mode after the failover: sync key %s, synchronous_standby_names %s%n", syncKey(),
                synchronousStandbyNames(now));
        assertThat(cluster.get(now, "/quorum")).as("/quorum on the new primary").isEqualTo(503);
        assertThat(cluster.get(now, "/read-only-quorum")).as("/read-only-quorum on the new primary").isEqualTo(200);

        // the old primary rejoins as a replica and becomes a voter again: two voters, quorum 1
        cluster.start(old);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> keyIs(now.name, Set.of(other.name, old.name), 1) && cluster.get(old, "/quorum") == 200);
        System.out.printf("quorum mode after the old primary rejoined: sync key %s, synchronous_standby_names %s%n", syncKey(),
                synchronousStandbyNames(now));
    }

    /** Patroni's quorum_commit.feature, step 4: quorum to on (multisync) and back, with PATCH /config. */
    @Test
    @Order(2)
    void switchingFromQuorumToOnAndBackAtRunTimeConverges() {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(cluster::healthy);
        Node primary = cluster.node(cluster.leader().orElseThrow());
        Set<String> standbys = new TreeSet<>(cluster.nodes().stream().filter(n -> n != primary).map(n -> n.name).toList());
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> keyIs(primary.name, standbys, 1));

        assertThat(cluster.call(primary, "PATCH", "/config", "{\"synchronous_mode\": \"on\"}", true).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
            JsonNode k = syncKey();
            String voter = k.path("sync_standby").asText("");
            return k.path("quorum").asInt(-1) == 0 && standbys.contains(voter)
                    && synchronousStandbyNames(primary).equals("FIRST 1 (\"" + voter + "\")")
                    && cluster.get(cluster.node(voter), "/sync") == 200 && cluster.get(cluster.node(voter), "/quorum") == 503;
        });
        System.out.printf("quorum -> on: sync key %s, synchronous_standby_names %s%n", syncKey(), synchronousStandbyNames(primary));

        assertThat(cluster.call(primary, "PATCH", "/config", "{\"synchronous_mode\": \"quorum\"}", true).statusCode()).isEqualTo(200);
        String anyOneOfBoth = "ANY 1 (" + String.join(",", standbys.stream().map(n -> "\"" + n + "\"").toList()) + ")";
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> keyIs(primary.name, standbys, 1) && synchronousStandbyNames(primary).equals(anyOneOfBoth));
        System.out.printf("on -> quorum: sync key %s, synchronous_standby_names %s%n", syncKey(), synchronousStandbyNames(primary));
    }
}
