package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.RestApiConfig;
import io.pgha.Role;
import io.pgha.health.HealthCheck;
import io.pgha.health.HealthRequest;
import io.pgha.health.HealthResponse;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The public health API answers what the built-in REST server answers, path by path, on a real-time cluster. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PublicHealthCheckTest {
    private RealTimeCluster cluster;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    void startCluster() {
        cluster = new RealTimeCluster(2, i -> RestApiConfig.builder().listen("127.0.0.1", 0).build(), (i, b) -> {
        }).start();
        await().atMost(Duration.ofSeconds(30)).until(cluster::healthy);
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.node(cluster.leader().get()).status().role() == Role.PRIMARY);
        await().atMost(Duration.ofSeconds(10)).until(() -> HealthCheck.evaluate(cluster.node(cluster.replicaName()),
                HealthRequest.of("/replica")).passed());
    }

    @AfterAll
    void stopCluster() {
        cluster.close();
    }

    private int serverCode(String member, String pathAndQuery) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(cluster.url(member) + pathAndQuery)).timeout(Duration.ofSeconds(10)).GET().build();
        return http.send(r, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static HealthResponse facade(io.pgha.HaNode node, String pathAndQuery) {
        int q = pathAndQuery.indexOf('?');
        return HealthCheck.evaluate(node, q < 0 ? HealthRequest.of(pathAndQuery)
                : HealthRequest.of(pathAndQuery.substring(0, q), pathAndQuery.substring(q + 1)));
    }

    @Test
    void everyCheckAnswersTheSameCodeAsTheBuiltInServerOnThePrimaryAndOnAReplica() throws Exception {
        List<String> checks = new ArrayList<>(HealthCheck.PATHS);
        checks.addAll(List.of("/replica?lag=10MB", "/replica?lag=0", "/replica?replication_state=streaming",
                "/replica?replication_state=in%20archive%20recovery", "/readiness?lag=1kB", "/primary/"));
        for (String member : List.of(cluster.leader().orElseThrow(), cluster.replicaName())) {
            for (String check : checks) {
                assertThat(facade(cluster.node(member), check).status()).as(member + " " + check).isEqualTo(serverCode(member, check));
            }
        }
    }

    @Test
    void thePrimaryPassesPrimaryWithTheStatusDocumentAsBody() {
        HealthResponse r = HealthCheck.evaluate(cluster.node(cluster.leader().orElseThrow()), HealthRequest.of("/primary"));
        assertThat(r.outcome()).isEqualTo(HealthResponse.Outcome.PASSED);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).isEqualTo("application/json");
        assertThat(r.body()).contains("\"role\":\"primary\"");
    }

    @Test
    void aReplicaFailsPrimaryWith503() {
        HealthResponse r = HealthCheck.evaluate(cluster.node(cluster.replicaName()), HealthRequest.of("/primary"));
        assertThat(r.outcome()).isEqualTo(HealthResponse.Outcome.FAILED);
        assertThat(r.status()).isEqualTo(503);
    }

    @Test
    void anUnknownPathIsATypedAnswerNotAnException() {
        HealthResponse r = HealthCheck.evaluate(cluster.node(cluster.replicaName()), HealthRequest.of("/switchover"));
        assertThat(r.outcome()).isEqualTo(HealthResponse.Outcome.NOT_A_HEALTH_CHECK);
        assertThat(r.status()).isEqualTo(404);
        assertThat(HealthCheck.isHealthCheck("/switchover")).isFalse();
        assertThat(HealthCheck.isHealthCheck("/replica/")).isTrue();
    }

    @Test
    void aMalformedLagIsABadRequestNamingTheParameter() throws Exception {
        String replica = cluster.replicaName();
        HealthResponse r = HealthCheck.evaluate(cluster.node(replica), HealthRequest.of("/replica", "lag=ten"));
        assertThat(r.outcome()).isEqualTo(HealthResponse.Outcome.BAD_REQUEST);
        assertThat(r.status()).isEqualTo(400).isEqualTo(serverCode(replica, "/replica?lag=ten"));
        assertThat(r.body()).contains("lag");
    }

    @Test
    void thePublicPathsAreEveryCheckTheBuiltInServerAnswersTheQuorumChecksIncluded() {
        // the Spring routes are made from this list: a check missing here is a check an embedder cannot mount
        assertThat(HealthCheck.PATHS).contains("/quorum", "/read-only-quorum", "/read-only-synchronous", "/standby-leader")
                .allSatisfy(p -> assertThat(HealthCheck.isHealthCheck(p)).as(p).isTrue());
    }

    @Test
    void aRepeatedParameterCountsWithItsFirstValueAsInPatroni() throws Exception {
        String replica = cluster.replicaName();
        assertThat(serverCode(replica, "/replica?lag=1TB&lag=ten")).isEqualTo(200)
                .isEqualTo(facade(cluster.node(replica), "/replica?lag=1TB&lag=ten").status());
    }
}
