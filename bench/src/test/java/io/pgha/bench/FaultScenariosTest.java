package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.bench.LocalCluster.Node;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Real faults on a real cluster — three agent processes, real PostgreSQL, real etcd: crashes
 * ({@code kill -9}), a PostgreSQL-only crash, a graceful stop, a manual failover, a primary cut off
 * from etcd (through its own TCP fault proxy), and a primary agent frozen with SIGSTOP. After each,
 * the cluster is whole again before the next begins. A write probe on every member checks that
 * writes never land on two members in overlapping periods.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultScenariosTest {
    private static final Duration TTL = Duration.ofSeconds(5);
    private LocalCluster cluster;
    private WriteProbe probe;

    @RegisterExtension
    final TestWatcher dumpLogsOnFailure = ClusterTestSupport.dumpLogsOnFailure(() -> cluster, 300);

    @BeforeAll
    void startCluster() {
        cluster = new LocalCluster(3, "    ttl: 5\n    loop_wait: 1\n    retry_timeout: 1.5");
        cluster.startAll();
        awaitHealthy();
    }

    @AfterEach
    void stopProbe() {
        if (probe != null) {
            probe.close();
            probe = null;
        }
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private void awaitHealthy() {
        ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(90));
    }

    private Node leader() {
        return cluster.node(cluster.leader().orElseThrow());
    }

    private Node awaitNewLeader(Node old) {
        await().atMost(TTL.multipliedBy(4)).pollInterval(Duration.ofMillis(50))
                .until(() -> cluster.leader().filter(l -> !l.equals(old.name)).isPresent());
        return leader();
    }

    private void startProbe() throws Exception {
        probe = new WriteProbe(cluster, 50).start();
    }

    private static void signal(long pid, String sig) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + sig, String.valueOf(pid)).start().waitFor();
    }

    @Test
    @Order(1)
    void aNodeCrashIsFollowedByAFailoverAndTheCrashedNodeRejoins() throws Exception {
        startProbe();
        Node old = leader();
        await().atMost(Duration.ofSeconds(10)).until(() -> probe.lastWriteOn(old.name).isPresent());
        long crashedAt = System.nanoTime();
        cluster.crash(old);
        Node now = awaitNewLeader(old);
        await().atMost(Duration.ofSeconds(20)).until(() -> probe.firstWriteOn(now.name, crashedAt).isPresent());
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(cluster::healthy);
        assertThat(probe.movedCleanly(old.name, now.name, crashedAt)).isTrue();

        cluster.start(old);
        awaitHealthy();
        assertThat(cluster.get(old, "/replica?replication_state=streaming")).as("the crashed node streams again").isEqualTo(200);
    }

    @Test
    @Order(2)
    void aPostgresCrashOnThePrimaryIsRepairedInPlace() throws Exception {
        startProbe();
        Node p = leader();
        await().atMost(Duration.ofSeconds(10)).until(() -> probe.lastWriteOn(p.name).isPresent());
        long crashedAt = System.nanoTime();
        cluster.crashPostgres(p);
        await().atMost(Duration.ofSeconds(20)).until(() -> probe.firstWriteOn(p.name, crashedAt + 100_000_000L).isPresent());
        assertThat(cluster.leader()).contains(p.name);
        awaitHealthy();
    }

    @Test
    @Order(3)
    void withPrimaryStartTimeoutZeroAPostgresCrashFailsOverInstead() {
        Node p = leader();
        assertThat(cluster.call(p, "PATCH", "/config", "{\"primary_start_timeout\":0}", true).statusCode()).isEqualTo(200);
        cluster.crashPostgres(p);
        Node now = awaitNewLeader(p);
        assertThat(now).isNotSameAs(p);
        awaitHealthy();
        assertThat(cluster.call(now, "PATCH", "/config", "{\"primary_start_timeout\":300}", true).statusCode()).isEqualTo(200);
    }

    @Test
    @Order(4)
    void aGracefulStopOfThePrimarysAgentHandsOverWithoutWaitingForTheTtl() throws Exception {
        startProbe();
        Node old = leader();
        long stoppedAt = System.nanoTime();
        cluster.stop(old);
        Node now = awaitNewLeader(old);
        await().atMost(Duration.ofSeconds(10)).until(() -> probe.firstWriteOn(now.name, stoppedAt).isPresent());
        long tookMs = (probe.firstWriteOn(now.name, stoppedAt).get().atNanos() - stoppedAt) / 1_000_000;
        assertThat(Duration.ofMillis(tookMs)).as("a write elsewhere after the stop").isLessThan(TTL);
        assertThat(probe.movedCleanly(old.name, now.name, stoppedAt)).isTrue();
        cluster.start(old);
        awaitHealthy();
    }

    @Test
    @Order(5)
    void aManualFailoverMovesThePrimaryToTheNamedCandidate() {
        Node old = leader();
        Node target = cluster.nodes().stream().filter(n -> n != old).findFirst().orElseThrow();
        var r = cluster.call(old, "POST", "/failover", "{\"candidate\":\"" + target.name + "\"}", true);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(cluster.leader()).contains(target.name);
        awaitHealthy();
    }

    @Test
    @Order(6)
    void aPrimaryCutOffFromEtcdStopsWritingBeforeAReplicaTakesOverAndRejoinsAfterTheHeal() throws Exception {
        startProbe();
        Node old = leader();
        await().atMost(Duration.ofSeconds(10)).until(() -> probe.lastWriteOn(old.name).isPresent());
        long cutAt = System.nanoTime();
        old.etcdLink.blackhole();
        Node now = awaitNewLeader(old);
        await().atMost(Duration.ofSeconds(20)).until(() -> probe.firstWriteOn(now.name, cutAt).isPresent());
        assertThat(probe.movedCleanly(old.name, now.name, cutAt)).as("the cut-off primary stopped writing first").isTrue();
        old.etcdLink.pass();
        awaitHealthy();
        assertThat(cluster.get(old, "/replica")).isEqualTo(200);
    }

    @Test
    @Order(7)
    void aPrimaryAgentFrozenLongerThanTheTtlNeverLeavesTwoPrimariesAcceptingWrites() throws Exception {
        startProbe();
        Node old = leader();
        await().atMost(Duration.ofSeconds(10)).until(() -> probe.lastWriteOn(old.name).isPresent());
        long frozenAt = System.nanoTime();
        signal(old.pid(), "STOP");
        Node now;
        try {
            now = awaitNewLeader(old);
            await().atMost(Duration.ofSeconds(20)).until(() -> probe.firstWriteOn(now.name, frozenAt).isPresent());
            assertThat(probe.movedCleanly(old.name, now.name, frozenAt)).as("the frozen primary's server was fenced first").isTrue();
            long promotedAt = probe.firstWriteOn(now.name, frozenAt).get().atNanos();
            Node third = cluster.nodes().stream().filter(n -> n != old && n != now).findFirst().orElseThrow();
            Scenarios scenarios = new Scenarios(cluster);
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
                    .until(() -> scenarios.streamingFrom(now).contains(third.name));
            System.out.printf("[figures] frozen primary: the other replica streams from the new primary %d ms after its first write%n",
                    (System.nanoTime() - promotedAt) / 1_000_000);
        } finally {
            signal(old.pid(), "CONT");
        }
        awaitHealthy();
        assertThat(cluster.get(old, "/replica")).isEqualTo(200);
        probe.close();
        assertThat(probe.missingOn(leader())).as("acknowledged writes missing from the primary").isEmpty();
    }

    @Test
    @Order(8)
    void aGracefulStopWhosePostgresCannotStopLeavesNoSecondPrimaryBesideIt() throws Exception {
        startProbe();
        Node old = leader();
        await().atMost(Duration.ofSeconds(10)).until(() -> probe.lastWriteOn(old.name).isPresent());
        // a backend that cannot exit (stuck in the kernel, here stopped): a fast shutdown waits for it forever
        try (Connection stuck = cluster.sql(old.pgPort); Statement st = stuck.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            long backend = rs.getLong(1);
            signal(backend, "STOP");
            long stopAt = System.nanoTime();
            try {
                cluster.requestStop(old);
                await().atMost(TTL.multipliedBy(6)).pollInterval(Duration.ofMillis(50))
                        .until(() -> cluster.leader().filter(l -> !l.equals(old.name)).isPresent());
                Node now = leader();
                await().atMost(Duration.ofSeconds(20)).until(() -> probe.firstWriteOn(now.name, stopAt).isPresent());
                assertThat(probe.movedCleanly(old.name, now.name, stopAt))
                        .as("the old primary stopped taking writes before the new one took its first").isTrue();
            } finally {
                signal(backend, "CONT");
            }
        }
        cluster.awaitExit(old, Duration.ofSeconds(60));
        cluster.start(old);
        awaitHealthy();
        assertThat(cluster.get(old, "/replica")).isEqualTo(200);
    }

    @Test
    @Order(9)
    void anAgentKilledAloneLeavesItsPostgresToTheFenceAndRejoinsWhenRestarted() throws Exception {
        startProbe();
        Node old = leader();
        await().atMost(Duration.ofSeconds(10)).until(() -> probe.lastWriteOn(old.name).isPresent());
        long killedAt = System.nanoTime();
        cluster.crashAgent(old); // PostgreSQL keeps running with nobody renewing its lease
        Node now = awaitNewLeader(old);
        await().atMost(Duration.ofSeconds(20)).until(() -> probe.firstWriteOn(now.name, killedAt).isPresent());
        assertThat(probe.movedCleanly(old.name, now.name, killedAt)).as("the orphaned primary was fenced first").isTrue();
        cluster.start(old);
        awaitHealthy();
        assertThat(cluster.get(old, "/replica")).as("the restarted agent's node rejoined as a replica").isEqualTo(200);
        probe.close();
        assertThat(probe.missingOn(leader())).as("acknowledged writes missing from the primary").isEmpty();
    }
}
