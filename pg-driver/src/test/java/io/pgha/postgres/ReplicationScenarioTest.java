package io.pgha.postgres;

import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.PostgresState;
import io.pgha.spi.ReplicationConnection;
import io.pgha.spi.RunState;
import io.pgha.spi.StopMode;
import io.pgha.spi.Subscription;
import io.pgha.spi.SynchronousStandbys;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static io.pgha.postgres.PgSandbox.await;
import static io.pgha.postgres.PgSandbox.sql;
import static io.pgha.postgres.PgSandbox.upstream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The life of a three-node cluster on real PostgreSQL, step by step: a bootstraps; b and c clone and
 * stream; b is promoted while a still runs; c follows b across the timeline switch without a rewind;
 * a takes writes nobody else sees, crashes, is found diverged, rewound and streams from b; then
 * synchronous replication on b; finally no password leaked anywhere.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicationScenarioTest {
    private static final Duration T = Duration.ofSeconds(30);

    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(false);

    private final List<PgEvent> events = new CopyOnWriteArrayList<>();
    private final AtomicInteger aStateChanges = new AtomicInteger();
    private final List<String> exceptionMessages = new CopyOnWriteArrayList<>();
    private PgController a;
    private PgController b;
    private PgController c;
    private Subscription aWatch;
    private String systemId;

    @BeforeAll
    void controllers() {
        a = sandbox.controller("a", x -> x.listener(events::add));
        b = sandbox.controller("b", x -> x.listener(events::add));
        c = sandbox.controller("c", x -> x.listener(events::add));
        aWatch = a.onStateChange(aStateChanges::incrementAndGet);
    }

    @AfterAll
    void unsubscribe() {
        aWatch.close();
    }

    @Test
    @Order(1)
    void a_new_primary_bootstraps_and_completes_with_its_system_identifier() throws Exception {
        assertThat(await(a.observe()).runState()).isEqualTo(RunState.UNINITIALIZED);

        systemId = await(a.bootstrap());

        PostgresState s = await(a.observe());
        assertThat(s.isRunningPrimary()).isTrue();
        assertThat(s.systemId()).contains(systemId);
        assertThat(s.timeline()).isEqualTo(1);
        assertThat(s.writeLsn().isZero()).isFalse();
        assertThat(s.serverVersion() / 10000).isEqualTo(a.majorVersion());
        assertThat(await(a.controlData()).systemIdentifier()).isEqualTo(systemId);
        try (Connection conn = sql(a); Statement st = conn.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY, what text)");
            st.execute("INSERT INTO t SELECT g, 'from a' FROM generate_series(1, 3) g");
            // the managed settings are in force
            assertThat(setting(st, "wal_log_hints")).isEqualTo("on");
            assertThat(setting(st, "wal_level")).isEqualTo("replica");
            assertThat(setting(st, "port")).isEqualTo(Integer.toString(port(a)));
        }
        assertThat(a.connectionUrl()).isEqualTo("postgres://127.0.0.1:" + port(a) + "/postgres");
    }

    @Test
    @Order(2)
    void replicas_clone_from_the_primary_and_stream_from_it() throws Exception {
        await(b.cloneFrom(upstream(a)));
        await(c.cloneFrom(upstream(a)));

        PostgresState copied = await(b.observe());
        assertThat(copied.runState()).isEqualTo(RunState.STOPPED);
        assertThat(copied.inRecovery()).as("a fresh clone is a standby until told otherwise").isTrue();
        assertThat(copied.systemId()).contains(systemId);
        assertThat(events).anyMatch(e -> e instanceof PgEvent.CloneProgress p && p.member().equals("b") && p.source().equals("a"));

        await(b.follow(Optional.of(upstream(a)), T));
        await(c.follow(Optional.of(upstream(a)), T));

        awaitStreaming(b, a);
        awaitStreaming(c, a);
        await().atMost(T).until(() -> await(a.observe()).replication().stream()
                .filter(ReplicationConnection::isStreaming).map(ReplicationConnection::applicationName).toList(),
                names -> names.containsAll(List.of("b", "c")));
        assertThat(count(b, "SELECT count(*) FROM t")).isEqualTo(3);
        // the copy runs with its own port, not the one in the primary's files it was copied from
        assertThat(Files.readString(b.dataDirectory().resolve("pgha.conf"))).contains("port = '" + port(b) + "'");
        // the slot was made on the upstream before the walreceiver came
        assertThat(count(a, "SELECT count(*) FROM pg_replication_slots WHERE slot_name IN ('b', 'c') AND active")).isEqualTo(2);
        reportsWhenItStartedTheCommitTimeItReplayedAndAPausedReplay(b);
    }

    /** Patroni's postmaster_start_time, xlog.replayed_timestamp and xlog.paused, read from a streaming replica. */
    private void reportsWhenItStartedTheCommitTimeItReplayedAndAPausedReplay(PgController replica) throws Exception {
        exec(a, "CREATE TABLE replay_probe (x int)"); // a commit for the replica to replay
        await().atMost(T).until(() -> await(replica.observe()).times().lastReplayed().isPresent());
        PostgresState state = await(replica.observe());
        assertThat(state.times().postmasterStart()).hasValueSatisfying(t -> assertThat(t).isBefore(java.time.Instant.now()));
        assertThat(state.times().replayPaused()).isFalse();
        assertThat(await(a.observe()).times().lastReplayed()).as("a primary replays nothing").isEmpty();

        exec(replica, "SELECT pg_wal_replay_pause()");
        assertThat(await(replica.observe()).times().replayPaused()).isTrue();
        exec(replica, "SELECT pg_wal_replay_resume()");
        assertThat(await(replica.observe()).times().replayPaused()).isFalse();
        exec(a, "DROP TABLE replay_probe");
    }

    @Test
    @Order(3)
    void a_streaming_replica_has_not_diverged_from_its_primary() {
        assertThat(await(b.checkDivergence(upstream(a)))).isEqualTo(DivergenceCheck.NOT_DIVERGED);
    }

    @Test
    @Order(4)
    void promoting_a_replica_makes_it_a_primary_on_a_new_timeline() throws Exception {
        exec(a, "INSERT INTO t VALUES (4, 'from a, before the split')");
        var target = await(a.observe()).writeLsn();
        await().atMost(T).until(() -> await(c.observe()).replayLsn().compareTo(target) >= 0);
        // c stops streaming from a first, so it cannot receive WAL that a writes on its own (a
        // running-xacts record) after b's promotion; b then has at least what c has
        await(c.follow(Optional.empty(), T));
        var cHas = await(c.observe()).walPosition();
        await().atMost(T).until(() -> await(b.observe()).replayLsn().compareTo(cHas) >= 0);

        Duration took = await(b.promote(T));

        assertThat(took).isPositive();
        PostgresState s = await(b.observe());
        assertThat(s.isRunningPrimary()).isTrue();
        assertThat(s.timeline()).isEqualTo(2);
        assertThat(s.timelineStart().isZero()).isFalse();
        assertThat(events).anyMatch(e -> e instanceof PgEvent.Promoted p && p.member().equals("b"));
    }

    @Test
    @Order(5)
    void the_other_replica_follows_the_new_primary_across_the_timeline_switch_without_a_rewind() throws Exception {
        assertThat(await(c.checkDivergence(upstream(b)))).isEqualTo(DivergenceCheck.NOT_DIVERGED);

        await(c.follow(Optional.of(upstream(b)), T));

        awaitStreaming(c, b);
        exec(b, "INSERT INTO t VALUES (100, 'from b, the new primary')");
        await().atMost(T).until(() -> count(c, "SELECT count(*) FROM t WHERE id = 100") == 1);
        assertThat(await(c.observe()).timeline()).isEqualTo(2);
    }

    /**
     * pg_control's checkpoint timeline lags until the standby's next restartpoint; with no
     * walreceiver to report it, the timeline comes from the standby's own walsender. The engine
     * counts a position on a timeline older than the cluster's only up to that timeline's end, so
     * a standby that followed a promotion must not report the timeline before it once its upstream
     * is gone.
     */
    @Test
    @Order(6)
    void a_standby_whose_walreceiver_is_gone_still_reports_the_timeline_it_replays() throws Exception {
        int controlTimeline = count(c, "SELECT timeline_id FROM pg_control_checkpoint()");
        java.util.concurrent.atomic.AtomicInteger observed = new java.util.concurrent.atomic.AtomicInteger(-1);
        // end c's walreceiver from b's side: it starts again only after wal_retrieve_retry_interval (5 s)
        await().atMost(T).until(() -> {
            exec(b, "SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = 'c'");
            if (count(c, "SELECT count(*) FROM pg_stat_wal_receiver") != 0) {
                return false;
            }
            int timeline = await(c.observe()).timeline();
            if (count(c, "SELECT count(*) FROM pg_stat_wal_receiver") != 0) {
                return false; // the walreceiver came back meanwhile: this observation proves nothing
            }
            observed.set(timeline);
            return true;
        });
        assertThat(observed.get()).as("the timeline c reports with no walreceiver (pg_control says %d)", controlTimeline)
                .isEqualTo(2);
        awaitStreaming(c, b);
    }

    @Test
    @Order(7)
    void killing_the_postmaster_of_the_old_primary_is_seen_as_a_crash() throws Exception {
        // the split: a still takes writes that no other member will ever see
        exec(a, "INSERT INTO t SELECT g, 'lost branch' FROM generate_series(1000, 1099) g");
        long pid = PidFile.read(a.dataDirectory()).orElseThrow().pid();
        int before = aStateChanges.get();

        Proc.signal(pid, "KILL");

        await().atMost(T).until(() -> await(a.observe()).runState() == RunState.CRASHED);
        await().atMost(T).until(() -> aStateChanges.get() > before);
        assertThat(events).anyMatch(e -> e instanceof PgEvent.PostmasterExited x && x.member().equals("a") && !x.expected());
    }

    @Test
    @Order(8)
    void the_crashed_old_primary_is_diverged_and_after_a_rewind_streams_from_the_new_primary_without_its_lost_rows() throws Exception {
        assertThat(await(a.checkDivergence(upstream(b)))).isEqualTo(DivergenceCheck.DIVERGED);

        await(a.rewind(upstream(b)));
        await(a.follow(Optional.of(upstream(b)), T));

        awaitStreaming(a, b);
        assertThat(count(a, "SELECT count(*) FROM t WHERE id >= 1000")).as("the lost branch is gone").isZero();
        assertThat(count(a, "SELECT count(*) FROM t WHERE id = 100")).isEqualTo(1);
        PostgresState s = await(a.observe());
        assertThat(s.isRunningReplica()).isTrue();
        assertThat(s.timeline()).isEqualTo(2);
        // pg_rewind copied b's files over a's: a must still run on its own port
        try (Connection conn = sql(a); Statement st = conn.createStatement()) {
            assertThat(setting(st, "port")).isEqualTo(Integer.toString(port(a)));
        }
        assertThat(await(a.checkDivergence(upstream(b)))).isEqualTo(DivergenceCheck.NOT_DIVERGED);
    }

    @Test
    @Order(9)
    void a_commit_waits_for_the_named_synchronous_standby_and_proceeds_once_it_streams() throws Exception {
        await(b.setSynchronousStandbys(SynchronousStandbys.all(List.of("c"))));

        await().atMost(T).until(() -> await(b.observe()).replication().stream()
                .anyMatch(r -> r.applicationName().equals("c") && r.isSynchronous()));
        assertThat(await(b.observe()).synchronousStandbys()).isEqualTo(SynchronousStandbys.all(List.of("c")));

        await(c.stop(StopMode.FAST, T));
        assertThat(events).as("a stop pgha made is not reported as a crash")
                .anyMatch(e -> e instanceof PgEvent.PostmasterExited x && x.member().equals("c") && x.expected())
                .noneMatch(e -> e instanceof PgEvent.PostmasterExited x && x.member().equals("c") && !x.expected());
        PostgresState stopped = await(c.observe());
        assertThat(stopped.runState()).isEqualTo(RunState.STOPPED);
        assertThat(stopped.inRecovery()).as("standby.signal").isTrue();
        assertThat(stopped.systemId()).contains(systemId);
        assertThat(stopped.upstream()).contains(upstream(b));

        checkpointerHasTheSetting(b);
        CompletableFuture<Void> commit = insertAsync(b, 200);
        awaitWaitingForSyncRep(b);
        assertThat(commit).isNotDone();

        await(c.start(T));

        await().atMost(T).until(commit::isDone);
        commit.get();
        assertThat(count(b, "SELECT count(*) FROM t WHERE id = 200")).isEqualTo(1);
    }

    @Test
    @Order(10)
    void a_commit_waiting_for_an_absent_synchronous_standby_proceeds_once_the_setting_is_cleared() throws Exception {
        await(b.setSynchronousStandbys(SynchronousStandbys.all(List.of("nobody"))));
        checkpointerHasTheSetting(b);
        CompletableFuture<Void> commit = insertAsync(b, 201);
        awaitWaitingForSyncRep(b);

        await(b.setSynchronousStandbys(SynchronousStandbys.NONE));

        await().atMost(T).until(commit::isDone);
        commit.get();
        assertThat(await(b.observe()).synchronousStandbys()).isEqualTo(SynchronousStandbys.NONE);
    }

    @Test
    @Order(11)
    void a_wrong_replication_password_is_an_authentication_failure_that_does_not_show_the_password() {
        String wrong = "Wr:ong\\S3cret 'pw-" + System.nanoTime();
        PgController d = sandbox.register(sandbox.builder("d", PgSandbox.freePort(), wrong).build());
        Throwable e = failure(d.cloneFrom(upstream(b)));
        assertThat(e).isInstanceOf(AuthenticationFailedException.class).hasMessageContaining("replicator")
                .hasMessageNotContaining(wrong);
        exceptionMessages.add(String.valueOf(e.getMessage()));
    }

    @Test
    @Order(12)
    void no_password_appears_in_the_logs_command_lines_exception_messages_or_managed_files() throws Exception {
        List<String> secrets = List.of(PgSandbox.SUPER_PASSWORD, PgSandbox.REPL_PASSWORD, PgSandbox.REWIND_PASSWORD);
        List<String> texts = new ArrayList<>();
        Path log = Path.of("target/pg-driver-tests.log");
        assertThat(log).exists();
        String logText = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(logText.contains("running: runuser -u postgres --") && logText.contains("pg_basebackup")
                && logText.contains("pg_rewind")).as("pgha logs every command line at debug").isTrue();
        texts.add(logText);
        texts.addAll(exceptionMessages);
        for (PgController x : List.of(a, b, c)) {
            texts.add(Files.readString(x.serverLog(), StandardCharsets.UTF_8));
            for (String f : List.of("pgha.conf", "postgresql.conf", "postgresql.auto.conf", "pg_hba.conf")) {
                Path p = x.dataDirectory().resolve(f);
                if (Files.exists(p)) {
                    texts.add(Files.readString(p, StandardCharsets.UTF_8));
                }
            }
        }
        // the running servers' command lines, as ps shows them
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            procs.filter(p -> p.getFileName().toString().matches("\\d+")).forEach(p -> {
                try {
                    texts.add(new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' '));
                } catch (Exception ignored) {
                    // the process exited meanwhile
                }
            });
        }
        for (String secret : secrets) {
            assertThat(texts.stream().filter(t -> t.contains(secret)).map(t -> t.substring(0, Math.min(200, t.length()))).toList())
                    .as("texts containing a password").isEmpty();
        }
        // ...while the pass file, mode 0600, has them
        Path pass = a.dataDirectory().resolveSibling("a.pgha").resolve("pgpass");
        assertThat(Files.getPosixFilePermissions(pass)).containsExactlyInAnyOrder(
                java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
        assertThat(Files.readString(pass)).contains("replicator");
    }

    // ------------------------------------------------------------------ helpers

    private static Throwable failure(java.util.concurrent.CompletionStage<?> stage) {
        try {
            await(stage);
        } catch (RuntimeException e) {
            return e;
        }
        throw new AssertionError("expected a failure");
    }

    private static void awaitStreaming(PgController standby, PgController from) {
        await().atMost(T).until(() -> {
            PostgresState s = await(standby.observe());
            return s.isRunningReplica() && s.streaming() && s.upstream().equals(Optional.of(upstream(from)));
        });
    }

    /** Inserts a row on its own connection; the commit may wait for a synchronous standby. */
    private static CompletableFuture<Void> insertAsync(PgController on, int id) {
        return CompletableFuture.runAsync(() -> {
            try {
                exec(on, "INSERT INTO t VALUES (" + id + ", 'sync test')");
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /**
     * A barrier for the test's determinism: commits wait only once the checkpointer has processed the
     * reload and published "synchronous standbys are defined" in shared memory, and the checkpointer
     * handles a pending reload before it starts a requested checkpoint.
     */
    private static void checkpointerHasTheSetting(PgController on) throws SQLException {
        exec(on, "CHECKPOINT");
    }

    /** Waits until a backend waits for a synchronous standby. */
    private static void awaitWaitingForSyncRep(PgController on) {
        await().atMost(T).until(() -> count(on, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'") == 1);
    }

    private static void exec(PgController on, String sql) throws SQLException {
        try (Connection conn = sql(on); Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    private static int count(PgController on, String sql) throws SQLException {
        try (Connection conn = sql(on); Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static String setting(Statement st, String name) throws SQLException {
        try (ResultSet rs = st.executeQuery("SHOW " + name)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static int port(PgController c) {
        return ConnUrl.parse(c.connectionUrl()).port();
    }
}
