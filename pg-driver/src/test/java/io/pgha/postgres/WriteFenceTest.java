package io.pgha.postgres;

import io.pgha.spi.RunState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.pgha.postgres.PgSandbox.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The write fence on a real server: a helper process kills the postmaster when its deadline passes,
 * whatever the JVM does meanwhile.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WriteFenceTest {
    private static final Duration T = Duration.ofSeconds(30);

    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(false);

    private final List<PgEvent> events = new CopyOnWriteArrayList<>();
    private final AtomicInteger stateChanges = new AtomicInteger();
    private PgController pg;

    @BeforeAll
    void server() {
        pg = sandbox.controller("fenced", b -> b.listener(events::add));
        pg.onStateChange(stateChanges::incrementAndGet);
        await(pg.bootstrap());
    }

    @BeforeEach
    void running() {
        await(pg.start(T));
        events.clear();
    }

    @AfterEach
    void disarm() {
        pg.disarmFence();
    }

    @Test
    void an_armed_fence_that_is_not_armed_again_kills_the_postmaster_at_its_deadline() {
        long armedAt = System.nanoTime();
        int before = stateChanges.get();

        assertThat(pg.armFence(System.nanoTime() + Duration.ofSeconds(1).toNanos(), io.pgha.Ticker.system())).isTrue();

        await().atMost(T).until(() -> await(pg.observe()).runState().isDown());
        assertThat(Duration.ofNanos(System.nanoTime() - armedAt)).as("not before the deadline").isGreaterThanOrEqualTo(Duration.ofMillis(990));
        await().atMost(T).until(() -> events.stream().anyMatch(e -> e instanceof PgEvent.FenceFired));
        // the engine hears about it at once, not at its next tick
        await().atMost(T).until(() -> stateChanges.get() > before);
    }

    @Test
    void a_fence_armed_again_every_200_ms_keeps_the_server_up() {
        ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor();
        try {
            // a 2 s deadline: the server must survive a stall of up to 1.8 s of this busy 2-core machine
            renewer.scheduleAtFixedRate(() -> pg.armFence(System.nanoTime() + Duration.ofSeconds(2).toNanos(), io.pgha.Ticker.system()), 0, 200, TimeUnit.MILLISECONDS);

            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> await(pg.observe()).isRunning());
        } finally {
            renewer.shutdownNow();
            pg.disarmFence();
        }
        assertThat(events).noneMatch(e -> e instanceof PgEvent.FenceFired || e instanceof PgEvent.PostmasterExited);
    }

    @Test
    void a_disarmed_fence_does_not_fire() {
        pg.armFence(System.nanoTime() + Duration.ofSeconds(1).toNanos(), io.pgha.Ticker.system());

        pg.disarmFence();

        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).until(() -> await(pg.observe()).isRunning());
        assertThat(events).noneMatch(e -> e instanceof PgEvent.FenceFired);
    }

    @Test
    void an_armed_helper_whose_controller_is_gone_still_fires_at_its_deadline() {
        // a second controller on the same data directory stands for a JVM that exits or dies while armed
        PgController gone = sandbox.register(sandbox.builder("fenced", portOf(pg)).build());
        gone.armFence(System.nanoTime() + Duration.ofSeconds(1).toNanos(), io.pgha.Ticker.system());
        long helper = gone.fenceHelperPid().orElseThrow();

        gone.close();

        await().atMost(T).until(() -> await(pg.observe()).runState().isDown());
        await().atMost(T).until(() -> !Proc.isAlive(helper));
    }

    @Test
    void a_disarmed_helper_exits_when_its_controller_closes_and_leaves_the_server_alone() {
        PgController closing = sandbox.register(sandbox.builder("fenced", portOf(pg)).build());
        closing.armFence(System.nanoTime() + Duration.ofSeconds(1).toNanos(), io.pgha.Ticker.system());
        closing.disarmFence();
        long helper = closing.fenceHelperPid().orElseThrow();

        closing.close();

        await().atMost(T).until(() -> !Proc.isAlive(helper));
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> await(pg.observe()).isRunning());
    }

    @Test
    void a_fence_whose_jvm_is_frozen_with_sigstop_still_fires() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process holder = new ProcessBuilder(java, "-Dorg.slf4j.simpleLogger.logFile=System.err",
                "-cp", System.getProperty("java.class.path"), FenceHolder.class.getName(),
                "fenced", pg.dataDirectory().toString(), Integer.toString(portOf(pg)))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        long helper = 0;
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
            String first = out.readLine();
            assertThat(first).startsWith("helper ");
            helper = Long.parseLong(first.substring(7));
            assertThat(ProcessHandle.of(helper).flatMap(h -> h.info().command()).orElse("")).as("the helper is bash itself")
                    .endsWith("bash");
            for (int i = 0; i < 8; i++) {
                assertThat(out.readLine()).isEqualTo("armed"); // 1.6 s of re-arming with a 2 s deadline
            }
            assertThat(await(pg.observe()).isRunning()).isTrue();

            Proc.signal(holder.pid(), "STOP");

            await().atMost(T).until(() -> await(pg.observe()).runState().isDown());
        } finally {
            holder.destroyForcibly();
            if (helper != 0) {
                Proc.signal(helper, "KILL");
            }
        }
    }

    @Test
    void a_fence_armed_with_no_time_left_fires_at_once() {
        pg.armFence(System.nanoTime(), io.pgha.Ticker.system());

        await().atMost(Duration.ofSeconds(5)).until(() -> await(pg.observe()).runState().isDown());
        // the server goes down at the fast shutdown, the helper reports once it is done: wait for
        // the report here, or it lands in the next test
        await().atMost(Duration.ofSeconds(5)).until(() -> events.stream().anyMatch(e -> e instanceof PgEvent.FenceFired));
    }

    private static int portOf(PgController c) {
        return ConnUrl.parse(c.connectionUrl()).port();
    }
}
