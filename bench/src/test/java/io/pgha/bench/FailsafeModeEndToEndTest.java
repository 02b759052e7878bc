package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.bench.LocalCluster.Node;
import io.pgha.testkit.servers.EtcdProcess;
import java.time.Duration;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Patroni's {@code failsafe_mode} end to end: three agents on real PostgreSQL and etcd, etcd
 * stopped for longer than the ttl under a write load. With every member reachable the primary keeps
 * taking writes through the outage and leads on afterwards; with a member's agent gone it demotes
 * within the ttl, as without failsafe mode.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FailsafeModeEndToEndTest {
    private static final OutageTimings TIMINGS = new OutageTimings(5, 1, 2);
    private static final Duration OUTAGE = Duration.ofSeconds(TIMINGS.ttl() * 3L);
    private LocalCluster cluster;

    @RegisterExtension
    final TestWatcher dumpLogsOnFailure = ClusterTestSupport.dumpLogsOnFailure(() -> cluster, 300);

    @BeforeAll
    void startCluster() {
        cluster = new LocalCluster(3, TIMINGS.dcsSection() + "\n    failsafe_mode: true");
        cluster.startAll();
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private StoreOutage.Outage etcdStopped() {
        EtcdProcess etcd = cluster.etcd.member(0);
        return new StoreOutage.Outage(etcd::stop, () -> {
            etcd.start();
            etcd.awaitHealthy(Duration.ofSeconds(30));
        });
    }

    @Test
    @Order(1)
    void withEveryMemberReachableThePrimaryTakesWritesThroughAnEtcdOutageThreeTimesTheTtl() throws Exception {
        StoreOutage scenario = new StoreOutage(cluster);

        StoreOutage.Result r = scenario.run(etcdStopped(), OUTAGE, Duration.ofSeconds(60));

        System.out.printf(Locale.ROOT, "failsafe, etcd stopped %d s (%s): %s -> %s, %d writes acknowledged, %d lost, last write %s ms"
                        + " into the outage%n", OUTAGE.toSeconds(), TIMINGS, r.before(), r.primary(), r.acked(), r.lost(),
                r.lastWriteIn().map(Duration::toMillis).orElse(-1L));
        assertThat(r.lastWriteIn()).as("writes go on until the store is back").hasValueSatisfying(d ->
                assertThat(d).isGreaterThan(OUTAGE.minusSeconds(2)));
        assertThat(r.primary()).as("the same primary leads on").isEqualTo(r.before());
        assertThat(r.lost()).isZero();
    }

    @Test
    @Order(2)
    void withAMembersAgentGoneThePrimaryStopsTakingWritesWithinTheTtl() throws Exception {
        StoreOutage scenario = new StoreOutage(cluster);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> scenario.converged().isPresent());
        String primary = scenario.converged().orElseThrow();
        Node silent = cluster.nodes().stream().filter(n -> !n.name.equals(primary)).findFirst().orElseThrow();
        cluster.crashAgent(silent);

        StoreOutage.Result r = scenario.run(etcdStopped(), OUTAGE, Duration.ofSeconds(90));

        System.out.printf(Locale.ROOT, "failsafe with %s's agent gone, etcd stopped %d s: last write %s ms into the outage%n",
                silent.name, OUTAGE.toSeconds(), r.lastWriteIn().map(Duration::toMillis).orElse(-1L));
        assertThat(r.lastWriteIn()).hasValueSatisfying(d -> assertThat(d).isLessThan(Duration.ofSeconds(TIMINGS.ttl() + 1)));
        cluster.start(silent);
    }
}
