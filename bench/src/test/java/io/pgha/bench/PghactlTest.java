package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgha.agent.Stores;
import io.pgha.agent.config.AgentConfig;
import io.pgha.agent.ctl.Ctl;
import io.pgha.bench.LocalCluster.Node;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
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
 * pghactl's patronictl commands end to end: three pgha agents as separate processes on real
 * PostgreSQL and a real etcd (list -f json, topology, query, dsn, version, restart --role replica,
 * a scheduled restart and flush, edit-config --apply, reinit --wait), and remove on a second, small
 * cluster in the same etcd.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PghactlTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private LocalCluster cluster;

    @RegisterExtension
    final TestWatcher dumpLogsOnFailure = ClusterTestSupport.dumpLogsOnFailure(() -> cluster, 60);

    @BeforeAll
    void startCluster() {
        cluster = new LocalCluster(3, "    ttl: 5\n    loop_wait: 1\n    retry_timeout: 2\n    maximum_lag_on_failover: 1048576");
        cluster.startAll();
        awaitHealthy(Duration.ofSeconds(90));
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private void awaitHealthy(Duration limit) {
        ClusterTestSupport.awaitHealthy(cluster, limit);
    }

    private Node leader() {
        return cluster.node(cluster.leader().orElseThrow());
    }

    private List<Node> replicas() {
        String l = cluster.leader().orElseThrow();
        return cluster.nodes().stream().filter(n -> !n.name.equals(l)).toList();
    }

    /** pghactl with n1's configuration; fails the test on a non-zero exit code. */
    private String ctl(String... args) {
        return ctlAnswering("", args);
    }

    /** pghactl with n1's configuration, {@code input} answering its questions. */
    private String ctlAnswering(String input, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 2];
        all[0] = "-c";
        all[1] = cluster.node("n1").config.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        int rc = Ctl.run(all, new StringReader(input), new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(rc).as("pghactl " + Arrays.toString(args) + " failed: " + err + out).isZero();
        return out.toString();
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
    @Order(0)
    void aFileWithOnlyTheStoreTheClusterAndTheRestCredentialsIsEnoughForPghactl() throws Exception {
        java.nio.file.Path minimal = java.nio.file.Files.createTempFile("pghactl-", ".yml");
        try {
            java.nio.file.Files.writeString(minimal, "scope: " + cluster.scope + "\netcd3:\n  hosts: "
                    + cluster.node("n1").etcdLink.address() + "\nctl:\n  authentication: {username: " + LocalCluster.API_USER
                    + ", password: '" + LocalCluster.API_PASSWORD + "'}\n");
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int rc = Ctl.run(new String[] {"-c", minimal.toString(), "list"}, new StringReader(""), new PrintWriter(out, true),
                    new PrintWriter(err, true));
            assertThat(rc).as(err.toString()).isZero();
            assertThat(out.toString()).contains("n1").contains("n2").contains("n3").contains("Leader");
            rc = Ctl.run(new String[] {"-c", minimal.toString(), "reload", cluster.scope, "n1", "--force"}, new StringReader(""),
                    new PrintWriter(out, true), new PrintWriter(err, true));
            assertThat(rc).as("an unsafe call with ctl.authentication: " + err + out).isZero();
        } finally {
            java.nio.file.Files.deleteIfExists(minimal);
        }
    }

    @Test
    @Order(1)
    void listAsJsonHasPatronictlsKeysForOneLeaderAndTwoStreamingReplicas() throws Exception {
        JsonNode members = JSON.readTree(ctl("list", "-f", "json"));
        assertThat(members).hasSize(3);
        Map<String, JsonNode> byName = new HashMap<>();
        members.forEach(m -> byName.put(m.get("Member").asText(), m));
        for (Node n : cluster.nodes()) {
            JsonNode m = byName.get(n.name);
            assertThat(m.get("Cluster").asText()).isEqualTo(cluster.scope);
            assertThat(m.get("Host").asText()).isEqualTo("127.0.0.1:" + n.pgPort);
            assertThat(m.get("TL").asInt()).isPositive();
        }
        assertThat(byName.get(leader().name).get("Role").asText()).isEqualTo("Leader");
        assertThat(byName.get(leader().name).has("Receive LSN")).as("the leader has no positions to compare").isFalse();
        for (Node r : replicas()) {
            JsonNode m = byName.get(r.name);
            assertThat(m.get("Role").asText()).isEqualTo("Replica");
            assertThat(m.get("State").asText()).isEqualTo("streaming");
            assertThat(m.get("Receive LSN").asText()).matches("[0-9A-F]+/[0-9A-F]+");
            assertThat(m.get("Replay Lag").isNumber()).isTrue();
        }
    }

    @Test
    @Order(2)
    void topologyPutsTheLeaderFirstAndBothReplicasUnderIt() {
        String topology = ctl("topology");
        System.out.println(topology);
        List<String> rows = topology.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| Member")).toList();
        assertThat(rows).hasSize(3);
        assertThat(rows.get(0)).startsWith("| " + leader().name + " ").contains("| Leader ");
        assertThat(rows.subList(1, 3)).allSatisfy(r -> assertThat(r).startsWith("| + n").contains("| Replica ").contains("streaming"));
    }

    @Test
    @Order(3)
    void queryRunsSqlOnTheLeaderAndOnAReplicaAsTheConfigurationsSuperuser() throws Exception {
        assertThat(ctl("query", "-c", "select 1")).isEqualTo("?column?\n1\n");
        assertThat(ctl("query", "-r", "replica", "-c", "select pg_is_in_recovery()")).isEqualTo("pg_is_in_recovery\nTrue\n");
        assertThat(ctl("query", "-r", "primary", "-c", "select current_user, pg_is_in_recovery()"))
                .isEqualTo("current_user\tpg_is_in_recovery\npostgres\tFalse\n");
        Node r = replicas().get(0);
        JsonNode port = JSON.readTree(ctl("query", "-m", r.name, "-c", "show port", "--format", "json"));
        assertThat(port.get(0).get("port").asText()).isEqualTo(String.valueOf(r.pgPort));
    }

    @Test
    @Order(4)
    void dsnNamesTheLeadersPostgresqlOrAMembers() {
        assertThat(ctl("dsn")).isEqualTo("host=127.0.0.1 port=" + leader().pgPort + "\n");
        Node r = replicas().get(1);
        assertThat(ctl("dsn", cluster.scope, "--member", r.name)).isEqualTo("host=127.0.0.1 port=" + r.pgPort + "\n");
    }

    @Test
    @Order(5)
    void versionShowsPghactlsAndEachMembersPghaAndPostgresqlVersions() {
        List<String> lines = ctl("version", cluster.scope).lines().toList();
        assertThat(lines.get(0)).startsWith("pghactl version ");
        assertThat(lines.subList(2, lines.size())).hasSize(3)
                .allSatisfy(l -> assertThat(l).matches("n[123]: pgha \\S+ PostgreSQL 1\\d\\.\\d+"));
    }

    @Test
    @Order(6)
    void restartWithRoleReplicaRestartsBothReplicasAndLeavesTheLeaderRunning() {
        Node l = leader();
        Map<String, Long> before = new HashMap<>();
        cluster.nodes().forEach(n -> before.put(n.name, cluster.postmasterPid(n).orElseThrow()));
        String out = ctl("restart", cluster.scope, "--role", "replica", "--force");
        for (Node r : replicas()) {
            assertThat(out).contains("Success: restart on member " + r.name + "\n");
        }
        assertThat(out).doesNotContain("member " + l.name);
        awaitHealthy(Duration.ofSeconds(60));
        assertThat(cluster.leader()).contains(l.name);
        assertThat(cluster.postmasterPid(l)).contains(before.get(l.name));
        for (Node r : replicas()) {
            assertThat(cluster.postmasterPid(r)).isPresent().isNotEqualTo(Optional.of(before.get(r.name)));
        }
    }

    @Test
    @Order(7)
    void aScheduledRestartShowsInTheExtendedListUntilFlushCancelsIt() throws Exception {
        Node r = replicas().get(1);
        OffsetDateTime at = OffsetDateTime.now(ZoneOffset.UTC).plusHours(1).withNano(0);
        assertThat(ctl("restart", cluster.scope, r.name, "--scheduled", at.toString(), "--force"))
                .endsWith("Success: restart scheduled on member " + r.name + "\n");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> scheduledRestartColumn(r).isPresent());
        assertThat(scheduledRestartColumn(r).orElseThrow()).isNotBlank();

        String flushed = ctl("flush", cluster.scope, r.name, "restart", "--force");
        assertThat(flushed).endsWith("Success: flush scheduled restart for member " + r.name + "\n");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> scheduledRestartColumn(r).isEmpty());
        assertThat(ctl("flush", cluster.scope, r.name, "restart", "--force"))
                .endsWith("No scheduled restart for member " + r.name + "\n");
    }

    /** The member's Scheduled restart value in {@code list -f json}, if it has one. */
    private Optional<String> scheduledRestartColumn(Node n) throws Exception {
        for (JsonNode m : JSON.readTree(ctl("list", "-f", "json"))) {
            if (m.get("Member").asText().equals(n.name) && m.has("Scheduled restart")) {
                return Optional.of(m.get("Scheduled restart").asText());
            }
        }
        return Optional.empty();
    }

    @Test
    @Order(8)
    void editConfigAppliesAYamlFileAndEveryMemberTakesTheNewSetting() throws Exception {
        Path patch = Files.writeString(cluster.root.resolve("patch.yml"),
                "maximum_lag_on_failover: 2097152\npostgresql:\n  parameters:\n    work_mem: 12MB\n");
        String out = ctl("edit-config", "--apply", patch.toString(), "--force");
        assertThat(out).contains("+maximum_lag_on_failover: 2097152").contains("+    work_mem: 12MB").endsWith("Configuration changed\n");
        assertThat(ctl("show-config")).contains("maximum_lag_on_failover: 2097152").contains("work_mem: 12MB");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> cluster.nodes().stream().allMatch(n -> show(n, "work_mem").equals("12MB")));
    }

    @Test
    @Order(9)
    void reinitWaitReturnsOnceTheReplicaRunsAgainFromAFreshCopy() throws Exception {
        Node r = replicas().get(0);
        long pid = cluster.postmasterPid(r).orElseThrow();
        String out = ctl("reinit", cluster.scope, r.name, "--wait", "--force", "--wait-timeout", "120");
        assertThat(out).contains("Success: reinitialize for member " + r.name + "\n")
                .contains("Waiting for reinitialize to complete on: " + r.name + "\n")
                .endsWith("Reinitialize is completed on: " + r.name + "\n");
        assertThat(cluster.postmasterPid(r)).isPresent().isNotEqualTo(Optional.of(pid));
        awaitHealthy(Duration.ofSeconds(60));
    }

    @Test
    @Order(10)
    void removeDeletesASecondClusterAfterItsNameTheSentenceAndItsLeadersName() throws Exception {
        String ghost = cluster.scope + "-ghost";
        AgentConfig config = AgentConfig.read(cluster.node("n1").config);
        List<DcsSession> sessions = new ArrayList<>();
        try (Dcs dcs = Stores.open(config, Duration.ofSeconds(5))) {
            try {
                DcsSession observer = dcs.open(SessionSpec.observer(ghost, Duration.ofSeconds(5)));
                sessions.add(observer);
                for (String name : List.of("g1", "g2")) {
                    DcsSession s = dcs.open(SessionSpec.member(ghost, name, Duration.ofSeconds(60), Duration.ofSeconds(5)));
                    sessions.add(s);
                    s.touchMember("{\"conn_url\":\"postgres://127.0.0.1:1/postgres\",\"state\":\"running\",\"role\":\"replica\"}")
                            .toCompletableFuture().get(10, TimeUnit.SECONDS);
                }
                assertThat(sessions.get(1).acquireLeader().toCompletableFuture().get(10, TimeUnit.SECONDS)).isTrue();
                assertThat(observer.compareAndSet(ClusterKey.INITIALIZE, "7277694203142172922", DcsEntry.ABSENT)
                        .toCompletableFuture().get(10, TimeUnit.SECONDS)).isTrue();
                assertThat(observer.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":30}", DcsEntry.ABSENT)
                        .toCompletableFuture().get(10, TimeUnit.SECONDS)).isTrue();

                String out = ctlAnswering(ghost + "\nYes I am aware\ng1\n", "remove", ghost);
                assertThat(out).startsWith("+ Cluster: " + ghost + " (7277694203142172922) ")
                        .contains("Please confirm the cluster name to remove: ")
                        .contains("please type: \"Yes I am aware\": ")
                        .contains("This cluster currently is healthy. Please specify the leader name to continue: ");
                assertThat(observer.readAuthoritative().toCompletableFuture().get(10, TimeUnit.SECONDS).isEmpty()).isTrue();
                assertThat(ctl("list", ghost, "-f", "json").strip()).isEqualTo("[]");
            } finally {
                sessions.forEach(DcsSession::close);
            }
        }
        // the real cluster is untouched
        assertThat(cluster.healthy()).isTrue();
    }
}
