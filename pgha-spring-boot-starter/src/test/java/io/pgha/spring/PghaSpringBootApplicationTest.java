package io.pgha.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.pgha.HaEvent;
import io.pgha.HaNode;
import io.pgha.Role;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;

/**
 * A whole Spring Boot web application with the starter: the node starts with the context, becomes
 * the primary of its one-member cluster, and shows up in the application's own web server (HAProxy's
 * checks), in actuator's health, in Micrometer and as Spring events.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "pgha.name=n1", "pgha.scope=boot-app", "pgha.ttl=3s", "pgha.loop-wait=1s", "pgha.retry-timeout=1s",
        "management.endpoint.health.show-components=always", "management.endpoint.health.show-details=always"})
class PghaSpringBootApplicationTest {
    @Configuration(proxyBeanMethods = false)
    @EnableAutoConfiguration
    @Import(FakeParts.class)
    static class App {
        @Bean
        RoleChanges roleChanges() {
            return new RoleChanges();
        }
    }

    static class RoleChanges {
        final List<HaEvent.RoleChanged> seen = new CopyOnWriteArrayList<>();

        @EventListener
        void on(HaEvent.RoleChanged e) {
            seen.add(e);
        }
    }

    @Autowired
    Environment environment;
    @Autowired
    HaNode node;
    @Autowired
    RoleChanges roleChanges;
    @Autowired
    MeterRegistry meters;
    @Autowired
    ApplicationAvailability availability;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private HttpResponse<String> call(String method, String path) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + environment.getProperty("local.server.port") + path);
        return http.send(HttpRequest.newBuilder(uri).method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theNodeBecomesPrimaryAndEveryIntegrationSaysSo() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> call("GET", "/pgha/primary").statusCode() == 200);
        assertThat(node.status().role()).isEqualTo(Role.PRIMARY);

        // HAProxy's checks on the application's own port, with Patroni's codes and document
        HttpResponse<String> primary = call("GET", "/pgha/primary");
        assertThat(primary.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        assertThat(primary.body()).contains("\"role\":\"primary\"");
        assertThat(call("OPTIONS", "/pgha/primary").statusCode()).isEqualTo(200);
        assertThat(call("HEAD", "/pgha/read-write").statusCode()).isEqualTo(200);
        assertThat(call("GET", "/pgha/replica").statusCode()).isEqualTo(503);
        assertThat(call("GET", "/pgha/health").statusCode()).isEqualTo(200);
        assertThat(call("GET", "/pgha/switchover").statusCode()).isEqualTo(404);

        // actuator health, Micrometer, Spring events and availability
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            HttpResponse<String> health = call("GET", "/actuator/health");
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).contains("\"pgha\"").contains("\"role\":\"primary\"");
        });
        assertThat(meters.get("patroni.primary").tag("pgha.member", "n1").gauge().value()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> meters.find("pgha.lease.renewal").tag("outcome", "renewed").timer() != null);
        await().atMost(Duration.ofSeconds(5)).until(() -> roleChanges.seen.stream().anyMatch(e -> e.to() == Role.PRIMARY));
        assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.ACCEPTING_TRAFFIC);
    }
}
