package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.agent.ctl.Ctl;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * The patroni.yml of the book chapter pgha started from, with only its addresses changed to
 * loopback ones (and its data directory to a temp one), runs three agents that form a cluster.
 * The file has no scope nor name: they come from Patroni's environment variables, as they would
 * for three Patroni daemons sharing one file.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SeedConfigTest {
    private LocalCluster cluster;

    @RegisterExtension
    final TestWatcher dumpLogsOnFailure = ClusterTestSupport.dumpLogsOnFailure(() -> cluster, 60);

    private static String seed() throws IOException {
        try (InputStream in = SeedConfigTest.class.getResourceAsStream("/seed/patroni.yml")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @BeforeAll
    void start() throws IOException {
        String seed = seed();
        cluster = new LocalCluster(3, "", (n, etcd) -> seed
                .replace("etcd1:2379", etcd).replace("etcd2:2379", etcd).replace("etcd3:2379", etcd)
                .replace("'0.0.0.0:5432'", "'127.0.0.1:" + n.pgPort + "'")
                .replace("'192.168.1.10:5432'", "'127.0.0.1:" + n.pgPort + "'")
                .replace("'0.0.0.0:8008'", "'127.0.0.1:" + n.apiPort + "'")
                .replace("'192.168.1.10:8008'", "'127.0.0.1:" + n.apiPort + "'")
                .replace("/data/postgresql", n.dataDir.toString()));
        for (LocalCluster.Node n : cluster.nodes()) {
            cluster.start(n, Map.of("PATRONI_SCOPE", cluster.scope, "PATRONI_NAME", n.name));
        }
    }

    @AfterAll
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void threeAgentsRunTheSeedChaptersConfigAndPghactlListsTheCluster() {
        ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(120));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Ctl.run(new String[] {"-c", cluster.node("n1").config.toString(), "list", cluster.scope},
                new PrintWriter(out, true), new PrintWriter(err, true));
        System.out.println(out);
        assertThat(rc).as(err.toString()).isZero();
        String table = out.toString();
        assertThat(table).contains("Cluster: " + cluster.scope);
        assertThat(table.lines().filter(l -> l.contains("| Leader ")).count()).isEqualTo(1);
        assertThat(table.lines().filter(l -> l.contains("| Replica ") && l.contains("streaming")).count()).isEqualTo(2);
        assertThat(cluster.logs(400)).contains("bootstrap.dcs.etcd: the store belongs at the top level");
    }
}
