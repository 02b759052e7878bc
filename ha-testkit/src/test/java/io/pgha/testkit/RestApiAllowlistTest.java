package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.RestApiConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Patroni's {@code restapi.allowlist}: who may call the unsafe endpoints; reads stay open to all. */
class RestApiAllowlistTest {
    private static int reload(UnaryOperator<RestApiConfig.Builder> rest) throws Exception {
        try (RealTimeCluster cluster = new RealTimeCluster(1, i -> rest.apply(RestApiConfig.builder().listen("127.0.0.1", 0)).build(),
                (i, b) -> { }).start()) {
            await().atMost(Duration.ofSeconds(30)).until(cluster::healthy);
            HttpClient http = HttpClient.newHttpClient();
            String url = cluster.url("n1");
            assertThat(http.send(HttpRequest.newBuilder(URI.create(url + "/health")).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).as("reads are for everyone").isEqualTo(200);
            return http.send(HttpRequest.newBuilder(URI.create(url + "/reload")).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode();
        }
    }

    @Test
    void aCallerOutsideTheAllowlistIsDenied() throws Exception {
        assertThat(reload(b -> b.allowlist(List.of("10.9.9.9", "192.168.0.0/16")))).isEqualTo(403);
    }

    @Test
    void aCallerInsideTheAllowlistIsServed() throws Exception {
        assertThat(reload(b -> b.allowlist(List.of("127.0.0.0/8")))).isEqualTo(202);
    }

    @Test
    void theClustersMembersAreAllowedWhenTheListIncludesThem() throws Exception {
        assertThat(reload(b -> b.allowlist(List.of("10.9.9.9")).allowlistIncludeMembers(true)))
                .as("the caller is the host of a member's api_url").isEqualTo(202);
    }
}
