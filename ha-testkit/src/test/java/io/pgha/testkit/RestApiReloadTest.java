package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.ConfigurationException;
import io.pgha.RestApiConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Patroni's {@code POST /reload}: the node's configuration reloader runs first, and a refused configuration is answered 400. */
class RestApiReloadTest {
    private final AtomicInteger reloads = new AtomicInteger();
    private final AtomicReference<RuntimeException> refusal = new AtomicReference<>();

    private HttpResponse<String> reload(RealTimeCluster cluster) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(cluster.url("n1") + "/reload"))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aReloadRunsTheConfigurationReloaderAndARefusedConfigurationIsAnswered400WithTheKey() throws Exception {
        try (RealTimeCluster cluster = new RealTimeCluster(1, i -> RestApiConfig.builder().listen("127.0.0.1", 0).build(),
                (i, b) -> b.configReloader(() -> {
                    reloads.incrementAndGet();
                    if (refusal.get() != null) {
                        throw refusal.get();
                    }
                })).start()) {
            await().atMost(Duration.ofSeconds(30)).until(cluster::healthy);

            assertThat(reload(cluster).statusCode()).isEqualTo(202);
            assertThat(reloads.get()).isEqualTo(1);

            refusal.set(new ConfigurationException("postgresql.parameters", "not a setting name: 'work mem'"));
            HttpResponse<String> refused = reload(cluster);

            assertThat(refused.statusCode()).isEqualTo(400);
            assertThat(refused.body()).contains("reload refused").contains("postgresql.parameters");
            assertThat(reloads.get()).isEqualTo(2);
            assertThat(cluster.healthy()).as("the node runs on").isTrue();
        }
    }
}
