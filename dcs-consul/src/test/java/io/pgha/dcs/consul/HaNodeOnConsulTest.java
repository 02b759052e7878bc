package io.pgha.dcs.consul;

import static io.pgha.dcs.consul.ConsulFaultTest.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.HaNode;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.dcs.consul.testing.ConsulAgentExtension;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.Closer;
import io.pgha.testkit.FakePostgres;
import io.pgha.testkit.RealNodes;
import io.pgha.testkit.servers.ConsulAgent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The engine on a real Consul agent: three {@link HaNode}s with fake PostgreSQL servers on real
 * time elect a leader, the others stream from it, and when the leader's node dies silently
 * another one becomes primary once Consul has reaped the dead node's session: within the ttl
 * after its last renewal (session TTL ttl/2, reaped at up to twice that), plus one HA cycle.
 */
@ExtendWith(ConsulAgentExtension.class)
class HaNodeOnConsulTest {
    private static final Duration TTL = Duration.ofSeconds(6);
    private static final Duration LOOP_WAIT = Duration.ofSeconds(1);
    private static final Duration RETRY = Duration.ofSeconds(1);

    private final String scope = "ha-" + Long.toHexString(System.nanoTime() & 0xFFFFFF);
    private final Closer closer = new Closer();

    /** One node: its own store connection (as a separate process would have), its fake PostgreSQL, the node. */
    record Node(String name, ConsulDcs dcs, FakePostgres pg, HaNode node) {
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

    @Test
    void threeNodesElectALeaderAndAnotherTakesOverWithinTheTtlWhenTheLeaderDies(ConsulAgent consul) {
        FakePostgres.Network network = new FakePostgres.Network(7);
        List<Node> nodes = new ArrayList<>();
        for (String name : List.of("n1", "n2", "n3")) {
            nodes.add(start(name, consul, network));
        }

        await("a leader and two streaming replicas").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> primaries(nodes).size() == 1
                        && nodes.stream().filter(n -> n.isStreamingFrom(primaries(nodes).get(0).name())).count() == 2);
        Node leader = primaries(nodes).get(0);
        assertThat(leaderKey(leader)).contains(leader.name());
        List<Node> survivors = nodes.stream().filter(n -> n != leader).toList();

        long killedAt = System.nanoTime();
        RealNodes.kill(leader.node()); // the process dies: no release, no session destroy, no renewals
        leader.pg().crash();

        Duration bound = TTL.plus(LOOP_WAIT).plusSeconds(2);
        await("a new primary").atMost(bound).pollInterval(Duration.ofMillis(50))
                .until(() -> survivors.stream().anyMatch(Node::isWritablePrimary));
        long tookMs = (System.nanoTime() - killedAt) / 1_000_000;
        Node next = survivors.stream().filter(Node::isWritablePrimary).findFirst().orElseThrow();
        // the dead node renewed at most a cycle before it died; its session lives at least ttl/2 after that
        assertThat(tookMs).as("failover waited for Consul to drop the session")
                .isGreaterThanOrEqualTo(TTL.dividedBy(2).minus(LOOP_WAIT).minusMillis(500).toMillis());
        assertThat(leaderKey(next)).contains(next.name());
        Node other = survivors.stream().filter(n -> n != next).findFirst().orElseThrow();
        await("the other replica follows the new primary").atMost(Duration.ofSeconds(15))
                .until(() -> other.isStreamingFrom(next.name()));
        assertThat(survivors.stream().filter(Node::isWritablePrimary).count()).isEqualTo(1);
        System.out.printf("HaNodeOnConsulTest: failover took %d ms after the leader's node died (ttl %d ms, bound %d ms)%n",
                tookMs, TTL.toMillis(), bound.toMillis());
    }

    @Test
    void aLeaderWhoseConsulSessionIsDestroyedStopsWritingAtOnceAndOnePrimaryComesBack(ConsulAgent consul) {
        FakePostgres.Network network = new FakePostgres.Network(9);
        List<Node> nodes = new ArrayList<>();
        for (String name : List.of("n1", "n2")) {
            nodes.add(start(name, consul, network));
        }
        await("a leader and a streaming replica").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> primaries(nodes).size() == 1
                        && nodes.stream().anyMatch(n -> n.isStreamingFrom(primaries(nodes).get(0).name())));
        Node leader = primaries(nodes).get(0);
        String session = com.google.gson.JsonParser.parseString(consul.http("GET", "/v1/kv/service/" + scope + "/leader", (String) null)
                .body()).getAsJsonArray().get(0).getAsJsonObject().get("Session").getAsString();

        long destroyedAt = System.nanoTime();
        consul.http("PUT", "/v1/session/destroy/" + session, "");

        // the watch hears the key go, asks Consul about the session, and the engine fences on leaseLost
        await("the old leader stops writing").atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(5))
                .until(() -> !leader.pg().acceptsWrites());
        long stoppedMs = (System.nanoTime() - destroyedAt) / 1_000_000;
        await("one writable primary again").atMost(TTL.plusSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> {
                    assertThat(primaries(nodes).size()).as("never two writable primaries").isLessThanOrEqualTo(1);
                    return primaries(nodes).size() == 1 && leaderKey(primaries(nodes).get(0)).isPresent();
                });
        System.out.printf("HaNodeOnConsulTest: the old leader stopped writing %d ms after its session was destroyed; %s leads now%n",
                stoppedMs, primaries(nodes).get(0).name());
    }

    private Node start(String name, ConsulAgent consul, FakePostgres.Network network) {
        RealNodes.Scheduler proc = closer.add(RealNodes.scheduler("pg-" + name));
        FakePostgres pg = new FakePostgres(name, network, Ticker.system(), proc, new FakePostgres.Timings());
        ConsulDcs dcs = closer.add(ConsulDcs.builder().endpoints(consul.url()).minSessionTtl(Duration.ofSeconds(1)).build());
        HaNode node = closer.add(HaNode.builder().name(name).scope(scope).dcs(dcs).postgres(pg)
                .ttl(TTL).loopWait(LOOP_WAIT).retryTimeout(RETRY).build());
        node.start();
        return new Node(name, dcs, pg, node);
    }

    private static List<Node> primaries(List<Node> nodes) {
        return nodes.stream().filter(Node::isWritablePrimary).toList();
    }

    private Optional<String> leaderKey(Node via) {
        try (DcsSession observer = via.dcs().open(SessionSpec.observer(scope, Duration.ofSeconds(5)))) {
            return get(observer.read()).leaderName();
        }
    }
}
