package io.pgha.examples.witness;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.Role;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.servers.PostgresProcess;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * End to end: three {@link io.pgha.HaNode}s, each managing a real PostgreSQL through pg-driver,
 * elect their leader in one witness database. When the primary's machine dies (the node stops, its
 * postmaster is killed), another member becomes primary once the dead one's lease has expired in
 * the witness, with the data written before; the dead member, started again, rejoins as a replica
 * of the new primary.
 */
class ThreeNodesOnOneWitnessTest {
    private static final Duration TTL = Duration.ofSeconds(8);
    private static final Duration LOOP_WAIT = Duration.ofSeconds(1);
    private static final Duration RETRY = Duration.ofSeconds(2);

    private PostgresProcess witness;
    private WitnessCluster cluster;

    @BeforeEach
    void start() throws Exception {
        witness = PostgresProcess.start();
        cluster = new WitnessCluster(witness, 3, TTL, LOOP_WAIT, RETRY, Optional.empty());
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
    void whenThePrimarysMachineDiesAnotherMemberTakesOverAndTheOldOneRejoinsAsAReplica() throws Exception {
        cluster.startAll();
        WitnessCluster.Member first = await("one primary with two streaming replicas").atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(250)).until(cluster::healthyPrimary, Optional::isPresent).orElseThrow();
        assertThat(leaderKey()).as("the leader key in the witness").contains(first.name);
        try (Connection c = cluster.sql(first); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE before_failover (v text)");
            st.execute("INSERT INTO before_failover VALUES ('written on " + first.name + "')");
        }
        await("the replicas have the row").atMost(Duration.ofSeconds(30)).until(() -> cluster.members().stream()
                .filter(m -> m != first).allMatch(this::hasTheRow));

        long crashedAt = System.nanoTime();
        cluster.crash(first);

        WitnessCluster.Member next = await("another primary").atMost(TTL.plus(LOOP_WAIT).plusSeconds(30))
                .pollInterval(Duration.ofMillis(100)).until(cluster::writablePrimary, Optional::isPresent).orElseThrow();
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - crashedAt);
        assertThat(next).isNotSameAs(first);
        // the dead node renewed at most a cycle before it died, and its lease runs a full ttl from then
        assertThat(tookMs).as("the new primary waited for the dead one's lease to expire in the witness")
                .isGreaterThanOrEqualTo(TTL.minus(LOOP_WAIT).minus(RETRY).toMillis());
        assertThat(hasTheRow(next)).as("the row written before the failover").isTrue();
        assertThat(leaderKey()).contains(next.name);

        cluster.start(first);
        await("the old primary rejoins as a replica of the new one").atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(250))
                .until(() -> first.role() == Role.REPLICA && cluster.healthyPrimary().filter(p -> p == next).isPresent());
        assertThat(first.node.status().leader()).contains(next.name);
        assertThat(hasTheRow(first)).isTrue();
        System.out.printf("ThreeNodesOnOneWitnessTest: %s took over %d ms after %s died (ttl %d ms); %s%n",
                next.name, tookMs, first.name, TTL.toMillis(), cluster.describe());
    }

    private boolean hasTheRow(WitnessCluster.Member m) {
        try (Connection c = cluster.sql(m); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM before_failover")) {
            return rs.next() && rs.getInt(1) == 1;
        } catch (java.sql.SQLException e) {
            return false;
        }
    }

    private Optional<String> leaderKey() throws Exception {
        try (WitnessDcs dcs = WitnessDcs.builder().jdbcUrl(witness.jdbcUrl()).credentials(witness.user(), witness.password()).build();
             DcsSession observer = dcs.open(SessionSpec.observer(cluster.scope, Duration.ofSeconds(5)))) {
            return observer.read().toCompletableFuture().get(10, TimeUnit.SECONDS).leaderName();
        }
    }
}
