package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.testkit.servers.ConsulAgent;
import java.time.Duration;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.Test;

/**
 * The agent on ZooKeeper and on Consul, as Patroni's {@code zookeeper:} and {@code consul:}
 * sections configure them: two members form a cluster, and when the primary's node dies the other
 * one takes over. (The etcd agent's behaviour is covered by the other end-to-end tests.)
 */
class AgentOnOtherStoresTest {
    private static final String ZOOKEEPER_TIMINGS = "    ttl: 6\n    loop_wait: 1\n    retry_timeout: 1";
    /** Consul refuses session TTLs under 10 s, and pgha's session TTL is ttl/2 (Patroni's as well). */
    private static final String CONSUL_TIMINGS = "    ttl: 20\n    loop_wait: 1\n    retry_timeout: 2";

    @Test
    void twoAgentsOnZooKeeperFormAClusterAndTheReplicaTakesOverWhenThePrimaryDies() throws Exception {
        try (TestingServer zk = new TestingServer(true);
             LocalCluster cluster = LocalCluster.onStore(2, ZOOKEEPER_TIMINGS, "zookeeper:\n  hosts:\n  - " + zk.getConnectString() + "\n")) {
            failsOver(cluster);
        }
    }

    @Test
    void twoAgentsOnConsulFormAClusterAndTheReplicaTakesOverWhenThePrimaryDies() {
        try (ConsulAgent consul = ConsulAgent.start();
             LocalCluster cluster = LocalCluster.onStore(2, CONSUL_TIMINGS, "consul:\n  url: " + consul.url() + "\n")) {
            failsOver(cluster);
        }
    }

    private static void failsOver(LocalCluster cluster) {
        try {
            cluster.startAll();
            ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(120));
            String old = cluster.leader().orElseThrow();
            cluster.crash(cluster.node(old));
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> cluster.leader().filter(l -> !l.equals(old)).isPresent());
            String next = cluster.leader().orElseThrow();
            assertThat(next).isNotEqualTo(old);
            assertThat(cluster.get(cluster.node(next), "/primary")).isEqualTo(200);
        } catch (AssertionError | RuntimeException e) {
            System.out.println(cluster.logs(60));
            throw e;
        }
    }
}
