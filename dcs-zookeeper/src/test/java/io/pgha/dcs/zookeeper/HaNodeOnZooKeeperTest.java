package io.pgha.dcs.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.HaEvent;
import io.pgha.HaNode;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.testkit.Closer;
import io.pgha.testkit.FakePostgres;
import io.pgha.testkit.FaultProxy;
import io.pgha.testkit.RealNodes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingCluster;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Whole pgha nodes (the real engine, fake PostgreSQL servers on real time) electing through real ZooKeeper. */
class HaNodeOnZooKeeperTest {
    private final RealNodes.Scheduler pgThread = RealNodes.scheduler("fake-postgres");
    private final FakePostgres.Network network = new FakePostgres.Network(7);
    private final Closer closer = new Closer();
    private final List<HaEvent> events = new CopyOnWriteArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        try {
            closer.close();
        } finally {
            pgThread.close();
        }
    }

    private FakePostgres pg(String name) {
        return new FakePostgres(name, network, Ticker.system(), pgThread, new FakePostgres.Timings());
    }

    private static Optional<String> leaderIn(CuratorFramework raw, String scope) {
        try {
            raw.sync().forPath("/service/" + scope);
            if (raw.checkExists().forPath("/service/" + scope + "/leader") == null) {
                return Optional.empty();
            }
            return Optional.of(new String(raw.getData().forPath("/service/" + scope + "/leader"), StandardCharsets.UTF_8));
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    @Test
    void threeNodesElectALeaderAndAnotherTakesOverWhenTheLeaderDiesAbruptly() throws Exception {
        TestingServer server = closer.add(new TestingServer(true));
        ZkTestSupport.warmUp(server.getConnectString());
        CuratorFramework raw = closer.add(ZkTestSupport.rawClient(server.getConnectString()));
        List<HaNode> nodes = new ArrayList<>();
        List<FakePostgres> pgs = new ArrayList<>();
        List<FaultProxy> links = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            FakePostgres pg = pg("n" + i);
            // each node reaches ZooKeeper through a link of its own, which its death silences
            FaultProxy link = closer.add(FaultProxy.to("127.0.0.1", server.getPort()));
            links.add(link);
            ZooKeeperDcs dcs = closer.add(ZooKeeperDcs.builder().endpoints(link.address()).build());
            HaNode node = closer.add(HaNode.builder().name("n" + i).scope("three").dcs(dcs).postgres(pg)
                    .ttl(Duration.ofSeconds(4)).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(1))
                    .listener(events::add).build());
            nodes.add(node);
            pgs.add(pg);
        }
        nodes.forEach(HaNode::start);

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
            List<FakePostgres> writers = pgs.stream().filter(FakePostgres::acceptsWrites).toList();
            return writers.size() == 1 && leaderIn(raw, "three").equals(Optional.of(writers.get(0).name()))
                    && pgs.stream().filter(p -> p != writers.get(0)).allMatch(p -> p.isRunningReplica() && p.isStreaming());
        });
        String first = leaderIn(raw, "three").orElseThrow();
        int idx = Integer.parseInt(first.substring(1)) - 1;
        HaNode dying = nodes.get(idx);

        // the leader's process dies: its loop stops, postgres dies, nothing of its ZooKeeper client
        // reaches the server any more (no closeSession either), so the server expires the session
        // one session timeout (the ttl) after it last heard from it
        RealNodes.kill(dying);
        pgs.get(idx).crash();
        links.get(idx).blackhole();
        long diedAt = System.nanoTime();

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
            Optional<String> leader = leaderIn(raw, "three");
            return leader.isPresent() && !leader.get().equals(first)
                    && pgs.stream().filter(FakePostgres::acceptsWrites).map(FakePostgres::name).toList().equals(List.of(leader.get()));
        });
        String second = leaderIn(raw, "three").orElseThrow();
        System.out.printf("[figures] failover after an abrupt leader death: %d ms (ttl 4 s), %s -> %s%n",
                (System.nanoTime() - diedAt) / 1_000_000, first, second);
        assertThat(second).isNotEqualTo(first);
        assertThat(pgs.get(idx).acceptsWrites()).isFalse();
        HaNode survivor = nodes.stream().filter(n -> n.name().equals(second)).findFirst().orElseThrow();
        await().atMost(Duration.ofSeconds(10)).until(() -> survivor.status().role() == Role.PRIMARY);
    }

    @Test
    void aPrimaryCutOffFromTheQuorumStopsWritesBeforeItsSessionCouldHaveExpired() throws Exception {
        TestingCluster cluster = new TestingCluster(3);
        cluster.start();
        closer.add(cluster);
        ZkTestSupport.warmUp(cluster.getConnectString());
        Duration ttl = Duration.ofSeconds(6);
        FakePostgres pg = pg("n1");
        pg.setExternalFence(false); // only the engine's own fence may stop the writes here
        RecordingDcs dcs = closer.add(new RecordingDcs(ZooKeeperDcs.builder().endpoints(cluster.getConnectString().split(",")).build()));
        HaNode node = closer.add(HaNode.builder().name("n1").scope("quorum").dcs(dcs).postgres(pg).withoutExternalFence()
                .ttl(ttl).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(2))
                .listener(events::add).build());
        node.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> node.status().role() == Role.PRIMARY && pg.acceptsWrites());

        // cut the node's server off from the two others: its session can no longer be renewed, and
        // the server stops serving (the client sees SUSPENDED, not LOST: the session cannot expire
        // without a quorum to expire it)
        ZkSession session = (ZkSession) dcs.sessions.get(0);
        InstanceSpec ours = cluster.findConnectionInstance(session.connection().client().getZookeeperClient().getZooKeeper());
        for (InstanceSpec i : cluster.getInstances()) {
            if (!i.equals(ours)) {
                cluster.killServer(i);
            }
        }
        long cutAt = System.nanoTime();
        long[] fencedAt = new long[1];
        await().atMost(ttl.multipliedBy(3)).pollInterval(Duration.ofMillis(5)).until(() -> {
            if (!pg.acceptsWrites()) {
                fencedAt[0] = System.nanoTime();
                return true;
            }
            return false;
        });
        long lastRenewalSent = dcs.lastLeaseSentAt.get();
        System.out.printf("[figures] quorum lost: writes stopped %d ms after the cut, %d ms after the last successful renewal was sent (ttl %d ms)%n",
                (fencedAt[0] - cutAt) / 1_000_000, (fencedAt[0] - lastRenewalSent) / 1_000_000, ttl.toMillis());
        assertThat(fencedAt[0]).as("writes stopped before the session could expire on any server")
                .isLessThan(lastRenewalSent + ttl.toNanos());
        assertThat(dcs.leaseLost).as("SUSPENDED is not reported as a lost lease").isEmpty();
        // events reach listeners on the node's event thread: wait for it rather than race it
        await().atMost(Duration.ofSeconds(5)).until(() -> events.stream().anyMatch(e -> e instanceof HaEvent.Fenced));
        assertThat(events).filteredOn(e -> e instanceof HaEvent.Fenced).first()
                .extracting(e -> ((HaEvent.Fenced) e).reason()).asString().contains("within ttl");
    }
}
