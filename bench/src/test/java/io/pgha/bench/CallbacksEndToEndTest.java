package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Patroni's {@code postgresql.callbacks} through running agents: each member's script is called with
 * {@code <action> <role> <scope>} when the member starts, and a switchover is one
 * {@code on_role_change} on each side.
 */
class CallbacksEndToEndTest {
    @Test
    void theAgentsRunTheirCallbacksOnStartAndOnEachSideOfASwitchover() throws Exception {
        Path dir = Files.createTempDirectory("pgha-callbacks-");
        Path log = dir.resolve("calls.log");
        Path cb = dir.resolve("cb.sh");
        Files.writeString(cb, "#!/bin/sh\necho \"$@\" >> " + log + "\n");
        Files.setPosixFilePermissions(cb, PosixFilePermissions.fromString("rwxr-xr-x"));
        String callbacks = "  callbacks:\n    on_start: " + cb + "\n    on_role_change: " + cb + "\n";
        try (LocalCluster cluster = LocalCluster.withPostgresql(2, "    ttl: 5\n    loop_wait: 1\n    retry_timeout: 2", callbacks)) {
            cluster.startAll();
            ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(90));
            String scope = cluster.scope;
            await().atMost(Duration.ofSeconds(20)).until(() -> lines(log).size() >= 2);
            assertThat(lines(log)).containsExactlyInAnyOrder("on_start primary " + scope, "on_start replica " + scope);

            String leader = cluster.leader().orElseThrow();
            String candidate = leader.equals("n1") ? "n2" : "n1";
            assertThat(cluster.call(cluster.node(leader), "POST", "/switchover",
                    "{\"leader\":\"" + leader + "\",\"candidate\":\"" + candidate + "\"}", true).statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
                    .until(() -> lines(log).size() >= 4 && cluster.healthy());

            assertThat(lines(log).subList(2, lines(log).size())).containsExactlyInAnyOrder(
                    "on_role_change primary " + scope, "on_role_change replica " + scope);
        }
    }

    private static List<String> lines(Path file) throws Exception {
        return Files.exists(file) ? Files.readAllLines(file) : List.of();
    }
}
