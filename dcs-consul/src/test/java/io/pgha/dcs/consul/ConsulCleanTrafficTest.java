package io.pgha.dcs.consul;

import static io.pgha.dcs.consul.ConsulFaultTest.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
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
import io.pgha.testkit.servers.ConsulAgent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What Consul's operators see of pgha, read from the agent itself: its request log (the agent logs
 * at DEBUG, one line per HTTP request with the client's address, and an ERROR line for every
 * request it answered with an error), its telemetry ({@code /v1/agent/metrics}: requests by method
 * and path, RPC queries) and its session list. Three {@link HaNode}s, over idle cycles, a
 * switchover, a failover (the primary's process dies) and a replacement member: no request
 * answered with an error, no WARN or ERROR line from the agent but the expiry of the dead member's
 * session, at most two blocking queries per second per member while idle, one Consul session per
 * member that stays the same while idle, and the same number of client connections per member
 * while idle and after the failover.
 */
class ConsulCleanTrafficTest {
    private static final Duration TTL = Duration.ofSeconds(6);
    private static final Duration LOOP_WAIT = Duration.ofSeconds(1);
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final Duration IDLE = Duration.ofSeconds(10);
    private static final String SCOPE = "clean";
    private static final String TELEMETRY = "telemetry {\n  prometheus_retention_time = \"600s\"\n  disable_hostname = true\n}\n";
    /** The agent's DEBUG line for one HTTP request. */
    private static final Pattern REQUEST = Pattern.compile("agent\\.http: Request finished: method=(\\S+) url=(\\S+) from=(\\S+)");
    private static final Pattern LEVEL = Pattern.compile("\\[(WARN|ERROR)\\]");
    /** The agent's own endpoints the test reads; pgha never calls them. */
    private static final List<String> AUDIT_PATHS = List.of("/v1/agent/metrics", "/v1/session/list");

    private final Closer closer = new Closer();

    record Node(String name, FaultProxy link, ConsulDcs dcs, FakePostgres pg, HaNode node) {
        boolean isStreamingFrom(String leader) {
            return pg.isStreaming() && pg.upstream().map(u -> u.member().equals(leader)).orElse(false);
        }

        boolean isWritablePrimary() {
            return node.status().role() == Role.PRIMARY && pg.acceptsWrites();
        }
    }

    /** One HTTP request pgha sent, as the agent logged it. */
    record Request(String method, String url, String from) {
        boolean blocking() {
            return url.contains("index=");
        }

        String path() {
            int q = url.indexOf('?');
            return q < 0 ? url : url.substring(0, q);
        }
    }

    /** What the agent's log says happened from line {@code from} on: pgha's requests, and the WARN/ERROR lines. */
    record Log(List<Request> requests, List<String> warnings) {
        static Log of(ConsulAgent agent, int from) {
            List<String> lines = agent.logLines();
            List<Request> requests = new ArrayList<>();
            List<String> warnings = new ArrayList<>();
            for (String l : lines.subList(Math.min(from, lines.size()), lines.size())) {
                Matcher m = REQUEST.matcher(l);
                if (m.find()) {
                    Request r = new Request(m.group(1), m.group(2), m.group(3));
                    if (AUDIT_PATHS.stream().noneMatch(p -> r.path().startsWith(p))) {
                        requests.add(r);
                    }
                } else if (LEVEL.matcher(l).find() && !l.contains(AUDIT_PATHS.get(0)) && !l.contains(AUDIT_PATHS.get(1))) {
                    warnings.add(l.strip());
                }
            }
            return new Log(requests, warnings);
        }

        long blocking() {
            return requests.stream().filter(Request::blocking).count();
        }

        /** The client connections (address:port) the requests came over. */
        TreeSet<String> connections() {
            return new TreeSet<>(requests.stream().map(Request::from).toList());
        }

        Map<String, Long> byPath() {
            Map<String, Long> m = new TreeMap<>();
            for (Request r : requests) {
                m.merge(r.method() + " " + r.path().replaceAll("/[0-9a-f-]{36}$", "/<id>") + (r.blocking() ? " (blocking)" : ""), 1L, Long::sum);
            }
            return m;
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        closer.close();
    }

    private Node start(String name, ConsulAgent consul, FakePostgres.Network network) {
        RealNodes.Scheduler proc = closer.add(RealNodes.scheduler("pg-" + name));
        FakePostgres pg = new FakePostgres(name, network, Ticker.system(), proc, new FakePostgres.Timings());
        FaultProxy link = closer.add(FaultProxy.to("127.0.0.1", consul.httpPort()));
        ConsulDcs dcs = closer.add(ConsulDcs.builder().endpoints("http://" + link.address()).minSessionTtl(Duration.ofSeconds(1)).build());
        HaNode node = closer.add(HaNode.builder().name(name).scope(SCOPE).dcs(dcs).postgres(pg)
                .ttl(TTL).loopWait(LOOP_WAIT).retryTimeout(RETRY).build());
        node.start();
        return new Node(name, link, dcs, pg, node);
    }

    @Test
    void threeNodesGetNoErrorAnswerKeepTheirSessionsAndConnectionsAndBlockAtMostTwicePerSecondWhileIdle() {
        ConsulAgent consul = closer.add(ConsulAgent.startLogging(TELEMETRY, "debug"));
        FakePostgres.Network network = new FakePostgres.Network(13);
        List<Node> nodes = new ArrayList<>();
        for (String name : List.of("n1", "n2", "n3")) {
            nodes.add(start(name, consul, network));
        }
        Node leader = awaitSettled(nodes);
        Map<String, String> idleSessions = awaitSessions(consul, s -> s.size() == 3, "one session per member");

        // idle
        int idleFrom = consul.logLines().size();
        Map<String, Long> metricsBefore = metrics(consul);
        long idleStart = System.nanoTime();
        await("idle cycles").pollDelay(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(700)).atMost(IDLE.plusSeconds(10))
                .untilAsserted(() -> {
                    assertThat(sessions(consul)).as("Consul sessions while idle").isEqualTo(idleSessions);
                    assertThat(System.nanoTime() - idleStart).as("idle for long enough").isGreaterThan(IDLE.toNanos());
                });
        double idleSeconds = (System.nanoTime() - idleStart) / 1e9;
        Log idle = Log.of(consul, idleFrom);
        Map<String, Long> metricsIdle = metrics(consul);
        report(String.format("idle %.1f s", idleSeconds), idle, metricsBefore, metricsIdle);
        assertThat(idle.warnings()).as("the agent's WARN/ERROR lines while idle (an error answer is one)").isEmpty();
        assertThat(idle.blocking() / idleSeconds / nodes.size()).as("blocking queries per second per member while idle")
                .isLessThanOrEqualTo(2.0);
        // a cycle a second: a read, a renewal, the leader's check of its key; a watch that re-read in a loop would show here
        assertThat(idle.requests().size() / idleSeconds / nodes.size()).as("requests per second per member while idle")
                .isLessThanOrEqualTo(5.0);
        assertThat(idle.connections()).as("client connections while idle: at most two per member (calls, watch)")
                .hasSizeLessThanOrEqualTo(2 * nodes.size());
        TreeSet<String> idleConnections = idle.connections();

        // a second idle stretch: the same connections, no new ones
        int idle2From = consul.logLines().size();
        long idle2Start = System.nanoTime();
        await("idle cycles again").pollDelay(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(700)).atMost(Duration.ofSeconds(15))
                .untilAsserted(() -> assertThat(System.nanoTime() - idle2Start).isGreaterThan(Duration.ofSeconds(5).toNanos()));
        Log idle2 = Log.of(consul, idle2From);
        assertThat(idleConnections).as("connections of the second idle stretch were all open in the first")
                .containsAll(idle2.connections());
        assertThat(idle2.warnings()).isEmpty();

        // a switchover
        Node target = nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        int switchFrom = consul.logLines().size();
        Map<String, Long> metricsSwitch = metrics(consul);
        try (ConsulDcs operator = ConsulDcs.builder().endpoints(consul.url()).build();
             DcsSession s = operator.open(SessionSpec.observer(SCOPE, Duration.ofSeconds(5)))) {
            assertThat(get(s.compareAndSet(ClusterKey.FAILOVER, "{\"leader\":\"" + leader.name() + "\",\"member\":\""
                    + target.name() + "\"}", DcsEntry.ABSENT))).isTrue();
        }
        assertThat(awaitSettled(nodes)).isEqualTo(target);
        Log switched = Log.of(consul, switchFrom);
        report("switchover", switched, metricsSwitch, metrics(consul));
        assertThat(switched.warnings()).as("the agent's WARN/ERROR lines at the switchover").isEmpty();
        assertThat(sessions(consul)).as("the same sessions after the switchover").isEqualTo(idleSessions);

        // failover: the primary's process dies (its connections close), its session expires
        int failFrom = consul.logLines().size();
        Map<String, Long> metricsFail = metrics(consul);
        RealNodes.kill(target.node());
        target.pg().crash();
        target.link().reset();
        List<Node> survivors = nodes.stream().filter(n -> n != target).toList();
        awaitSettled(survivors);
        Map<String, String> left = awaitSessions(consul, s -> s.size() == 2, "the dead member's session gone");
        String deadSession = idleSessions.entrySet().stream().filter(e -> e.getValue().endsWith("/" + target.name()))
                .map(Map.Entry::getKey).findFirst().orElseThrow();
        Log failedOver = Log.of(consul, failFrom);
        report("failover", failedOver, metricsFail, metrics(consul));
        assertThat(failedOver.warnings()).as("the agent's WARN/ERROR lines at the failover, but about the dead member's session")
                .allMatch(l -> l.contains(deadSession));
        assertThat(left).as("the survivors' sessions").isEqualTo(without(idleSessions, deadSession));

        // a new member takes the dead one's place: back to one session and as many connections per member
        nodes.remove(target);
        nodes.add(start(target.name() + "-again", consul, network));
        awaitSettled(nodes);
        Map<String, String> back = awaitSessions(consul, s -> s.size() == 3, "one session per member again");
        int againFrom = consul.logLines().size();
        Map<String, Long> metricsAgain = metrics(consul);
        long againStart = System.nanoTime();
        await("idle again").pollDelay(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(700)).atMost(IDLE.plusSeconds(10))
                .untilAsserted(() -> {
                    assertThat(sessions(consul)).as("Consul sessions idle again").isEqualTo(back);
                    assertThat(System.nanoTime() - againStart).isGreaterThan(IDLE.toNanos());
                });
        double againSeconds = (System.nanoTime() - againStart) / 1e9;
        Log again = Log.of(consul, againFrom);
        report(String.format("idle again %.1f s", againSeconds), again, metricsAgain, metrics(consul));
        assertThat(again.warnings()).as("the agent's WARN/ERROR lines idle again").isEmpty();
        assertThat(again.blocking() / againSeconds / nodes.size()).as("blocking queries per second per member idle again")
                .isLessThanOrEqualTo(2.0);
        assertThat(again.connections()).as("client connections idle again, as many as while idle first")
                .hasSize(idleConnections.size());

        // shutdown: every session destroyed by its member
        int closeFrom = consul.logLines().size();
        for (Node n : nodes) {
            n.node().close();
            n.dcs().close();
        }
        assertThat(sessions(consul)).as("sessions left after shutdown").isEmpty();
        assertThat(Log.of(consul, closeFrom).warnings()).as("the agent's WARN/ERROR lines at shutdown").isEmpty();
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

    /** The Consul sessions of this scope's members: ID → name ({@code pgha/<scope>/<member>}). */
    private static Map<String, String> sessions(ConsulAgent consul) {
        Map<String, String> out = new TreeMap<>();
        for (JsonElement e : JsonParser.parseString(consul.http("GET", "/v1/session/list", (String) null).body()).getAsJsonArray()) {
            String name = e.getAsJsonObject().get("Name").getAsString();
            if (name.startsWith("pgha/" + SCOPE + "/")) {
                out.put(e.getAsJsonObject().get("ID").getAsString(), name);
            }
        }
        return out;
    }

    private static Map<String, String> awaitSessions(ConsulAgent consul, Predicate<Map<String, String>> done, String what) {
        await(what).atMost(TTL.multipliedBy(3)).pollInterval(Duration.ofMillis(200)).until(() -> done.test(sessions(consul)));
        return sessions(consul);
    }

    private static Map<String, String> without(Map<String, String> m, String key) {
        Map<String, String> out = new TreeMap<>(m);
        out.remove(key);
        return out;
    }

    /** The agent's counters: HTTP requests by method and path, RPC queries and requests. */
    private static Map<String, Long> metrics(ConsulAgent consul) {
        Map<String, Long> out = new TreeMap<>();
        for (String line : consul.http("GET", "/v1/agent/metrics?format=prometheus", (String) null).body().split("\n")) {
            String[] parts = line.split(" ");
            if (parts.length != 2 || line.startsWith("#")) {
                continue;
            }
            String name = parts[0];
            if ((name.startsWith("consul_http_") && name.endsWith("_count")) || name.equals("consul_rpc_query")
                    || name.equals("consul_rpc_request") || name.equals("consul_rpc_accept_conn")) {
                out.put(name, (long) Double.parseDouble(parts[1]));
            }
        }
        return out;
    }

    private static void report(String phase, Log log, Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> moved = new TreeMap<>();
        after.forEach((k, v) -> {
            long d = v - before.getOrDefault(k, 0L);
            if (d != 0 && !k.contains("agent_metrics") && !k.contains("session_list")) {
                moved.put(k, d);
            }
        });
        System.out.printf("ConsulCleanTrafficTest %s: %d requests over %d connections, %d blocking; by path %s;%n  telemetry moved %s;"
                        + "%n  agent WARN/ERROR lines: %s%n", phase, log.requests().size(), log.connections().size(), log.blocking(),
                log.byPath(), moved, log.warnings());
    }
}
