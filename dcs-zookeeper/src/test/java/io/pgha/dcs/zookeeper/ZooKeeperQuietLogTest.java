package io.pgha.dcs.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.pgha.HaNode;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.testkit.Closer;
import io.pgha.testkit.FakePostgres;
import io.pgha.testkit.RealNodes;
import io.pgha.testkit.servers.ZooKeeperProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * What an operator reads while ZooKeeper is down: with a node running and everything logged at
 * INFO, an outage is one line naming the cause when it begins and one line when it ends, and
 * nothing pgha logs carries a stack trace. ZooKeeper's and Curator's own loggers are another
 * matter: at INFO they log every reconnection attempt, ZooKeeper's {@code ClientCnxn} logs a stack
 * trace at WARN for each, and Curator a WARN line per connection timeout and simulated session
 * expiry; at the levels the module's documentation asks an embedder to set ({@link #QUIET_LIBRARIES})
 * they log nothing during the outage.
 */
class ZooKeeperQuietLogTest {
    private static final String PGHA = "io.pgha";
    private static final String STORE = "io.pgha.dcs";
    private static final String ENGINE = "io.pgha.internal";
    /**
     * The levels the package documentation asks for (the most specific name applies): ZooKeeper's
     * client connection, which logs every reconnection attempt at WARN, and Curator, which logs each
     * connection timeout and simulated expiry at WARN, at ERROR; the rest of ZooKeeper at WARN.
     */
    static final Map<String, Level> QUIET_LIBRARIES = Map.of("org.apache.zookeeper", Level.WARN, "org.apache.zookeeper.ClientCnxn", Level.ERROR,
            "org.apache.curator", Level.ERROR);
    private static final int FAILED_CALLS = 8;

    private final Closer closer = new Closer();
    private final ListAppender<ILoggingEvent> captured = new ListAppender<>();
    private final List<Logger> capturing = new ArrayList<>();
    private final List<Level> levels = new ArrayList<>();

    @BeforeEach
    void captureEverythingAtInfo() {
        captured.start();
        for (String name : List.of(PGHA, "org.apache.zookeeper", "org.apache.curator")) {
            Logger l = (Logger) LoggerFactory.getLogger(name);
            levels.add(l.getLevel());
            l.setLevel(Level.INFO);
            l.setAdditive(false);
            l.addAppender(captured);
            capturing.add(l);
        }
        // the test configuration's own settings below io.pgha would keep INFO out
        Logger store = (Logger) LoggerFactory.getLogger("io.pgha.dcs.zookeeper");
        levels.add(store.getLevel());
        store.setLevel(Level.INFO);
        capturing.add(store);
    }

    @AfterEach
    void restore() throws Exception {
        try {
            closer.close();
        } finally {
            for (int i = 0; i < capturing.size(); i++) {
                capturing.get(i).detachAppender(captured);
                capturing.get(i).setAdditive(true);
                capturing.get(i).setLevel(levels.get(i));
            }
        }
    }

    @Test
    void aZooKeeperOutageIsOneLineNamingTheCauseAndOneLineWhenItEndsWithoutStackTracesFromPgha() throws Exception {
        ZooKeeperProcess zk = closer.add(ZooKeeperProcess.start(Map.of()));
        ZkTestSupport.warmUp(zk.connectString());
        RealNodes.Scheduler proc = closer.add(RealNodes.scheduler("pg-n1"));
        FakePostgres pg = new FakePostgres("n1", new FakePostgres.Network(3), Ticker.system(), proc, new FakePostgres.Timings());
        ZooKeeperDcs dcs = closer.add(ZooKeeperDcs.builder().endpoints(zk.connectString()).build());
        HaNode node = closer.add(HaNode.builder().name("n1").scope("quiet").dcs(dcs).postgres(pg)
                .ttl(Duration.ofSeconds(3)).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(1)).build());
        node.start();
        await("n1 leads").atMost(Duration.ofSeconds(60)).until(() -> node.status().role() == Role.PRIMARY);
        int before = since(0).size();

        long stoppedAt = System.nanoTime();
        zk.kill();
        await("the node's calls fail").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> dcs.failedCallsInOutage() >= FAILED_CALLS);
        long failedAt = System.nanoTime();
        zk.start();
        long startedAt = System.nanoTime();
        await("ZooKeeper reachable again").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> lines(before, STORE).stream().anyMatch(l -> l.contains("reachable again")));
        double outageSeconds = (System.nanoTime() - stoppedAt) / 1e9;

        List<ILoggingEvent> during = since(before);
        List<ILoggingEvent> pgha = during.stream().filter(e -> e.getLoggerName().startsWith(PGHA)).toList();
        List<String> store = lines(before, STORE);
        List<String> engine = lines(before, ENGINE);
        List<ILoggingEvent> libraries = during.stream().filter(e -> !e.getLoggerName().startsWith(PGHA)).toList();
        List<ILoggingEvent> librariesAtQuietLevels = libraries.stream().filter(ZooKeeperQuietLogTest::passesQuietLevels).toList();
        System.out.printf("ZooKeeperQuietLogTest: %d failed calls after %.1f s, ZooKeeper answering again %.1f s later, reachable"
                + " again after %.1f s more%n", FAILED_CALLS, (failedAt - stoppedAt) / 1e9, (startedAt - failedAt) / 1e9,
                (System.nanoTime() - startedAt) / 1e9);
        System.out.printf("ZooKeeperQuietLogTest: an outage of %.1f s (%d failed calls at least) logged %d store lines:%n  %s%n"
                        + "%d engine lines:%n  %s%nand %d library lines at INFO (%d with a stack trace), by logger and level:%n  %s%n"
                        + "%d at the quiet levels %s%n", outageSeconds, FAILED_CALLS, store.size(), String.join("\n  ", store),
                engine.size(), String.join("\n  ", engine), libraries.size(),
                libraries.stream().filter(e -> e.getThrowableProxy() != null).count(), String.join("\n  ", byLoggerAndLevel(libraries).entrySet().stream().map(Object::toString).toList()),
                librariesAtQuietLevels.size(), QUIET_LIBRARIES);

        assertThat(pgha).as("pgha's lines with a stack trace").filteredOn(e -> e.getThrowableProxy() != null).isEmpty();
        assertThat(pgha).as("pgha's lines of more than one line").filteredOn(e -> e.getFormattedMessage().contains("\n")).isEmpty();
        String where = "ZooKeeper at [" + zk.connectString() + "]";
        assertThat(store).as("the beginning").filteredOn(l -> l.startsWith("WARN " + where + " is unreachable: ")).hasSize(1);
        List<String> ends = store.stream().filter(l -> l.startsWith("INFO " + where + " is reachable again after ")).toList();
        assertThat(ends).as("the end").hasSize(1);
        Matcher count = Pattern.compile("after [0-9.]+ s, ([0-9]+) failed calls$").matcher(ends.get(0));
        assertThat(count.find()).as(ends.get(0)).isTrue();
        assertThat(Long.parseLong(count.group(1))).as("failed calls counted").isGreaterThanOrEqualTo(FAILED_CALLS);
        // besides: that the lease was ended for want of a renewal, that its ZooKeeper session ended, and a reminder
        // if the outage lasted 30 s
        assertThat(store).as("every line the store logged").hasSizeLessThanOrEqualTo(5);
        assertThat(librariesAtQuietLevels).as("ZooKeeper's and Curator's lines at the documented levels")
                .extracting(e -> e.getLoggerName() + " " + e.getLevel() + " " + e.getFormattedMessage()).isEmpty();
    }

    /** Whether an event passes the level {@link #QUIET_LIBRARIES} sets for its logger (the longest matching name). */
    static boolean passesQuietLevels(ILoggingEvent e) {
        return QUIET_LIBRARIES.entrySet().stream().filter(q -> e.getLoggerName().equals(q.getKey()) || e.getLoggerName().startsWith(q.getKey() + "."))
                .max(java.util.Comparator.comparingInt(q -> q.getKey().length()))
                .map(q -> e.getLevel().isGreaterOrEqual(q.getValue())).orElse(true);
    }

    /** How many lines each logger logged at each level, with the first one's message. */
    private static Map<String, String> byLoggerAndLevel(List<ILoggingEvent> events) {
        Map<String, Long> n = new TreeMap<>();
        Map<String, String> first = new TreeMap<>();
        for (ILoggingEvent e : events) {
            String k = e.getLoggerName() + " " + e.getLevel() + (e.getThrowableProxy() != null ? " (stack trace)" : "");
            n.merge(k, 1L, Long::sum);
            first.putIfAbsent(k, e.getFormattedMessage().lines().findFirst().orElse(""));
        }
        Map<String, String> m = new TreeMap<>();
        n.forEach((k, v) -> m.put(k, v + " (\"" + first.get(k) + "\")"));
        return m;
    }

    /** The events logged since the {@code from}th (the appender appends under its own lock). */
    private List<ILoggingEvent> since(int from) {
        synchronized (captured) {
            return new ArrayList<>(captured.list.subList(from, captured.list.size()));
        }
    }

    /** What loggers under {@code prefix} logged since the {@code from}th event, as "LEVEL message". */
    private List<String> lines(int from, String prefix) {
        return since(from).stream().filter(e -> e.getLoggerName().startsWith(prefix))
                .map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
    }
}
