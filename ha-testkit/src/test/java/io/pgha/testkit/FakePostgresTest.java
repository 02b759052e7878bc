package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.PostgresState;
import io.pgha.spi.RunState;
import io.pgha.spi.StopMode;
import io.pgha.spi.SynchronousStandbys;
import io.pgha.spi.Upstream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

class FakePostgresTest {
    private final VirtualTime time = new VirtualTime();
    private final FakePostgres.Network net = new FakePostgres.Network(3);
    private final FakePostgres a = server("a");
    private final FakePostgres b = server("b");
    private final FakePostgres c = server("c");
    private static final Duration T = Duration.ofSeconds(10);

    private FakePostgres server(String name) {
        return new FakePostgres(name, net, time, time.owner("pg-" + name).scheduler(), new FakePostgres.Timings());
    }

    private <X> X done(CompletionStage<X> stage) {
        time.runUntil(() -> stage.toCompletableFuture().isDone(), Duration.ofSeconds(30));
        return stage.toCompletableFuture().join();
    }

    private static Upstream up(FakePostgres pg) {
        return new Upstream(pg.name(), pg.connectionUrl());
    }

    private PostgresState state(FakePostgres pg) {
        return done(pg.observe());
    }

    /** a primary, b and c streaming from it. */
    private void threeNodes() {
        done(a.bootstrap());
        for (FakePostgres s : List.of(b, c)) {
            done(s.cloneFrom(up(a)));
            done(s.follow(Optional.of(up(a)), T));
        }
        time.advance(Duration.ofMillis(200));
    }

    @Test
    void writesAdvanceThePrimarysLsnAndStandbysCatchUp() {
        threeNodes();
        long before = state(a).writeLsn().value();
        for (int i = 0; i < 5; i++) {
            assertThat(a.write(id -> { })).isPresent();
        }
        assertThat(state(a).writeLsn().value()).isEqualTo(before + 5 * FakePostgres.LSN_STEP);
        assertThat(b.write(id -> { })).as("a standby refuses writes").isEmpty();
        time.advance(Duration.ofMillis(200));
        PostgresState sb = state(b);
        assertThat(sb.streaming()).isTrue();
        assertThat(sb.receiveLsn()).isEqualTo(state(a).writeLsn());
        assertThat(state(a).replication()).extracting(r -> r.applicationName()).containsExactly("b", "c");
    }

    @Test
    void promotionStartsANewTimelineThatTheOtherStandbyFollowsWithoutRewind() {
        threeNodes();
        done(a.stop(StopMode.FAST, T));
        done(b.promote(T));
        assertThat(state(b).timeline()).isEqualTo(2);
        assertThat(state(b).inRecovery()).isFalse();
        assertThat(done(c.checkDivergence(up(b)))).isEqualTo(DivergenceCheck.NOT_DIVERGED);
        done(c.follow(Optional.of(up(b)), T));
        b.write(id -> { });
        time.advance(Duration.ofMillis(200));
        assertThat(state(c).streaming()).isTrue();
        assertThat(state(c).timeline()).isEqualTo(2);
    }

    @Test
    void aFormerPrimaryThatTookWritesAfterTheSplitHasDivergedUntilRewound() {
        threeNodes();
        done(b.promote(T));
        long lost = a.write(id -> { }).orElseThrow();
        done(a.stop(StopMode.IMMEDIATE, T));
        assertThat(a.runState()).isEqualTo(RunState.CRASHED);
        assertThat(done(a.checkDivergence(up(b)))).isEqualTo(DivergenceCheck.DIVERGED);
        done(a.rewind(up(b)));
        assertThat(a.contains(lost)).as("the lost branch is gone").isFalse();
        assertThat(done(a.checkDivergence(up(b)))).isEqualTo(DivergenceCheck.NOT_DIVERGED);
        done(a.follow(Optional.of(up(b)), T));
        time.advance(Duration.ofMillis(200));
        assertThat(state(a).streaming()).isTrue();
    }

    @Test
    void aCommitWaitsForEveryNamedSynchronousStandby() {
        threeNodes();
        done(a.setSynchronousStandbys(SynchronousStandbys.all(List.of("b"))));
        List<Long> acked = new ArrayList<>();
        done(b.stop(StopMode.FAST, T));
        long id = a.write(acked::add).orElseThrow();
        time.advance(Duration.ofSeconds(1));
        assertThat(acked).as("no ack while b is down").isEmpty();
        done(b.follow(Optional.of(up(a)), T));
        time.runUntil(() -> !acked.isEmpty(), Duration.ofSeconds(5));
        assertThat(acked).containsExactly(id);
        assertThat(b.contains(id)).isTrue();
    }

    @Test
    void clearingSynchronousStandbyNamesReleasesWaitingCommits() {
        threeNodes();
        done(a.setSynchronousStandbys(SynchronousStandbys.all(List.of("nobody"))));
        List<Long> acked = new ArrayList<>();
        a.write(acked::add);
        time.advance(Duration.ofSeconds(1));
        assertThat(acked).isEmpty();
        done(a.setSynchronousStandbys(SynchronousStandbys.NONE));
        assertThat(acked).hasSize(1);
    }

    @Test
    void aCrashIsSeenAsCrashedAndAStartRunsCrashRecovery() {
        threeNodes();
        List<String> noticed = new ArrayList<>();
        a.onStateChange(() -> noticed.add("changed"));
        a.crash();
        time.advance(Duration.ofMillis(10));
        assertThat(state(a).runState()).isEqualTo(RunState.CRASHED);
        assertThat(noticed).containsExactly("changed");
        done(a.start(T));
        assertThat(state(a).isRunningPrimary()).isTrue();
    }

    @Test
    void theExternalFenceStopsWritesWhenItIsNotRearmed() {
        done(a.bootstrap());
        assertThat(a.armFence(time.read() + Duration.ofSeconds(1).toNanos(), time)).isTrue();
        time.advance(Duration.ofMillis(900));
        assertThat(a.acceptsWrites()).isTrue();
        a.armFence(time.read() + Duration.ofSeconds(1).toNanos(), time);
        time.advance(Duration.ofMillis(900));
        assertThat(a.acceptsWrites()).as("re-armed").isTrue();
        time.advance(Duration.ofMillis(200));
        assertThat(a.acceptsWrites()).isFalse();
        assertThat(a.runState()).isEqualTo(RunState.CRASHED);
    }

    @Test
    void aFastStopSendsTheShutdownCheckpointToStreamingStandbys() {
        threeNodes();
        a.write(id -> { });
        done(a.stop(StopMode.FAST, T));
        assertThat(b.walRecords()).isEqualTo(a.walRecords());
        assertThat(done(b.checkDivergence(up(a)))).isEqualTo(DivergenceCheck.UNKNOWN);
    }
}
