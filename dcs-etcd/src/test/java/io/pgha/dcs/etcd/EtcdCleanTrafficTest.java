package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.Stages.delta;
import static io.pgha.dcs.etcd.Stages.gauge;
import static io.pgha.dcs.etcd.Stages.get;
import static io.pgha.dcs.etcd.Stages.handledCalls;
import static io.pgha.dcs.etcd.Stages.startedCalls;
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
import io.pgha.testkit.RealNodes;
import io.pgha.testkit.servers.EtcdCluster;
import io.pgha.testkit.FaultProxy;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What etcd's operators see of pgha: etcd's own {@code grpc_server_handled_total} shows every call of
 * three {@link HaNode}s ending OK, over idle cycles, a switchover and a failover (only a watch closed
 * with its session may end Canceled), and the number of TCP connections per member, open streams
 * and watchers stays the same while idle and comes back to it after a failover.
 */
class EtcdCleanTrafficTest {
    private static final Duration TTL = Duration.ofSeconds(3);
    private static final Duration LOOP_WAIT = Duration.ofSeconds(1);
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final Duration IDLE = Duration.ofSeconds(8);
    private static final String SCOPE = "clean";

    private final Closer closer = new Closer();

    /** One node: its store connection (through a proxy of its own, so that its TCP connections can be told apart), its PostgreSQL, itself. */
    record Node(String name, FaultProxy proxy, EtcdDcs dcs, FakePostgres pg, HaNode node) {
        boolean isStreamingFrom(String leader) {
            return pg.isStreaming() && pg.upstream().map(u -> u.member().equals(leader)).orElse(false);
        }

        boolean isWritablePrimary() {
            return node.status().role() == Role.PRIMARY && pg.acceptsWrites();
        }
    }

    /** What etcd reports at one moment: calls ended by method and code, calls started, open streams and watchers. */
    record Counts(Map<String, Long> handled, Map<String, Long> started, long watchStreams, long watchers) {
        static Counts of(EtcdCluster etcd) {
            String m = etcd.metrics(0);
            return new Counts(handledCalls(m), startedCalls(m), gauge(m, "etcd_debugging_mvcc_watch_stream_total"),
                    gauge(m, "etcd_debugging_mvcc_watcher_total"));
        }

        /** Streams of {@code method} started and not ended yet. */
        long open(String method) {
            long ended = handled.entrySet().stream().filter(e -> e.getKey().startsWith(method + "/")).mapToLong(Map.Entry::getValue).sum();
            return started.getOrDefault(method, 0L) - ended;
        }

        /**
         * Open watch streams and watchers, as one comparable value. (A keep-alive is a stream for
         * the moment of its round trip; those are counted apart, {@link #open}.)
         */
        Map<String, Long> streams() {
            Map<String, Long> s = new TreeMap<>();
            s.put("Watch streams open", open("Watch"));
            s.put("etcd_debugging_mvcc_watch_stream_total", watchStreams);
            s.put("etcd_debugging_mvcc_watcher_total", watchers);
            return s;
        }

        /** Calls ended since {@code before} with a code other than OK, by method/code. */
        Map<String, Long> notOkSince(Counts before) {
            Map<String, Long> d = delta(before.handled, handled);
            d.keySet().removeIf(k -> k.endsWith("/OK"));
            return d;
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        closer.close();
    }

    private Node start(String name, EtcdCluster etcd, FakePostgres.Network network) {
        RealNodes.Scheduler proc = closer.add(RealNodes.scheduler("pg-" + name));
        FakePostgres pg = new FakePostgres(name, network, Ticker.system(), proc, new FakePostgres.Timings());
        FaultProxy proxy = closer.add(FaultProxy.to("127.0.0.1", etcd.member(0).clientPort()));
        EtcdDcs dcs = closer.add(EtcdDcs.builder().endpoints("http://" + proxy.address()).build());
        HaNode node = closer.add(HaNode.builder().name(name).scope(SCOPE).dcs(dcs).postgres(pg)
                .ttl(TTL).loopWait(LOOP_WAIT).retryTimeout(RETRY).build());
        node.start();
        return new Node(name, proxy, dcs, pg, node);
    }

    @Test
    void everyCallOfThreeNodesEndsOkOverIdleCyclesASwitchoverAndAFailoverAndStreamsReturnToTheirIdleCount() throws Exception {
        EtcdCluster etcd = closer.add(EtcdCluster.single());
        Warmup.once(etcd.clientUrl());
        FakePostgres.Network network = new FakePostgres.Network(11);
        List<Node> nodes = new ArrayList<>();
        for (String name : List.of("n1", "n2", "n3")) {
            nodes.add(start(name, etcd, network));
        }
        Node leader = awaitSettled(nodes);
        Counts start = Counts.of(etcd);

        // idle: the same connections and streams at every look, and every call ends OK
        Map<String, Long> idleStreams = start.streams();
        List<Integer> idleConnections = connections(nodes);
        assertThat(idleConnections).as("TCP connections to etcd per member").containsOnly(1);
        long idleFrom = System.nanoTime();
        List<Counts> looks = new ArrayList<>();
        List<List<Integer>> connectionLooks = new ArrayList<>();
        await("idle cycles").pollDelay(Duration.ofMillis(300)).pollInterval(Duration.ofMillis(300)).atMost(IDLE.plusSeconds(5))
                .until(() -> {
                    looks.add(Counts.of(etcd));
                    connectionLooks.add(connections(nodes));
                    return System.nanoTime() - idleFrom > IDLE.toNanos();
                });
        assertThat(looks).as("looks at etcd while idle").hasSizeGreaterThan(10);
        for (Counts look : looks) {
            assertThat(look.streams()).as("open watch streams and watchers while idle").isEqualTo(idleStreams);
            // etcd's counters are not read in one instant: a keep-alive that starts or ends during
            // the scrape can be off by one either way, so "open" is between -members and +members
            assertThat(look.open("LeaseKeepAlive")).as("keep-alives open at one moment while idle (at most one per member)")
                    .isBetween(-(long) nodes.size(), (long) nodes.size());
        }
        assertThat(connectionLooks).as("TCP connections to etcd per member while idle").containsOnly(idleConnections);
        Counts idle = Counts.of(etcd);
        report("idle " + IDLE.toSeconds() + " s", start, idle);
        assertThat(idle.notOkSince(start)).as("calls that did not end OK while idle").isEmpty();
        assertThat(delta(start.handled, idle.handled)).as("keep-alives were sent while idle").containsKey("LeaseKeepAlive/OK")
                .as("the same sessions (leases) all along").doesNotContainKeys("LeaseGrant/OK", "LeaseRevoke/OK");

        // switchover to another member
        Node target = nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        try (EtcdDcs operatorDcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build();
             DcsSession operator = operatorDcs.open(SessionSpec.observer(SCOPE, Duration.ofSeconds(5)))) {
            assertThat(get(operator.compareAndSet(ClusterKey.FAILOVER,
                    "{\"leader\":\"" + leader.name() + "\",\"member\":\"" + target.name() + "\"}", DcsEntry.ABSENT))).isTrue();
        }
        awaitSettledOn(nodes, target);
        Counts switched = awaitStreams(etcd, idleStreams, "after the switchover");
        assertThat(connections(nodes)).as("TCP connections to etcd per member after the switchover").isEqualTo(idleConnections);
        report("switchover", idle, switched);
        assertThat(switched.notOkSince(idle)).as("calls that did not end OK during the switchover").isEmpty();
        assertThat(delta(idle.handled, switched.handled)).as("the same sessions (leases) through the switchover")
                .doesNotContainKeys("LeaseGrant/OK", "LeaseRevoke/OK");

        // failover: the primary's node dies (its watch closes with it: the one call that may end
        // Canceled), another takes over once its lease has expired
        RealNodes.kill(target.node());
        target.pg().crash();
        target.proxy().reset(); // the dead process's connection goes with it
        List<Node> survivors = nodes.stream().filter(n -> n != target).toList();
        awaitSettled(survivors);
        Counts failedOver = Counts.of(etcd);
        report("failover", switched, failedOver);
        assertThat(failedOver.notOkSince(switched)).as("calls that did not end OK during the failover, but for the dead"
                + " node's watch closed with it").isIn(Map.of(), Map.of("Watch/Canceled", 1L));

        assertThat(connections(survivors)).as("TCP connections to etcd per surviving member").containsOnly(1);

        // a new member takes the dead one's place
        nodes.remove(target);
        nodes.add(start(target.name() + "-again", etcd, network));
        awaitSettled(nodes);
        Counts back = awaitStreams(etcd, idleStreams, "after the failover, with the dead member replaced");
        assertThat(connections(nodes)).as("TCP connections to etcd per member after the failover").isEqualTo(idleConnections);
        report("replacement joined", failedOver, back);
        assertThat(back.notOkSince(failedOver)).as("calls that did not end OK while the replacement joined").isEmpty();

        // shutdown: only the watches end Canceled
        for (Node n : nodes) {
            n.node().close();
            n.dcs().close();
        }
        Counts closed = Counts.of(etcd);
        report("shutdown", back, closed);
        assertThat(closed.notOkSince(back)).as("calls that did not end OK at shutdown, but for watches")
                .isIn(Map.of(), Map.of("Watch/Canceled", (long) nodes.size()));
        assertThat(delta(back.handled, closed.handled)).as("the leases were revoked").containsEntry("LeaseRevoke/OK", (long) nodes.size());
    }

    /** Each node's established TCP connections to etcd (to its own proxy), from this process's sockets in /proc. */
    private static List<Integer> connections(List<Node> nodes) throws IOException {
        Set<String> mine = new HashSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) {
                try {
                    String link = Files.readSymbolicLink(fd).toString();
                    if (link.startsWith("socket:[")) {
                        mine.add(link.substring(8, link.length() - 1));
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        Map<Integer, Integer> byRemotePort = new TreeMap<>();
        for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
            for (String line : Files.readAllLines(Path.of(table))) {
                String[] f = line.trim().split("\\s+");
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode; state 01 = ESTABLISHED
                if (f.length > 9 && f[3].equals("01") && mine.contains(f[9])) {
                    int port = Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16);
                    byRemotePort.merge(port, 1, Integer::sum);
                }
            }
        }
        return nodes.stream().map(n -> byRemotePort.getOrDefault(n.proxy().port(), 0)).toList();
    }

    /** Waits until {@code leader} is the one writable primary and every other node streams from it. */
    private static void awaitSettledOn(List<Node> nodes, Node leader) {
        await(leader.name() + " the primary, the others streaming from it").atMost(TTL.plusSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> nodes.stream().filter(Node::isWritablePrimary).toList().equals(List.of(leader))
                        && nodes.stream().filter(n -> n.isStreamingFrom(leader.name())).count() == nodes.size() - 1);
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

    /** Waits until the open watch streams and watchers are {@code expected} and no keep-alive is open; returns those counts. */
    private static Counts awaitStreams(EtcdCluster etcd, Map<String, Long> expected, String when) {
        AtomicReference<Counts> seen = new AtomicReference<>();
        await("open streams " + when + " as while idle").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> {
                    Counts c = Counts.of(etcd);
                    assertThat(c.streams()).isEqualTo(expected);
                    assertThat(c.open("LeaseKeepAlive")).as("keep-alives left open").isZero();
                    seen.set(c);
                });
        return seen.get();
    }

    private static void report(String phase, Counts before, Counts after) {
        System.out.printf("EtcdCleanTrafficTest %s: calls ended %s; streams %s, keep-alives open %d%n", phase,
                delta(before.handled, after.handled), after.streams(), after.open("LeaseKeepAlive"));
    }
}
