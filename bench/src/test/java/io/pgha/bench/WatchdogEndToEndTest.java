package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.bench.LocalCluster.Node;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Patroni's {@code watchdog.mode: required} on real agents: a member whose watchdog device cannot
 * be used streams as a replica but never takes over, even when the leader is gone; a member with
 * the default ({@code automatic}) and no device leads without one, saying so once.
 */
class WatchdogEndToEndTest {
    @Test
    void aMemberThatRequiresAnUnusableWatchdogNeverTakesOver() throws Exception {
        try (LocalCluster cluster = new LocalCluster(2, "    ttl: 5\n    loop_wait: 1\n    retry_timeout: 2")) {
            Node n1 = cluster.node("n1");
            Node n2 = cluster.node("n2");
            Files.writeString(n1.config, Files.readString(n1.config) + "watchdog: {mode: required, device: /nonexistent/watchdog}\n");
            cluster.start(n2);
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
                    .until(() -> cluster.leader().map("n2"::equals).orElse(false) && cluster.get(n2, "/primary") == 200);
            cluster.start(n1);
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> cluster.get(n1, "/replica") == 200);

            cluster.crash(n2);

            await().during(Duration.ofSeconds(15)).atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500))
                    .until(() -> cluster.get(n1, "/primary") != 200);
            assertThat(Files.readString(n1.log)).contains("the watchdog is required (watchdog.mode: required) but cannot be used");
            assertThat(Files.readString(n2.log)).contains("no usable watchdog (DeviceWatchdog[/dev/watchdog]); leading without one");
        }
    }
}
