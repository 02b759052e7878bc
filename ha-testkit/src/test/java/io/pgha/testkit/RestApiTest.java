package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgha.MemberTags;
import io.pgha.RestApiConfig;
import io.pgha.Role;
import io.pgha.internal.cluster.ClusterCodec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The REST API of a real-time three-node cluster, endpoint by endpoint, with Patroni's codes. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RestApiTest {
    private static final String USER = "admin";
    private static final String PASSWORD = "s3cret-Pa55";

    private RealTimeCluster cluster;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    void startCluster() {
        cluster = new RealTimeCluster(3, i -> RestApiConfig.builder().listen("127.0.0.1", 0).credentials(USER, PASSWORD)
                .maxBodyBytes(4096).build(), (i, b) -> {
            if (i == 3) {
                b.tags(MemberTags.DEFAULT.withCustom("dc", "east"));
            }
        }).start();
        await().atMost(Duration.ofSeconds(30)).until(cluster::healthy);
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.node(cluster.leader().get()).status().role() == Role.PRIMARY);
    }

    @AfterAll
    void stopCluster() {
        cluster.close();
    }

    private HttpResponse<String> call(String member, String method, String path, String body, boolean auth) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(cluster.url(member) + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (auth) {
            b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                    (USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8)));
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private int get(String member, String path) throws Exception {
        return call(member, "GET", path, null, false).statusCode();
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        return ClusterCodec.JSON.readTree(r.body());
    }

    @Test
    void healthChecksAnswerForThePrimaryAndForAReplica() throws Exception {
        String leader = cluster.leader().orElseThrow();
        String replica = cluster.replicaName();
        for (String p : new String[] {"/", "/primary", "/master", "/leader", "/read-write", "/read-only", "/health", "/liveness",
                "/readiness", "/read-only-sync", "/read-only-quorum"}) {
            assertThat(get(leader, p)).as("primary " + p).isEqualTo(200);
        }
        for (String p : new String[] {"/replica", "/async", "/sync", "/quorum"}) {
            assertThat(get(leader, p)).as("primary " + p).isEqualTo(503);
        }
        for (String p : new String[] {"/replica", "/read-only", "/async", "/health", "/liveness", "/readiness",
                "/replica?lag=10MB", "/replica?replication_state=streaming"}) {
            assertThat(get(replica, p)).as("replica " + p).isEqualTo(200);
        }
        for (String p : new String[] {"/", "/primary", "/master", "/read-write", "/sync", "/quorum", "/read-only-sync",
                "/read-only-quorum", "/replica?replication_state=stopped"}) {
            assertThat(get(replica, p)).as("replica " + p).isEqualTo(503);
        }
        assertThat(get(replica, "/replica?lag=abc")).isEqualTo(400);
    }

    @Test
    void headAndOptionsAnswerWithTheStatusLineOnly() throws Exception {
        String leader = cluster.leader().orElseThrow();
        HttpResponse<String> head = call(leader, "HEAD", "/primary", null, false);
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        HttpResponse<String> options = call(cluster.replicaName(), "OPTIONS", "/primary", null, false);
        assertThat(options.statusCode()).isEqualTo(503);
        assertThat(options.body()).isEmpty();
    }

    @Test
    void replicaChecksMatchTags() throws Exception {
        String leader = cluster.leader().orElseThrow();
        if (!leader.equals("n3")) {
            assertThat(get("n3", "/replica?tag_dc=east")).isEqualTo(200);
            assertThat(get("n3", "/replica?tag_dc=west")).isEqualTo(503);
        }
    }

    @Test
    void statusDocumentsUsePatronisFields() throws Exception {
        String leader = cluster.leader().orElseThrow();
        JsonNode p = json(call(leader, "GET", "/patroni", null, false));
        assertThat(p.path("state").asText()).isEqualTo("running");
        assertThat(p.path("role").asText()).isEqualTo("primary");
        assertThat(p.path("xlog").path("location").asLong()).isPositive();
        assertThat(p.path("timeline").asInt()).isPositive();
        assertThat(p.path("patroni").path("scope").asText()).isEqualTo(cluster.scope);
        assertThat(p.path("database_system_identifier").asText()).startsWith("7");
        assertThat(p.path("write_fence").path("in_process").asBoolean()).isTrue();
        assertThat(p.path("write_fence").path("external").asText()).isEqualTo("the fake server's own timer");
        JsonNode r = json(call(cluster.replicaName(), "GET", "/patroni", null, false));
        assertThat(r.path("role").asText()).isEqualTo("replica");
        assertThat(r.path("xlog").has("received_location")).isTrue();

        JsonNode c = json(call(leader, "GET", "/cluster", null, false));
        assertThat(c.path("members")).hasSize(3);
        assertThat(c.path("members").findValuesAsText("role")).contains("leader", "replica");
        assertThat(call(leader, "GET", "/history", null, false).statusCode()).isEqualTo(200);
        JsonNode config = json(call(leader, "GET", "/config", null, false));
        assertThat(config.path("ttl").asInt()).isEqualTo(3);

        String metrics = call(leader, "GET", "/metrics", null, false).body();
        assertThat(metrics).contains("# TYPE patroni_primary gauge", "patroni_primary{scope=\"" + cluster.scope + "\",name=\"" + leader + "\"} 1",
                "patroni_replica{", "patroni_postgres_timeline{", "patroni_xlog_location{", "patroni_cluster_unlocked{",
                "patroni_dcs_last_seen{", "patroni_pending_restart{", "patroni_is_paused{",
                "pgha_external_fence{scope=\"" + cluster.scope + "\",name=\"" + leader + "\"} 1");
    }

    @Test
    void unsafeMethodsNeedCredentials() throws Exception {
        HttpResponse<String> r = call(cluster.leader().get(), "POST", "/switchover", "{}", false);
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Basic"));
        HttpRequest wrong = HttpRequest.newBuilder(URI.create(cluster.url(cluster.leader().get()) + "/config"))
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{}"))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("admin:nope".getBytes(StandardCharsets.UTF_8))).build();
        assertThat(http.send(wrong, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
        assertThat(get(cluster.leader().get(), "/patroni")).as("reads need none").isEqualTo(200);
    }

    @Test
    void badRequestsGet400WithAReasonAndNoStackTrace() throws Exception {
        String leader = cluster.leader().orElseThrow();
        HttpResponse<String> notJson = call(leader, "POST", "/switchover", "{not json", true);
        assertThat(notJson.statusCode()).isEqualTo(400);
        assertThat(notJson.body()).isEqualTo("the body is not valid JSON").doesNotContain("Exception");
        assertThat(call(leader, "POST", "/switchover", "[1,2]", true).statusCode()).isEqualTo(400);
        assertThat(call(leader, "POST", "/switchover", "{\"candidate\":\"n2\"}", true).body())
                .isEqualTo("Switchover could be performed only from a specific leader");
        assertThat(call(leader, "POST", "/failover", "{\"leader\":\"" + leader + "\"}", true).body())
                .isEqualTo("Failover could be performed only to a specific candidate");
        HttpResponse<String> tz = call(leader, "POST", "/switchover",
                "{\"leader\":\"" + leader + "\",\"scheduled_at\":\"2030-01-01T10:00:00\"}", true);
        assertThat(tz.statusCode()).isEqualTo(400);
        assertThat(tz.body()).contains("Timezone information is mandatory");
        assertThat(call(leader, "POST", "/switchover", "{\"leader\":\"nobody\",\"candidate\":\"n2\"}", true).statusCode()).isEqualTo(412);
        assertThat(call(leader, "POST", "/switchover", "{\"leader\":\"" + leader + "\",\"candidate\":\"ghost\"}", true).statusCode())
                .isEqualTo(412);
        HttpResponse<String> big = call(leader, "PATCH", "/config", "{\"x\":\"" + "a".repeat(10_000) + "\"}", true);
        assertThat(big.statusCode()).isEqualTo(400);
        assertThat(big.body()).contains("too large");
        assertThat(get(leader, "/nope")).isEqualTo(404);
        assertThat(call(leader, "DELETE", "/patroni", null, true).statusCode()).isEqualTo(405);
        assertThat(call(leader, "PATCH", "/config", "{\"loop_wait\":\"soon\"}", true).statusCode()).isEqualTo(400);
        assertThat(call(leader, "POST", "/reinitialize", "{}", true).body()).isEqualTo("I am the leader, can not reinitialize");
    }

    @Test
    void patchingTheConfigMergesAndNullDeletes() throws Exception {
        String leader = cluster.leader().orElseThrow();
        HttpResponse<String> r = call(leader, "PATCH", "/config", "{\"postgresql\":{\"parameters\":{\"work_mem\":\"8MB\"}},\"custom\":1}", true);
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode c = json(call(leader, "GET", "/config", null, false));
        assertThat(c.path("postgresql").path("parameters").path("work_mem").asText()).isEqualTo("8MB");
        assertThat(c.path("postgresql").path("use_pg_rewind").asBoolean()).as("merged, not replaced").isTrue();
        assertThat(c.path("ttl").asInt()).isEqualTo(3);
        call(leader, "PATCH", "/config", "{\"custom\":null}", true);
        assertThat(json(call(leader, "GET", "/config", null, false)).has("custom")).isFalse();
    }

    @Test
    void aReplicaRestartsOnRequest() throws Exception {
        String replica = cluster.replicaName();
        HttpResponse<String> r = call(replica, "POST", "/restart", "{}", true);
        assertThat(r.body()).isEqualTo("restarted successfully");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(call(replica, "POST", "/restart", "{\"role\":\"primary\"}", true).statusCode()).isEqualTo(503);
        assertThat(call(replica, "POST", "/reload", "{}", true).statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(10)).until(cluster::healthy);
    }

    @Test
    void aRestartIsScheduledOnceCancelledAndRunsAtItsTimeWithPatronisCodes() throws Exception {
        String replica = cluster.replicaName();
        String later = OffsetDateTime.now().plusHours(1).toString();
        assertThat(call(replica, "POST", "/restart", "{\"schedule\":\"" + later + "\"}", true).statusCode()).isEqualTo(202);
        assertThat(call(replica, "POST", "/restart", "{\"schedule\":\"" + later + "\"}", true).statusCode())
                .as("one scheduled restart at a time").isEqualTo(409);
        assertThat(json(call(replica, "GET", "/patroni", null, false)).path("scheduled_restart").path("schedule").asText())
                .isEqualTo(later);
        await().atMost(Duration.ofSeconds(10)).until(() -> io.pgha.ClusterView.of(cluster.dcs.peekAll(cluster.scope))
                .member(replica).flatMap(io.pgha.ClusterView.Member::scheduledRestart).isPresent());
        assertThat(call(replica, "DELETE", "/restart", null, true).statusCode()).isEqualTo(200);
        assertThat(call(replica, "DELETE", "/restart", null, true).statusCode()).isEqualTo(404);

        assertThat(call(replica, "POST", "/restart", "{\"schedule\":\"2020-01-01T00:00:00Z\"}", true).statusCode())
                .as("in the past").isEqualTo(400);
        assertThat(call(replica, "POST", "/restart", "{\"when\":\"now\"}", true).body()).contains("Unknown filter");
        assertThat(call(replica, "POST", "/restart", "{\"postgres_version\":\"15.0\"}", true).statusCode())
                .as("the server is not older than 15.0").isEqualTo(503);
        assertThat(call(replica, "POST", "/restart", "{\"restart_pending\":true}", true).statusCode())
                .as("nothing waits for a restart").isEqualTo(503);

        int before = cluster.pg(replica).restarts();
        String soon = OffsetDateTime.now().plusSeconds(2).toString();
        assertThat(call(replica, "POST", "/restart", "{\"schedule\":\"" + soon + "\",\"role\":\"replica\"}", true).statusCode())
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(15)).until(() -> cluster.pg(replica).restarts() == before + 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> !json(call(replica, "GET", "/patroni", null, false)).has("scheduled_restart"));
        await().atMost(Duration.ofSeconds(10)).until(cluster::healthy);
    }

    @Test
    void zzASwitchoverMovesThePrimaryAndTheOldPrimaryFollows() throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(cluster::healthy);
        String leader = cluster.leader().orElseThrow();
        String candidate = cluster.replicaName();
        HttpResponse<String> r = call(leader, "POST", "/switchover",
                "{\"leader\":\"" + leader + "\",\"candidate\":\"" + candidate + "\"}", true);
        assertThat(r.body()).isEqualTo("Successfully switched over to \"" + candidate + "\"");
        assertThat(r.statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(15)).until(cluster::healthy);
        assertThat(cluster.leader()).contains(candidate);
        assertThat(cluster.pg(leader).upstream()).hasValueSatisfying(u -> assertThat(u.member()).isEqualTo(candidate));
        await().atMost(Duration.ofSeconds(5)).until(() -> get(candidate, "/primary") == 200 && get(leader, "/replica") == 200);
    }
}
