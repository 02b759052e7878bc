package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.Stages.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.HaNode;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.Closer;
import io.pgha.testkit.FakePostgres;
import io.pgha.testkit.RealNodes;
import io.pgha.testkit.servers.EtcdCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The engine on a real etcd: three {@link HaNode}s with fake PostgreSQL servers on real time elect
 * a leader, the others stream from it, and when the leader's node dies silently another one becomes
 * primary once the dead node's lease has expired.
 */
class HaNodeOnEtcdTest {
    private static final Duration TTL = Duration.ofSeconds(3);
    private static final Duration LOOP_WAIT = Duration.ofSeconds(1);
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final String SCOPE = "ha-it";

    private final Closer closer = new Closer();

    /** One node: its store connection, its fake PostgreSQL and the node itself. */
    record Node(String name, EtcdDcs dcs, FakePostgres pg, HaNode node) {
        boolean isStreamingFrom(String leader) {
            return pg.isStreaming() && pg.upstream().map(u -> u.member().equals(leader)).orElse(false);
        }

        boolean isWritablePrimary() {
            return node.status().role() == Role.PRIMARY && pg.acceptsWrites();
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        closer.close();
    }

    private Node start(String name, String endpoint, FakePostgres.Network network) {
        RealNodes.Scheduler proc = closer.add(RealNodes.scheduler("pg-" + name));
        FakePostgres pg = new FakePostgres(name, network, Ticker.system(), proc, new FakePostgres.Timings());
        EtcdDcs dcs = closer.add(EtcdDcs.builder().endpoints(endpoint).build());
        HaNode node = closer.add(HaNode.builder().name(name).scope(SCOPE).dcs(dcs).postgres(pg)
                .ttl(TTL).loopWait(LOOP_WAIT).retryTimeout(RETRY).build());
        node.start();
        return new Node(name, dcs, pg, node);
    }

    @Test
    void threeNodesElectALeaderAndAnotherTakesOverAfterTheTtlWhenTheLeaderDies() {
        EtcdCluster etcd = closer.add(EtcdCluster.single());
        Warmup.once(etcd.clientUrl());
        FakePostgres.Network network = new FakePostgres.Network(7);
        List<Node> nodes = new ArrayList<>();
        for (String name : List.of("n1", "n2", "n3")) {
            nodes.add(start(name, etcd.clientUrl(), network));
        }

        await("a leader and two streaming replicas").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> primaries(nodes).size() == 1
                        && nodes.stream().filter(n -> n.isStreamingFrom(primaries(nodes).get(0).name())).count() == 2);
        Node leader = primaries(nodes).get(0);
        assertThat(leaderKey(leader)).contains(leader.name());
        List<Node> survivors = nodes.stream().filter(n -> n != leader).toList();

        long killedAt = System.nanoTime();
        RealNodes.kill(leader.node()); // the process dies: no release, no revoke, no more renewals
        leader.pg().crash();

        await("a new primary").atMost(TTL.plusSeconds(15)).pollInterval(Duration.ofMillis(50))
                .until(() -> survivors.stream().anyMatch(Node::isWritablePrimary));
        long tookMs = (System.nanoTime() - killedAt) / 1_000_000;
        Node next = survivors.stream().filter(Node::isWritablePrimary).findFirst().orElseThrow();
        // the dead node renewed at most loop_wait (plus a cycle) before it died; the key lives ttl after that
        assertThat(tookMs).as("failover waited for the lease to expire").isGreaterThanOrEqualTo(TTL.minus(LOOP_WAIT).minusMillis(500).toMillis());
        assertThat(leaderKey(next)).contains(next.name());
        Node other = survivors.stream().filter(n -> n != next).findFirst().orElseThrow();
        await("the other replica follows the new primary").atMost(Duration.ofSeconds(15))
                .until(() -> other.isStreamingFrom(next.name()));
        assertThat(survivors.stream().filter(Node::isWritablePrimary).count()).isEqualTo(1);
        System.out.printf("HaNodeOnEtcdTest: failover took %d ms after the leader's node died (ttl %d ms)%n", tookMs, TTL.toMillis());
    }

    private static List<Node> primaries(List<Node> nodes) {
        return nodes.stream().filter(Node::isWritablePrimary).toList();
    }

    private static Optional<String> leaderKey(Node via) {
        try (DcsSession observer = via.dcs().open(SessionSpec.observer(SCOPE, Duration.ofSeconds(5)))) {
            return get(observer.read()).leaderName();
        }
    }
}
