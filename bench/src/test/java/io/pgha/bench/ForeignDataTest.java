package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.agent.ctl.Ctl;
import io.pgha.bench.LocalCluster.Node;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * As Patroni does, an agent whose data directory belongs to another cluster (its system identifier
 * is not the one in the store) exits non-zero with the reason, instead of staying up.
 */
class ForeignDataTest {
    @Test
    void anAgentWhoseDataBelongsToAnotherClusterExitsWithCodeOne() throws Exception {
        try (LocalCluster cluster = new LocalCluster(2, "    ttl: 5\n    loop_wait: 1\n    retry_timeout: 2")) {
            Node n1 = cluster.node("n1");
            Node n2 = cluster.node("n2");
            cluster.start(n1);
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
                    .until(() -> cluster.leader().map("n1"::equals).orElse(false) && cluster.get(n1, "/primary") == 200);
            cluster.stop(n1);
            StringWriter out = new StringWriter();
            int rc = Ctl.run(new String[] {"-c", n1.config.toString(), "remove", cluster.scope}, new StringReader(
                    cluster.scope + "\nYes I am aware\n"), new PrintWriter(out, true), new PrintWriter(out, true));
            assertThat(rc).as(out.toString()).isZero();

            cluster.start(n2); // a new cluster, with a new system identifier
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
                    .until(() -> cluster.leader().map("n2"::equals).orElse(false) && cluster.get(n2, "/primary") == 200);
            cluster.start(n1);

            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).until(() -> !n1.running());
            assertThat(n1.exitCode()).hasValue(1);
            assertThat(Files.readString(n1.log)).contains("system ID mismatch");
            assertThat(cluster.leader()).contains("n2");
        }
    }
}
