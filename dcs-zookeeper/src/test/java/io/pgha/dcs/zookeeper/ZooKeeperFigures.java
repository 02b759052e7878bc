package io.pgha.dcs.zookeeper;

import static io.pgha.dcs.zookeeper.ZkTestSupport.get;
import static org.awaitility.Awaitility.await;

import io.pgha.HaNode;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.FakePostgres;
import io.pgha.testkit.FaultProxy;
import io.pgha.testkit.RealNodes;
import io.pgha.testkit.servers.ZooKeeperProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Figures, printed, not asserted: how fast another member hears that a leader's session ended, and
 * how many requests one idle node sends. Against a ZooKeeper server in its own process (tickTime
 * 500 ms), whose {@code srvr} counts the requests it received. Run with {@code -Dpgha.figures=true}.
 */
@EnabledIfSystemProperty(named = "pgha.figures", matches = "true")
class ZooKeeperFigures {
    private static final Duration RETRY = Duration.ofSeconds(2);
    private static ZooKeeperProcess server;

    @BeforeAll
    static void startServer() throws Exception {
        server = ZooKeeperProcess.start(Map.of());
        ZkTestSupport.warmUp(server.connectString());
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static String summary(List<Long> micros) {
        List<Long> s = new ArrayList<>(micros);
        Collections.sort(s);
        return String.format("n=%d median=%.1f ms p90=%.1f ms min=%.1f ms max=%.1f ms", s.size(), s.get(s.size() / 2) / 1000.0,
                s.get((int) Math.ceil(s.size() * 0.9) - 1) / 1000.0, s.get(0) / 1000.0, s.get(s.size() - 1) / 1000.0);
    }

    /**
     * The leader's session ends on the server (closed by a client that joined it, the server-side
     * effect of an expiry) and the time until the other member's watch reports {@code leader}.
     */
    @Test
    void fromTheEndOfTheLeadersSessionToTheOtherMembersWakeUp() throws Exception {
        List<Long> micros = new ArrayList<>();
        try (ZooKeeperDcs dcsA = ZooKeeperDcs.builder().endpoints(server.connectString()).build();
             ZooKeeperDcs dcsB = ZooKeeperDcs.builder().endpoints(server.connectString()).build()) {
            for (int i = 0; i < 20; i++) {
                String scope = "wake" + i;
                DcsSession a = dcsA.open(SessionSpec.member(scope, "a", Duration.ofSeconds(10), RETRY));
                DcsSession b = dcsB.open(SessionSpec.member(scope, "b", Duration.ofSeconds(10), RETRY));
                ZkTestSupport.Recorder heard = new ZkTestSupport.Recorder();
                b.watch(heard);
                get(b.touchMember("{}"), RETRY);
                await().atMost(Duration.ofSeconds(5)).until(() -> heard.heard("members/b"));
                if (!get(a.acquireLeader(), RETRY)) {
                    throw new IllegalStateException("no leader");
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> heard.heard("leader"));
                heard.changes.clear();
                ZooKeeper victim = ZkTestSupport.handle(a);
                CountDownLatch joined = new CountDownLatch(1);
                ZooKeeper impostor = new ZooKeeper(server.connectString(), 10_000, e -> {
                    if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                        joined.countDown();
                    }
                }, victim.getSessionId(), victim.getSessionPasswd());
                joined.await(5, TimeUnit.SECONDS);
                long endedAt = System.nanoTime();
                impostor.close();
                await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(1)).until(() -> heard.heard("leader"));
                long wokeAt = heard.changes.stream().filter(h -> h.path().equals(Optional.of("leader"))).findFirst().orElseThrow().nanos();
                micros.add((wokeAt - endedAt) / 1000);
                get(b.deleteCluster(), RETRY);
                closeInBackground(a, b);
            }
        }
        System.out.println("[figures] leader session ended on the server -> other member's watch heard 'leader': " + summary(micros));
    }

    /**
     * The same, for a leader whose process froze or whose network died: nothing of its client
     * reaches the server any more (a black-holed proxy), and the server expires the session one
     * session timeout (= ttl) after it last heard from it, rounded up to its tick. Counted from the
     * moment the link went silent; the last ping or request was up to a third of the ttl earlier.
     */
    @Test
    void fromASilentLeadersDeathToTheOtherMembersWakeUp() throws Exception {
        Duration ttl = Duration.ofSeconds(2);
        List<Long> micros = new ArrayList<>();
        String[] hostPort = server.connectString().split(":");
        for (int i = 0; i < 10; i++) {
            try (FaultProxy link = FaultProxy.to(hostPort[0], Integer.parseInt(hostPort[1]));
                 ZooKeeperDcs dcsA = ZooKeeperDcs.builder().endpoints(link.address()).build();
                 ZooKeeperDcs dcsB = ZooKeeperDcs.builder().endpoints(server.connectString()).build()) {
                String scope = "silent" + i;
                DcsSession a = dcsA.open(SessionSpec.member(scope, "a", ttl, RETRY));
                DcsSession b = dcsB.open(SessionSpec.member(scope, "b", ttl, RETRY));
                ZkTestSupport.Recorder heard = new ZkTestSupport.Recorder();
                b.watch(heard);
                get(b.touchMember("{}"), RETRY);
                await().atMost(Duration.ofSeconds(5)).until(() -> heard.heard("members/b"));
                get(a.acquireLeader(), RETRY);
                await().atMost(Duration.ofSeconds(5)).until(() -> heard.heard("leader"));
                heard.changes.clear();
                long silentAt = System.nanoTime();
                link.blackhole();
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1)).until(() -> heard.heard("leader"));
                long wokeAt = heard.changes.stream().filter(h -> h.path().equals(Optional.of("leader"))).findFirst().orElseThrow().nanos();
                micros.add((wokeAt - silentAt) / 1000);
                get(b.deleteCluster(), RETRY);
                closeInBackground(a, b);
            }
        }
        System.out.println("[figures] leader's link went silent -> other member's watch heard 'leader' (ttl 2000 ms, tick 500 ms): "
                + summary(micros));
    }

    /** Closing a session whose ZooKeeper session just ended can wait for the close request's timeout: not part of the figure. */
    private static void closeInBackground(DcsSession... sessions) {
        for (DcsSession s : sessions) {
            java.util.concurrent.CompletableFuture.runAsync(s::close);
        }
    }

    /** Requests the server receives from one idle node (a primary with no replicas), pings included. */
    @Test
    void requestsPerSecondOfOneIdleNode() throws Exception {
        try (RealNodes.Scheduler pgThread = RealNodes.scheduler("fake-postgres");
             ZooKeeperDcs dcs = ZooKeeperDcs.builder().endpoints(server.connectString()).build()) {
            for (int loopWait : new int[] {1, 10}) {
                FakePostgres pg = new FakePostgres("n1", new FakePostgres.Network(3), Ticker.system(), pgThread, new FakePostgres.Timings());
                Duration lw = Duration.ofSeconds(loopWait);
                try (HaNode node = HaNode.builder().name("n1").scope("idle" + loopWait).dcs(dcs).postgres(pg)
                        .ttl(Duration.ofSeconds(loopWait == 1 ? 6 : 30)).loopWait(lw).retryTimeout(Duration.ofSeconds(loopWait == 1 ? 2 : 10))
                        .build().start()) {
                    await().atMost(Duration.ofSeconds(30)).until(() -> node.status().role() == Role.PRIMARY && pg.acceptsWrites());
                    Thread.sleep(lw.toMillis() * 2); // settle: no bootstrap writes in the window (a measurement, not a test wait)
                    long before = server.packetsReceived();
                    long start = System.nanoTime();
                    Thread.sleep(loopWait == 1 ? 10_000 : 60_000);
                    long after = server.packetsReceived();
                    double seconds = (System.nanoTime() - start) / 1e9;
                    long requests = after - before - 1; // the second srvr counts itself
                    System.out.printf("[figures] one idle primary, loop_wait %d s: %d requests in %.1f s = %.2f requests/s (%.1f per loop_wait)%n",
                            loopWait, requests, seconds, requests / seconds, requests / seconds * loopWait);
                }
            }
        }
    }
}
