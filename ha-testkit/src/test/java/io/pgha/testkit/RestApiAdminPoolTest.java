package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.RestApiConfig;
import io.pgha.internal.InternalAccess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Operator actions that wait (a restart while the loop is busy) run apart from the threads that
 * answer HAProxy's health checks: with one request thread and every admin thread waiting, a health
 * check still answers at once.
 */
class RestApiAdminPoolTest {
    @Test
    void healthChecksAnswerWhileOperatorActionsWait() throws Exception {
        try (RealTimeCluster cluster = new RealTimeCluster(1, i -> RestApiConfig.builder().listen("127.0.0.1", 0).threads(1).build(),
                (i, b) -> { }).start()) {
            await().atMost(Duration.ofSeconds(30)).until(cluster::healthy);
            String url = cluster.url("n1");
            InternalAccess.engine(cluster.node("n1")).setLoopFrozen(true);
            try {
                answersHealthWhileRestartsWait(url);
            } finally {
                InternalAccess.engine(cluster.node("n1")).setLoopFrozen(false);
            }
        }
    }

    private static void answersHealthWhileRestartsWait(String url) throws Exception {
        {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            List<CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                waiting.add(http.sendAsync(HttpRequest.newBuilder(URI.create(url + "/restart"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"timeout\":3}")).build(), HttpResponse.BodyHandlers.ofString()));
            }
            // the restarts must be waiting on the server before the health check is sent, whatever the
            // scheduling: otherwise the check could be served first and prove nothing
            await().atMost(Duration.ofSeconds(10)).until(() -> threadsInRestart() >= 1);
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(url + "/health")).timeout(Duration.ofSeconds(2))
                    .build(), HttpResponse.BodyHandlers.ofString());
            // answered at once, with the status document: 200, or 503 if the fake server is between a stop and a start
            // of one of the restarts (the claim is that the check is not queued behind them, not what it finds)
            assertThat(health.statusCode()).isIn(200, 503);
            assertThat(health.body()).contains("\"state\"");
            assertThat(waiting).noneMatch(CompletableFuture::isDone);
        }
    }

    /** Server threads waiting inside a restart request. */
    private static long threadsInRestart() {
        return Thread.getAllStackTraces().values().stream().filter(stack -> java.util.Arrays.stream(stack).anyMatch(f ->
                f.getClassName().equals("io.pgha.internal.rest.NodeActionEndpoints") && f.getMethodName().equals("restart"))).count();
    }
}
