package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.agent.ctl.Ctl;
import io.pgha.bench.LocalCluster.Node;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Three pgha agents as separate processes on real PostgreSQL and a real etcd: the REST API's health
 * checks and actions, and pghactl, end to end.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentClusterTest {
    private LocalCluster cluster;

    @RegisterExtension
    final TestWatcher dumpLogsOnFailure = ClusterTestSupport.dumpLogsOnFailure(() -> cluster, 60);

    @BeforeAll
    void startCluster() {
        cluster = new LocalCluster(3, "    ttl: 5\n    loop_wait: 1\n    retry_timeout: 2\n    maximum_lag_on_failover: 1048576");
        cluster.startAll();
        ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(90));
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private Node leader() {
        return cluster.node(cluster.leader().orElseThrow());
    }

    private Node aReplica() {
        String l = cluster.leader().orElseThrow();
        return cluster.nodes().stream().filter(n -> !n.name.equals(l) && n.running()).findFirst().orElseThrow();
    }

    private String ctl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 2];
        all[0] = "-c";
        all[1] = cluster.node("n1").config.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        int rc = Ctl.run(all, new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(rc).as("pghactl " + Arrays.toString(args) + " failed: " + err + out).isZero();
        return out.toString();
    }

    @Test
    @Order(1)
    void pghactlListShowsTheThreeAgentsAsOneCluster() {
        String table = ctl("list");
        System.out.println(table);
        assertThat(table).startsWith("+ Cluster: " + cluster.scope + " (");
        assertThat(table.lines().filter(l -> l.contains("| Leader ")).count()).isEqualTo(1);
        assertThat(table.lines().filter(l -> l.contains("| Replica ") && l.contains("streaming")).count()).isEqualTo(2);
    }

    @Test
    @Order(2)
    void everyHealthEndpointAnswersTheRightCodeOnThePrimaryAndOnAReplica() {
        Node p = leader();
        Node r = aReplica();
        for (String path : List.of("/", "/primary", "/master", "/leader", "/read-write", "/read-only", "/health", "/liveness",
                "/readiness", "/patroni", "/cluster", "/history", "/config", "/metrics")) {
            assertThat(cluster.get(p, path)).as("primary " + path).isEqualTo(200);
        }
        for (String path : List.of("/replica", "/sync", "/async", "/standby-leader")) {
            assertThat(cluster.get(p, path)).as("primary " + path).isEqualTo(503);
        }
        for (String path : List.of("/replica", "/read-only", "/async", "/health", "/liveness", "/readiness", "/replica?lag=1MB",
                "/replica?replication_state=streaming")) {
            assertThat(cluster.get(r, path)).as("replica " + path).isEqualTo(200);
        }
        for (String path : List.of("/", "/primary", "/master", "/read-write", "/sync")) {
            assertThat(cluster.get(r, path)).as("replica " + path).isEqualTo(503);
        }
    }

    @Test
    @Order(3)
    void badBodiesGet400AndBadCredentials401() {
        Node p = leader();
        assertThat(cluster.call(p, "POST", "/switchover", "{\"leader\":", true).statusCode()).isEqualTo(400);
        assertThat(cluster.call(p, "POST", "/failover", "{}", true).statusCode()).isEqualTo(400);
        assertThat(cluster.call(p, "PATCH", "/config", "[]", true).statusCode()).isEqualTo(400);
        assertThat(cluster.call(p, "POST", "/switchover", "{\"leader\":\"" + p.name + "\"}", false).statusCode()).isEqualTo(401);
        assertThat(cluster.call(p, "POST", "/restart", "{}", false).statusCode()).isEqualTo(401);
    }

    @Test
    @Order(4)
    void aSwitchoverThroughTheRestApiMovesThePrimaryAndTheOldPrimaryFollows() throws Exception {
        Node old = leader();
        Node target = aReplica();
        HttpResponse<String> r = cluster.call(old, "POST", "/switchover",
                "{\"leader\":\"" + old.name + "\",\"candidate\":\"" + target.name + "\"}", true);
        assertThat(r.body()).isEqualTo("Successfully switched over to \"" + target.name + "\"");
        assertThat(r.statusCode()).isEqualTo(200);
        ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(30));
        assertThat(cluster.leader()).contains(target.name);
        assertThat(cluster.get(old, "/replica?replication_state=streaming")).isEqualTo(200);
        try (Connection c = cluster.sql(target.pgPort); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            assertThat(rs.getBoolean(1)).isFalse();
        }
    }

    @Test
    @Order(5)
    void pghactlSwitchesOverPausesAndEditsTheConfiguration() {
        Node old = leader();
        Node target = aReplica();
        String out = ctl("switchover", "--candidate", target.name, "--force");
        assertThat(out).contains("Successfully switched over to \"" + target.name + "\"");
        ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(30));
        assertThat(ctl("pause")).contains("paused");
        assertThat(ctl("list")).contains("Maintenance mode: on");
        assertThat(ctl("resume")).contains("resumed");
        assertThat(ctl("edit-config", "-s", "maximum_lag_on_failover=2097152", "--force")).contains("Configuration changed");
        assertThat(ctl("show-config")).contains("maximum_lag_on_failover: 2097152");
        assertThat(ctl("history")).contains("no recovery target specified");
        assertThat(cluster.leader()).contains(target.name);
        assertThat(old.running()).isTrue();
    }

    private String show(Node n, String setting) {
        try (Connection c = cluster.sql(n.pgPort); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        } catch (java.sql.SQLException e) {
            return "unreachable: " + e.getMessage();
        }
    }

    @Test
    @Order(6)
    void postgresqlParametersFromEditConfigReachEveryMemberAndARestartOnlyOneIsPendingUntilTheRestart() {
        String ctlOut = ctl("edit-config", "-p", "work_mem=24MB", "-p", "max_connections=110", "--force");
        assertThat(ctlOut).contains("Configuration changed");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> cluster.nodes().stream().allMatch(n -> show(n, "work_mem").equals("24MB")));
        // every member publishes its own pending restart at its next cycle
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> ctl("list").lines().filter(l -> l.contains("| n")).filter(l -> l.contains("*")).count() == 3);
        assertThat(cluster.call(leader(), "GET", "/patroni", null, false).body()).contains("\"pending_restart\":true")
                .contains("\"max_connections\":{\"old_value\":\"100\",\"new_value\":\"110\"}");
        assertThat(cluster.call(leader(), "GET", "/metrics", null, false).body()).containsPattern("patroni_pending_restart\\{[^}]*\\} 1");
        for (Node n : cluster.nodes()) {
            assertThat(show(n, "max_connections")).isEqualTo("100");
        }

        ctl("restart", cluster.scope, "--force");

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).failFast("an agent exited", cluster::anAgentDied)
                .until(() -> cluster.healthy() && cluster.nodes().stream().allMatch(n -> show(n, "max_connections").equals("110")));
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> !ctl("list").contains("Pending restart"));
    }

    @Test
    @Order(7)
    void aReloadedFileAppliesTheMembersOwnParametersAndTagsWithoutARestartAndARefusedFileChangesNothing() throws Exception {
        Node n = aReplica();
        String original = java.nio.file.Files.readString(n.config);
        long postmaster = cluster.postmasterPid(n).orElseThrow();
        try {
            java.nio.file.Files.writeString(n.config, original.replace("parameters: {shared_buffers: 16MB, fsync: 'off'}",
                    "parameters: {shared_buffers: 16MB, fsync: 'off', work_mem: 40MB}") + "tags: {nofailover: true}\n");

            // as Patroni: SIGHUP to the agent re-reads its file
            assertThat(new ProcessBuilder("kill", "-HUP", Long.toString(n.pid())).start().waitFor()).isZero();

            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                    .until(() -> show(n, "work_mem").equals("40MB"));
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                    .until(() -> cluster.call(n, "GET", "/patroni", null, false).body().contains("\"nofailover\":true"));

            // pghactl reload: the member's own value is gone, so the cluster's (24MB, set above) is back
            java.nio.file.Files.writeString(n.config, original);
            assertThat(ctl("reload", cluster.scope, n.name, "--force")).contains("Reload request received for member " + n.name);
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                    .until(() -> show(n, "work_mem").equals("24MB"));

            java.nio.file.Files.writeString(n.config, original.replace("restapi:", "restapi:\n  verify_clinet: required"));
            HttpResponse<String> refused = cluster.call(n, "POST", "/reload", "{}", true);
            assertThat(refused.statusCode()).isEqualTo(400);
            assertThat(refused.body()).contains("restapi.verify_clinet");
            assertThat(n.running()).isTrue();
            assertThat(cluster.postmasterPid(n)).as("no reload restarted PostgreSQL").contains(postmaster);
        } finally {
            java.nio.file.Files.writeString(n.config, original);
        }
    }

    private java.util.Set<String> slots(Node n) {
        java.util.Set<String> out = new java.util.TreeSet<>();
        try (Connection c = cluster.sql(n.pgPort); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT slot_name FROM pg_replication_slots")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        } catch (java.sql.SQLException e) {
            out.add("unreachable: " + e.getMessage());
        }
        return out;
    }

    @Test
    @Order(8)
    void afterTheSwitchoversOnlyTheLeaderHasTheReplicasSlotsAndTheFormerLeadersAreGone() {
        // two switchovers ran above: each former leader had a slot per replica, which it drops once they stream elsewhere
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
            Node l = leader();
            List<String> others = cluster.nodes().stream().filter(n -> n != l).map(n -> n.name).toList();
            return slots(l).containsAll(others) && cluster.nodes().stream().filter(n -> n != l).allMatch(n -> slots(n).isEmpty());
        });
        assertThat(slots(leader())).doesNotContain(leader().name);
    }
}
