package io.pgha.examples.witness;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.testkit.servers.PostgresProcess;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a witness outage does to a running cluster: exactly what an etcd outage does, nothing more
 * abrupt. The witness is a single point of failure for <em>failover</em>, not for the running
 * primary: the primary keeps taking writes while its lease is certainly valid, then its fence
 * stops it (no member can be elected without the witness, so the cluster is read-only until the
 * witness is back); with {@code failsafe_mode} the primary runs on for as long as every member
 * confirms it. When the witness is back, one primary leads again.
 */
class WitnessOutageTest {
    private static final Duration TTL = Duration.ofSeconds(8);
    private static final Duration LOOP_WAIT = Duration.ofSeconds(1);
    private static final Duration RETRY = Duration.ofSeconds(2);

    private PostgresProcess witness;
    private WitnessCluster cluster;

    @BeforeEach
    void startWitness() throws Exception {
        witness = PostgresProcess.start();
    }

    @AfterEach
    void stop() {
        try {
            if (cluster != null) {
                cluster.close();
            }
        } finally {
            witness.close();
        }
    }

    @Test
    void whenTheWitnessIsDownThePrimaryTakesWritesUntilItsLeaseRunsOutAndNobodyElseBecomesPrimary() {
        cluster = new WitnessCluster(witness, 2, TTL, LOOP_WAIT, RETRY, Optional.empty());
        cluster.startAll();
        WitnessCluster.Member primary = await("a primary with a streaming replica").atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(250)).until(cluster::healthyPrimary, Optional::isPresent).orElseThrow();

        long downAt = System.nanoTime();
        witness.stop();

        await("the primary stops taking writes when its lease could have expired").atMost(TTL.plusSeconds(10))
                .pollInterval(Duration.ofMillis(100)).until(() -> !cluster.acceptsWrites(primary));
        long ranOnMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - downAt);
        // its last renewal was sent at most a cycle before the outage; the lease is a full ttl from then,
        // minus the fencing margin (a tenth of the ttl here)
        assertThat(ranOnMs).as("the primary kept taking writes while its lease was certainly valid")
                .isGreaterThanOrEqualTo(TTL.minus(LOOP_WAIT).minus(TTL.dividedBy(10)).minusMillis(500).toMillis())
                .isLessThanOrEqualTo(TTL.plusSeconds(3).toMillis());
        await("no member takes writes while the witness is down").during(TTL.dividedBy(2)).atMost(TTL)
                .pollInterval(Duration.ofMillis(200))
                .until(() -> cluster.members().stream().noneMatch(cluster::acceptsWrites));

        witness.restart();
        long backAt = System.nanoTime();
        WitnessCluster.Member after = await("one primary again once the witness is back").atMost(TTL.plusSeconds(60))
                .pollInterval(Duration.ofMillis(250)).until(cluster::healthyPrimary, Optional::isPresent).orElseThrow();
        System.out.printf("WitnessOutageTest: %s took writes for %d ms after the witness went down (ttl %d ms); %s leads again,"
                        + " with its replica streaming, %d ms after the witness was back%n",
                primary.name, ranOnMs, TTL.toMillis(), after.name, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - backAt));
    }

    @Test
    void withFailsafeModeThePrimaryKeepsTakingWritesThroughAWitnessOutage() {
        cluster = new WitnessCluster(witness, 2, TTL, LOOP_WAIT, RETRY, Optional.of("{\"failsafe_mode\": true}"));
        cluster.startAll();
        WitnessCluster.Member primary = await("a primary with a streaming replica").atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(250)).until(cluster::healthyPrimary, Optional::isPresent).orElseThrow();
        // the leader publishes the failsafe topology with its renewals; give it a cycle to have written it
        await("the failsafe topology is in the witness").atMost(TTL).until(() -> failsafeKeyWritten());

        witness.stop();
        await("the primary keeps taking writes for twice the ttl").during(TTL.multipliedBy(2)).atMost(TTL.multipliedBy(3))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> cluster.acceptsWrites(primary) && cluster.writablePrimary().filter(p -> p == primary).isPresent());
        assertThat(primary.node.failsafeActive()).as("failsafe_mode_is_active").isTrue();

        witness.restart();
        await("the same primary leads again, on the witness").atMost(TTL.plusSeconds(30)).pollInterval(Duration.ofMillis(250))
                .until(() -> cluster.healthyPrimary().filter(p -> p == primary).isPresent() && primary.node.status().dcsReachable());
    }

    private boolean failsafeKeyWritten() throws Exception {
        try (WitnessDcs dcs = WitnessDcs.builder().jdbcUrl(witness.jdbcUrl()).credentials(witness.user(), witness.password()).build();
             io.pgha.spi.DcsSession observer = dcs.open(io.pgha.spi.SessionSpec.observer(cluster.scope, Duration.ofSeconds(5)))) {
            return observer.read().toCompletableFuture().get(10, TimeUnit.SECONDS).get(io.pgha.spi.ClusterKey.FAILSAFE).isPresent();
        }
    }
}
