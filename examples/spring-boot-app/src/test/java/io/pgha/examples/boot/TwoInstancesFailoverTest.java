package io.pgha.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.testkit.servers.EtcdCluster;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Two instances of the example service, each with its own real PostgreSQL, elect a leader through a
 * real etcd; stopping the leader's application context hands the primary over to the other, whose
 * own web port then answers HAProxy's {@code /pgha/primary} with 200.
 */
class TwoInstancesFailoverTest {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Map<String, ConfigurableApplicationContext> apps = new LinkedHashMap<>();
    private EtcdCluster etcd;
    private Path root;

    @AfterEach
    void stopAll() throws IOException {
        apps.values().forEach(ConfigurableApplicationContext::close);
        if (etcd != null) {
            etcd.close();
        }
        if (root != null) {
            try (var paths = Files.walk(root)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private ConfigurableApplicationContext start(String name, String scope) throws IOException {
        Path data = root.resolve(name);
        ConfigurableApplicationContext ctx = new SpringApplicationBuilder(OrdersApplication.class).run(
                // command-line arguments: they win over application.properties
                "--server.port=0",
                "--pgha.name=" + name,
                "--pgha.scope=" + scope,
                "--pgha.dcs.endpoints=" + etcd.clientUrl(),
                "--pgha.postgresql.data-dir=" + data,
                "--pgha.postgresql.port=" + freePort(),
                "--pgha.postgresql.superuser.password=Super-Secret-1",
                "--pgha.postgresql.replication.password=Repl-Secret-2",
                "--pgha.postgresql.parameters.shared_buffers=16MB",
                "--pgha.postgresql.parameters.fsync=off");
        apps.put(name, ctx);
        return ctx;
    }

    private int check(ConfigurableApplicationContext ctx, String path) {
        URI uri = URI.create("http://127.0.0.1:" + ctx.getEnvironment().getProperty("local.server.port") + path);
        try {
            return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void stoppingTheLeadersContextHandsThePrimaryToTheOtherInstance() throws IOException {
        etcd = EtcdCluster.single();
        root = Files.createTempDirectory("pgha-boot-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        String scope = "orders" + Long.toHexString(System.nanoTime() & 0xFFFF);
        ConfigurableApplicationContext a = start("a", scope);
        await().atMost(Duration.ofSeconds(60)).until(() -> check(a, "/pgha/primary") == 200);
        ConfigurableApplicationContext b = start("b", scope);
        await().atMost(Duration.ofSeconds(60)).until(() -> check(b, "/pgha/replica") == 200);
        assertThat(check(b, "/pgha/primary")).isEqualTo(503);

        apps.remove("a").close(); // graceful: a's PostgreSQL stops, then it releases the leader key

        // within the ttl (10s): b took over because a released the key, not because a's lease ran out
        await().atMost(Duration.ofSeconds(10)).until(() -> check(b, "/pgha/primary") == 200);
        assertThat(check(b, "/pgha/replica")).isEqualTo(503);
        assertThat(check(b, "/actuator/health")).isEqualTo(200);
    }
}
