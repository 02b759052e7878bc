package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A leader's graceful stop in virtual time: the key goes only once PostgreSQL is stopped. */
class GracefulStopTest {
    private static final Duration TTL = Duration.ofSeconds(10);

    private final List<String> log = new ArrayList<>();

    private VirtualCluster cluster() {
        return VirtualCluster.builder().nodes(3).seed(13)
                .configure((m, b) -> b.ttl(TTL).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(3)))
                .events((m, e) -> log.add(m + " " + e))
                .build();
    }

    @Test
    void aLeaderThatStopsGracefullyHandsTheKeyOverAtOnce() {
        VirtualCluster c = cluster().start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member old = c.member(c.leaderKey().orElseThrow());
        long stopAt = c.time().read();
        old.stopGracefully();
        assertThat(c.runUntil(() -> c.leaderKey().filter(l -> !l.equals(old.name())).isPresent() && c.isHealthy(), TTL)).isTrue();
        assertThat(Duration.ofNanos(c.time().read() - stopAt)).as("well before the old lease could expire").isLessThan(TTL.dividedBy(2));
    }

    @Test
    void aGracefulStopWhosePostgresStopFailsDoesNotHandTheLeaderKeyOverWhilePostgresMayStillWrite() {
        VirtualCluster c = cluster().start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member old = c.member(c.leaderKey().orElseThrow());
        boolean[] twoWriters = {false};
        long[] oldStoppedWriting = {0};
        long[] keyLeftOld = {0};
        c.time().afterEachStep(() -> {
            twoWriters[0] |= c.writers().size() > 1;
            if (oldStoppedWriting[0] == 0 && !old.postgres().acceptsWrites()) {
                oldStoppedWriting[0] = c.time().read();
            }
            if (keyLeftOld[0] == 0 && !c.leaderKey().map(old.name()::equals).orElse(false)) {
                keyLeftOld[0] = c.time().read();
            }
        });
        old.postgres().refuseGracefulStops(true);
        long stopAt = c.time().read();
        old.stopGracefully();
        assertThat(c.runUntil(() -> c.leaderKey().filter(l -> !l.equals(old.name())).isPresent() && c.isHealthy(),
                TTL.multipliedBy(3))).as("a new primary once the old lease ran out").isTrue();
        assertThat(twoWriters[0]).as("two servers accepted writes at the same instant").isFalse();
        assertThat(oldStoppedWriting[0]).as("the fence stopped the old primary").isPositive();
        assertThat(keyLeftOld[0]).as("the key left the old primary only after it stopped writing").isGreaterThan(oldStoppedWriting[0]);
        assertThat(Duration.ofNanos(keyLeftOld[0] - stopAt)).as("the key was not handed over early").isGreaterThan(TTL.dividedBy(2));
        assertThat(log).anySatisfy(l -> assertThat(l).startsWith(old.name() + " Fenced["));
    }
}
