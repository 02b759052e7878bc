package io.pgha.postgres;

import static io.pgha.postgres.PgSandbox.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.spi.RunState;
import io.pgha.spi.StopMode;
import io.pgha.spi.Subscription;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The postmaster watch on real PostgreSQL: an idle connection whose backend exits with the
 * postmaster reports a crash at once, with the /proc poll set to an hour so that it cannot be what
 * saw it; a server stopped behind pgha's back is reported too; and that connection is no client
 * pgha reports, and is gone once the controller is closed.
 */
class PostmasterWatchTest {
    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(true);
    private static final Duration T = PgSandbox.TIMEOUT;
    /** Far longer than a test: whatever reports an exit in time, it is not the poll. */
    private static final Duration NO_POLL = Duration.ofHours(1);
    /**
     * How soon a kill must be reported. The old poll saw it after 125 ms on average and 250 ms at
     * worst; the bound is loose because a shared 2-core machine can stall a thread for a while,
     * and with the poll at an hour any report at all proves the blocking wait.
     */
    private static final Duration PROMPT = Duration.ofSeconds(2);

    private final List<PgEvent> events = new CopyOnWriteArrayList<>();
    private final AtomicLong exitSeenAt = new AtomicLong();

    private PgController primary(String name, Duration pollInterval) {
        PgController c = sandbox.controller(name, b -> b.crashPollInterval(pollInterval).listener(e -> {
            if (e instanceof PgEvent.PostmasterExited) {
                exitSeenAt.compareAndSet(0, System.nanoTime());
            }
            events.add(e);
        }));
        await(c.bootstrap());
        awaitWatchConnection(c);
        return c;
    }

    @Test
    void aKilledPostmasterIsReportedThroughTheWatchConnectionWithoutWaitingForThePoll() throws Exception {
        PgController c = primary("pw-kill", NO_POLL);
        List<Long> changes = new ArrayList<>();
        Subscription sub = c.onStateChange(() -> changes.add(System.nanoTime()));
        // a restart pgha makes is not a crash, and the new postmaster is watched the same way
        await(c.restart(StopMode.FAST, T));
        awaitWatchConnection(c);
        assertThat(events).noneMatch(e -> e instanceof PgEvent.PostmasterExited x && !x.expected());
        exitSeenAt.set(0);
        long pid = PidFile.read(c.dataDirectory()).orElseThrow().pid();

        long killedAt = System.nanoTime();
        assertThat(ProcessHandle.of(pid).orElseThrow().destroyForcibly()).isTrue();

        await().atMost(PROMPT).pollInterval(Duration.ofMillis(5))
                .until(() -> events.stream().anyMatch(e -> e instanceof PgEvent.PostmasterExited x && x.pid() == pid && !x.expected()));
        System.out.printf("postmaster kill -9 reported after %.1f ms (poll interval: %s)%n",
                (exitSeenAt.get() - killedAt) / 1e6, NO_POLL);
        await().atMost(PROMPT).until(() -> !changes.isEmpty());
        assertThat(await(c.observe()).runState()).isEqualTo(RunState.CRASHED);
        sub.close();
    }

    @Test
    void aServerStoppedWithPgCtlBehindPghasBackIsReportedAsAnUnexpectedExit() throws Exception {
        PgController c = primary("pw-stop", Duration.ofMillis(250));
        long pid = PidFile.read(c.dataDirectory()).orElseThrow().pid();

        pgCtlStop(c);

        await().atMost(T).until(() -> events.stream().anyMatch(e -> e instanceof PgEvent.PostmasterExited x && x.pid() == pid && !x.expected()));
        assertThat(await(c.observe()).runState()).isEqualTo(RunState.STOPPED);
        assertThat(PidFile.read(c.dataDirectory())).isEmpty();
    }

    @Test
    void theWatchConnectionIsNoReplicationClientAndIsClosedWithTheController() throws Exception {
        PgController c = primary("pw-close", Duration.ofMillis(250));
        String watcher = "pgha-pw-close-postmaster-watch";
        assertThat(watchConnections(c, watcher)).isEqualTo(1);

        assertThat(await(c.observe()).replication()).as("pg_stat_replication, what pgha reports of the primary's clients").isEmpty();

        c.close();

        await().atMost(T).until(() -> watchConnections(c, watcher) == 0);
        assertThat(PidFile.read(c.dataDirectory())).as("closing the controller leaves the server running").isPresent();
        assertThat(events).as("the watch connection's end at close is not taken for the postmaster's")
                .noneMatch(e -> e instanceof PgEvent.PostmasterExited);
    }

    private static void awaitWatchConnection(PgController c) {
        String watcher = "pgha-" + c.name() + "-postmaster-watch";
        await().atMost(T).until(() -> watchConnections(c, watcher) == 1);
    }

    /** The watch connections of the server, idle and waiting for their client (from the test's own connection). */
    private static int watchConnections(PgController c, String applicationName) throws SQLException {
        try (Connection conn = PgSandbox.sql(c);
             PreparedStatement st = conn.prepareStatement(
                     "SELECT count(*) FROM pg_stat_activity WHERE application_name = ? AND state = 'idle' AND wait_event = 'ClientRead'")) {
            st.setString(1, applicationName);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static void pgCtlStop(PgController c) throws Exception {
        List<String> argv = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            argv.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        argv.addAll(List.of(c.binDirectory().resolve("pg_ctl").toString(), "stop", "-D", c.dataDirectory().toString(),
                "-m", "fast", "-w", "-t", "30", "-s"));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(new String(p.getInputStream().readAllBytes())).isZero();
    }
}
