package io.pgha.dcs.consul;

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
import io.pgha.testkit.servers.ConsulAgent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * What an operator reads while the Consul agent is down: with a node running (its service
 * registered too) and everything logged at INFO, Apache HttpClient's and consul-api's loggers
 * included, an outage is one line naming the cause when it begins and one line when it ends, and
 * nothing logged carries a stack trace.
 */
class ConsulQuietLogTest {
    private static final String PGHA = "io.pgha";
    private static final String STORE = "io.pgha.dcs";
    private static final String ENGINE = "io.pgha.internal";
    private static final List<String> LIBRARIES = List.of("org.apache.http", "com.ecwid");
    private static final int FAILED_CALLS = 30;

    private final Closer closer = new Closer();
    private final ListAppender<ILoggingEvent> captured = new ListAppender<>();
    private final List<Logger> capturing = new ArrayList<>();
    private final List<Level> levels = new ArrayList<>();
    private Handler[] julHandlers;

    @BeforeEach
    void captureEverythingAtInfo() {
        captured.start();
        List<String> names = new ArrayList<>(LIBRARIES);
        names.add(PGHA);
        for (String name : names) {
            Logger l = (Logger) LoggerFactory.getLogger(name);
            levels.add(l.getLevel());
            l.setLevel(Level.INFO);
            l.setAdditive(false);
            l.addAppender(captured);
            capturing.add(l);
        }
        Logger store = (Logger) LoggerFactory.getLogger("io.pgha.dcs.consul");
        levels.add(store.getLevel());
        store.setLevel(Level.INFO);
        capturing.add(store);
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        julHandlers = root.getHandlers();
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
    }

    @AfterEach
    void restore() throws Exception {
        try {
            closer.close();
        } finally {
            SLF4JBridgeHandler.uninstall();
            java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
            for (Handler h : julHandlers) {
                root.addHandler(h);
            }
            for (int i = 0; i < capturing.size(); i++) {
                capturing.get(i).detachAppender(captured);
                capturing.get(i).setAdditive(true);
                capturing.get(i).setLevel(levels.get(i));
            }
        }
    }

    @Test
    void aConsulOutageIsOneLineNamingTheCauseAndOneLineWhenItEndsWithoutStackTraces() {
        ConsulAgent consul = closer.add(ConsulAgent.start());
        RealNodes.Scheduler proc = closer.add(RealNodes.scheduler("pg-n1"));
        FakePostgres pg = new FakePostgres("n1", new FakePostgres.Network(3), Ticker.system(), proc, new FakePostgres.Timings());
        ConsulDcs dcs = closer.add(ConsulDcs.builder().endpoints(consul.url()).minSessionTtl(Duration.ofSeconds(1))
                .registerService(true).build());
        HaNode node = closer.add(HaNode.builder().name("n1").scope("quiet").dcs(dcs).postgres(pg)
                .ttl(Duration.ofSeconds(6)).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(1)).build());
        node.start();
        await("n1 leads").atMost(Duration.ofSeconds(60)).until(() -> node.status().role() == Role.PRIMARY);
        int before = since(0).size();

        long stoppedAt = System.nanoTime();
        consul.stop();
        await("the node's calls fail").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> dcs.failedCallsInOutage() >= FAILED_CALLS);
        consul.restart();
        await("the agent reachable again").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> lines(before, STORE).stream().anyMatch(l -> l.contains("reachable again")));
        double outageSeconds = (System.nanoTime() - stoppedAt) / 1e9;

        List<ILoggingEvent> during = since(before);
        List<String> store = lines(before, STORE);
        List<String> engine = lines(before, ENGINE);
        List<String> libraries = new ArrayList<>();
        LIBRARIES.forEach(p -> libraries.addAll(lines(before, p)));
        System.out.printf("ConsulQuietLogTest: an outage of %.1f s (%d failed calls at least) logged %d store lines:%n  %s%n"
                        + "%d engine lines:%n  %s%nand %d library lines:%n  %s%n", outageSeconds, FAILED_CALLS, store.size(),
                String.join("\n  ", store), engine.size(), String.join("\n  ", engine), libraries.size(), String.join("\n  ", libraries));

        assertThat(during).as("lines with a stack trace").filteredOn(e -> e.getThrowableProxy() != null)
                .extracting(e -> e.getLoggerName() + " " + e.getFormattedMessage()).isEmpty();
        assertThat(during).as("lines of more than one line").filteredOn(e -> e.getFormattedMessage().contains("\n")).isEmpty();
        String where = "Consul agent at [" + consul.url() + "]";
        assertThat(store).as("the beginning").filteredOn(l -> l.startsWith("WARN " + where + " is unreachable: ")).hasSize(1);
        List<String> ends = store.stream().filter(l -> l.startsWith("INFO " + where + " is reachable again after ")).toList();
        assertThat(ends).as("the end").hasSize(1);
        Matcher count = Pattern.compile("after [0-9.]+ s, ([0-9]+) failed calls$").matcher(ends.get(0));
        assertThat(count.find()).as(ends.get(0)).isTrue();
        assertThat(Long.parseLong(count.group(1))).as("failed calls counted").isGreaterThanOrEqualTo(FAILED_CALLS);
        // besides: a reminder if it lasted 30 s, that the Consul session was gone when the agent came back empty, the
        // service registered again
        assertThat(store).as("every line the store logged").hasSizeLessThanOrEqualTo(5);
        assertThat(libraries).as("Apache HttpClient's and consul-api's lines").isEmpty();
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
