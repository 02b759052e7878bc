package io.pgha.dcs.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.HaNode;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.Closer;
import io.pgha.testkit.FakePostgres;
import io.pgha.testkit.FaultProxy;
import io.pgha.testkit.RealNodes;
import io.pgha.testkit.servers.ZooKeeperProcess;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What ZooKeeper's operators see of pgha, read from the server's own four-letter words and its log:
 * three {@link HaNode}s keep one connection and one session each while idle (the same client
 * address and session id all along, so no session is created and no connection opened per cycle),
 * their watches stay the same in number, and the server logs no WARN or ERROR line because of them;
 * over a switchover nothing of that changes, and after a failover (the primary's process dies) and
 * a replacement member, the counts are back where they were while idle. The one WARN line the
 * server may log is for the dead process's connection, which its death closed without a
 * {@code closeSession}.
 */
class ZooKeeperCleanTrafficTest {
    private static final Duration TTL = Duration.ofSeconds(3);
    private static final Duration LOOP_WAIT = Duration.ofSeconds(1);
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final Duration IDLE = Duration.ofSeconds(8);
    private static final String SCOPE = "clean";
    /** A line of {@code cons} for a connection with a session: the client's address and the session id. */
    private static final Pattern CONNECTION = Pattern.compile("^\\s*/([0-9.:]+)\\[\\d+\\]\\(.*\\bsid=(0x[0-9a-f]+).*$");
    private static final Pattern LOG_LEVEL = Pattern.compile("\\b(WARN|ERROR)\\b");

    private final Closer closer = new Closer();

    /** One member: its own link to the server (its death closes it), its store, its fake PostgreSQL, the node. */
    record Node(String name, FaultProxy link, ZooKeeperDcs dcs, FakePostgres pg, HaNode node) {
        boolean isStreamingFrom(String leader) {
            return pg.isStreaming() && pg.upstream().map(u -> u.member().equals(leader)).orElse(false);
        }

        boolean isWritablePrimary() {
            return node.status().role() == Role.PRIMARY && pg.acceptsWrites();
        }

        /** The ZooKeeper session ids of this member's store sessions now. */
        List<String> sessionIds() {
            return dcs.openSessions().stream().map(s -> "0x" + Long.toHexString(s.connection().connectedSessionId())).toList();
        }
    }

    /**
     * What the server reports at one moment: its {@code mntr} figures, the connections that have a
     * session ({@code cons}: client address → session id), and the watch totals ({@code wchs}).
     */
    record Counts(Map<String, Long> mntr, Map<String, String> connections, long watches, long watchedPaths) {
        static Counts of(ZooKeeperProcess zk) throws IOException {
            Map<String, Long> m = new TreeMap<>();
            for (String line : zk.fourLetterWord("mntr").split("\n")) {
                String[] kv = line.trim().split("\t");
                if (kv.length == 2 && kv[1].matches("-?\\d+")) {
                    m.put(kv[0], Long.parseLong(kv[1]));
                }
            }
            Map<String, String> cons = new TreeMap<>();
            for (String line : zk.fourLetterWord("cons").split("\n")) {
                Matcher c = CONNECTION.matcher(line);
                if (c.matches()) {
                    cons.put(c.group(1), c.group(2));
                }
            }
            String w = zk.fourLetterWord("wchs");
            Matcher paths = Pattern.compile("watching (\\d+) paths").matcher(w);
            Matcher total = Pattern.compile("Total watches:(\\d+)").matcher(w);
            if (!paths.find() || !total.find()) {
                throw new IOException("unexpected wchs: " + w);
            }
            return new Counts(m, cons, Long.parseLong(total.group(1)), Long.parseLong(paths.group(1)));
        }

        long get(String key) {
            Long v = mntr.get(key);
            if (v == null) {
                throw new AssertionError("mntr has no " + key + ": " + mntr.keySet());
            }
            return v;
        }

        /**
         * What must not move while idle, as one comparable value: every connection's session, the
         * connections ever accepted (a session or a reconnection per cycle moves it even when the
         * numbers open stay the same), the sessions, watches, ephemerals.
         */
        Map<String, Object> steady() {
            Map<String, Object> s = new TreeMap<>();
            s.put("connections with a session (cons)", connections);
            s.put("zk_connection_request_count", get("zk_connection_request_count"));
            s.put("zk_global_sessions", get("zk_global_sessions"));
            s.put("zk_ephemerals_count", get("zk_ephemerals_count"));
            s.put("watches (wchs)", watches);
            s.put("watched paths (wchs)", watchedPaths);
            return s;
        }

        /** The shape of {@link #steady()} without who is connected: how many connections, sessions, watches, ephemerals. */
        Map<String, Long> numbers() {
            Map<String, Long> s = new TreeMap<>();
            s.put("connections with a session", (long) connections.size());
            s.put("distinct sessions", (long) new TreeSet<>(connections.values()).size());
            s.put("zk_global_sessions", get("zk_global_sessions"));
            s.put("zk_ephemerals_count", get("zk_ephemerals_count"));
            s.put("watches", watches);
            s.put("watched paths", watchedPaths);
            return s;
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        closer.close();
    }

    private Node start(String name, ZooKeeperProcess zk, FakePostgres.Network network) {
        RealNodes.Scheduler proc = closer.add(RealNodes.scheduler("pg-" + name));
        FakePostgres pg = new FakePostgres(name, network, Ticker.system(), proc, new FakePostgres.Timings());
        FaultProxy link = closer.add(FaultProxy.to("127.0.0.1", zk.port()));
        ZooKeeperDcs dcs = closer.add(ZooKeeperDcs.builder().endpoints(link.address()).build());
        HaNode node = closer.add(HaNode.builder().name(name).scope(SCOPE).dcs(dcs).postgres(pg)
                .ttl(TTL).loopWait(LOOP_WAIT).retryTimeout(RETRY).build());
        node.start();
        return new Node(name, link, dcs, pg, node);
    }

    @Test
    void threeNodesKeepTheirConnectionsSessionsAndWatchesWhileIdleAndTheServerLogsNothingAboutThemUntilOneDies() throws Exception {
        ZooKeeperProcess zk = closer.add(ZooKeeperProcess.start(Map.of()));
        ZkTestSupport.warmUp(zk.connectString());
        FakePostgres.Network network = new FakePostgres.Network(11);
        List<Node> nodes = new ArrayList<>();
        for (String name : List.of("n1", "n2", "n3")) {
            nodes.add(start(name, zk, network));
        }
        Node leader = awaitSettled(nodes);
        int logFrom = zk.logLines().size();
        Counts start = Counts.of(zk);
        report("settled", start, start);
        assertThat(start.connections()).as("one connection with a session per member").hasSize(3);
        assertThat(start.connections().values()).as("each member's own session")
                .containsExactlyInAnyOrderElementsOf(nodes.stream().flatMap(n -> n.sessionIds().stream()).toList());

        // idle: the same connections with the same sessions, the same watches, all along
        Map<String, Object> idleSteady = start.steady();
        long idleFrom = System.nanoTime();
        await("idle cycles").pollDelay(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(700)).atMost(IDLE.plusSeconds(10))
                .untilAsserted(() -> {
                    assertThat(Counts.of(zk).steady()).as("connections, sessions and watches while idle").isEqualTo(idleSteady);
                    assertThat(System.nanoTime() - idleFrom).as("idle for long enough").isGreaterThan(IDLE.toNanos());
                });
        Counts idle = Counts.of(zk);
        double idleSeconds = (System.nanoTime() - idleFrom) / 1e9;
        report(String.format("idle %.1f s", idleSeconds), start, idle);
        assertThat(requestsPerSecond(start, idle, idleSeconds)).as("requests per second per member while idle")
                .isLessThan(10.0 * nodes.size());
        assertThat(newWarnings(zk, logFrom)).as("WARN/ERROR lines in the server's log while idle").isEmpty();

        // a switchover through the failover key
        Node target = nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        try (ZooKeeperDcs operator = ZooKeeperDcs.builder().endpoints(zk.connectString()).build();
             DcsSession session = operator.open(SessionSpec.observer(SCOPE, Duration.ofSeconds(5)))) {
            assertThat(session.compareAndSet(ClusterKey.FAILOVER, "{\"leader\":\"" + leader.name() + "\",\"member\":\""
                    + target.name() + "\"}", DcsEntry.ABSENT).toCompletableFuture().get(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(awaitSettled(nodes)).isEqualTo(target);
        // the operator's connection was accepted, and is gone
        Map<String, Object> withOperator = new TreeMap<>(idleSteady);
        withOperator.put("zk_connection_request_count", idle.get("zk_connection_request_count") + 1);
        Counts switched = awaitSteady(zk, withOperator, "after the switchover");
        report("switchover", idle, switched);
        assertThat(newWarnings(zk, logFrom)).as("WARN/ERROR lines in the server's log by the switchover").isEmpty();

        // failover: the primary's process dies (its socket closes without a closeSession)
        String deadAddress = switched.connections().entrySet().stream()
                .filter(e -> target.sessionIds().contains(e.getValue())).map(Map.Entry::getKey).findFirst().orElseThrow();
        String deadSession = switched.connections().get(deadAddress);
        int failoverLogFrom = zk.logLines().size();
        RealNodes.kill(target.node());
        target.pg().crash();
        target.link().reset();
        List<Node> survivors = nodes.stream().filter(n -> n != target).toList();
        awaitSettled(survivors);
        Counts failedOver = awaitCount(zk, "the dead member's session expired", c -> !c.connections().containsValue(deadSession)
                && c.get("zk_global_sessions") == idle.get("zk_global_sessions") - 1);
        report("failover", switched, failedOver);
        List<String> failoverWarnings = newWarnings(zk, failoverLogFrom);
        System.out.printf("ZooKeeperCleanTrafficTest: the server's WARN/ERROR lines at the failover (dead member %s, session %s):%n  %s%n",
                deadAddress, deadSession, String.join("\n  ", failoverWarnings));
        assertThat(failoverWarnings).as("WARN/ERROR lines at the failover, but about the dead member's connection")
                .allMatch(l -> l.contains(deadSession) || l.contains(deadAddress));
        Map<String, String> survivorsConnections = new TreeMap<>(switched.connections());
        survivorsConnections.remove(deadAddress);
        assertThat(failedOver.connections()).as("the survivors kept their connections and sessions").isEqualTo(survivorsConnections);

        // a new member takes the dead one's place: back to the idle numbers
        nodes.remove(target);
        nodes.add(start(target.name() + "-again", zk, network));
        awaitSettled(nodes);
        Map<String, Long> idleNumbers = idle.numbers();
        Counts back = awaitCount(zk, "the idle numbers", c -> c.numbers().equals(idleNumbers));
        report("replacement joined", failedOver, back);
        int replacedLogFrom = zk.logLines().size();
        Map<String, Object> backSteady = back.steady();
        long backFrom = System.nanoTime();
        await("idle again").pollDelay(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(700)).atMost(Duration.ofSeconds(15))
                .untilAsserted(() -> {
                    assertThat(Counts.of(zk).steady()).as("connections, sessions and watches idle again").isEqualTo(backSteady);
                    assertThat(System.nanoTime() - backFrom).isGreaterThan(TimeUnit.SECONDS.toNanos(4));
                });
        assertThat(newWarnings(zk, replacedLogFrom)).as("WARN/ERROR lines in the server's log idle again").isEmpty();

        // shutdown: every session closed by its client, nothing logged
        int shutdownLogFrom = zk.logLines().size();
        for (Node n : nodes) {
            n.node().close();
            n.dcs().close();
        }
        Counts closed = awaitCount(zk, "every session closed", c -> c.connections().isEmpty());
        report("shutdown", back, closed);
        assertThat(closed.get("zk_ephemerals_count")).as("ephemeral nodes left").isZero();
        assertThat(newWarnings(zk, shutdownLogFrom)).as("WARN/ERROR lines in the server's log at shutdown").isEmpty();
    }

    @Test
    void theAuditSeesASessionOpenedAndClosedBetweenTwoLooks() throws Exception {
        ZooKeeperProcess zk = closer.add(ZooKeeperProcess.start(Map.of()));
        ZkTestSupport.warmUp(zk.connectString());
        ZooKeeperDcs dcs = closer.add(ZooKeeperDcs.builder().endpoints(zk.connectString()).build());
        Duration retry = Duration.ofSeconds(5);
        DcsSession steady = closer.add(dcs.open(SessionSpec.member("detect", "a", TTL, retry)));
        steady.touchMember("{}").toCompletableFuture().get(10, TimeUnit.SECONDS);
        Counts before = Counts.of(zk);

        // what a bug that opens a session per cycle does once: open, write, close
        try (DcsSession churn = dcs.open(SessionSpec.member("detect", "b", TTL, retry))) {
            churn.touchMember("{}").toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
        Counts after = awaitCount(zk, "the churned session gone", c -> c.connections().size() == 1);

        assertThat(after.numbers()).as("the numbers open alone do not show it").isEqualTo(before.numbers());
        assertThat(after.get("zk_connection_request_count") - before.get("zk_connection_request_count"))
                .as("connections accepted in between").isEqualTo(1);
        assertThat(after.steady()).as("what the idle audit compares").isNotEqualTo(before.steady());
    }

    /** Waits for one writable primary and every other node streaming from it; returns the primary. */
    private static Node awaitSettled(List<Node> nodes) {
        await("one primary, the others streaming from it").atMost(TTL.plusSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    List<Node> p = nodes.stream().filter(Node::isWritablePrimary).toList();
                    return p.size() == 1 && nodes.stream().filter(n -> n.isStreamingFrom(p.get(0).name())).count() == nodes.size() - 1;
                });
        return nodes.stream().filter(Node::isWritablePrimary).findFirst().orElseThrow();
    }

    private static Counts awaitSteady(ZooKeeperProcess zk, Map<String, Object> expected, String when) {
        return awaitCount(zk, "connections, sessions and watches " + when + " as while idle", c -> c.steady().equals(expected));
    }

    private static Counts awaitCount(ZooKeeperProcess zk, String what, java.util.function.Predicate<Counts> done) {
        Counts[] last = new Counts[1];
        await(what).atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> {
            last[0] = Counts.of(zk);
            return done.test(last[0]);
        });
        return last[0];
    }

    /** Requests the server received per second, less the four-letter words we sent (3 per {@link Counts#of}). */
    private static double requestsPerSecond(Counts from, Counts to, double seconds) {
        return (to.get("zk_packets_received") - from.get("zk_packets_received")) / seconds;
    }

    /** The server's WARN and ERROR lines since line {@code from}. */
    private static List<String> newWarnings(ZooKeeperProcess zk, int from) {
        List<String> lines = zk.logLines();
        return lines.subList(Math.min(from, lines.size()), lines.size()).stream().filter(l -> LOG_LEVEL.matcher(l).find()).toList();
    }

    private static void report(String phase, Counts before, Counts after) {
        Map<String, Long> moved = new TreeMap<>();
        after.mntr().forEach((k, v) -> {
            long d = v - before.mntr().getOrDefault(k, 0L);
            if (d != 0 && !k.contains("latency") && !k.contains("_time") && !k.contains("size")) {
                moved.put(k, d);
            }
        });
        System.out.printf("ZooKeeperCleanTrafficTest %s: %s; connections %s; mntr moved %s%n", phase, after.numbers(),
                after.connections(), moved);
    }
}
