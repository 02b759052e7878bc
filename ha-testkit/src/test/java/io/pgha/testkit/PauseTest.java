package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsSession;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Maintenance mode (Patroni's pause) means no automatic action on PostgreSQL: a paused primary
 * that cannot renew its lease keeps running, and nobody races for the key beside it.
 */
class PauseTest {
    private static final Duration TTL = Duration.ofSeconds(10);

    @Test
    void aPausedPrimaryCutOffFromTheStoreKeepsRunningAndNobodyTakesOver() {
        VirtualCluster c = VirtualCluster.builder().nodes(3).seed(21)
                .configure((m, b) -> b.ttl(TTL).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(3)))
                .build().start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        setPause(c, true);
        assertThat(c.runUntil(() -> c.members().stream().allMatch(m -> m.node().status().paused()), Duration.ofSeconds(5))).isTrue();
        VirtualCluster.Member primary = c.member(c.leaderKey().orElseThrow());

        c.dcs().partition(primary.name());
        c.advance(TTL.multipliedBy(3));

        assertThat(primary.postgres().acceptsWrites()).as("the paused primary, cut off for three ttls, still takes writes").isTrue();
        assertThat(c.writers()).as("writable servers").containsExactly(primary);
        assertThat(primary.node().status().leaseValid()).as("it no longer believes it holds the lease").isFalse();

        c.dcs().heal(primary.name());
        setPause(c, false);
        assertThat(c.runUntil(c::isHealthy, TTL.multipliedBy(2))).as("one primary again once resumed").isTrue();
    }

    @Test
    void anUnpausedPrimaryCutOffFromTheStoreIsFencedBeforeItsLeaseCouldExpire() {
        VirtualCluster c = VirtualCluster.builder().nodes(3).seed(21)
                .configure((m, b) -> b.ttl(TTL).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(3)))
                .build().start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member primary = c.member(c.leaderKey().orElseThrow());
        c.dcs().partition(primary.name());
        c.advance(TTL);
        assertThat(primary.postgres().acceptsWrites()).as("fenced: the same cut without pause").isFalse();
    }

    /** What {@code pghactl pause} / {@code resume} write: the dynamic configuration with {@code pause}. */
    private static void setPause(VirtualCluster c, boolean pause) {
        DcsSession operator = c.operator();
        ClusterSnapshot s = await(c, operator.readAuthoritative().toCompletableFuture());
        String config = s.get(ClusterKey.CONFIG).orElseThrow().value();
        String next = config.replaceFirst(",\"pause\":(true|false)", "").replaceFirst("\\}$", ",\"pause\":" + pause + "}");
        boolean written = await(c, operator.compareAndSet(ClusterKey.CONFIG, next, s.get(ClusterKey.CONFIG).get().version())
                .toCompletableFuture());
        assertThat(written).as("config written").isTrue();
        operator.close();
    }

    /** The store answers in virtual time: run it until the answer is there. */
    private static <T> T await(VirtualCluster c, CompletableFuture<T> f) {
        assertThat(c.runUntil(f::isDone, Duration.ofSeconds(5))).as("the store answered").isTrue();
        return f.join();
    }
}
