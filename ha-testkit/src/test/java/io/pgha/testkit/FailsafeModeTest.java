package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.spi.ClusterKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Patroni's {@code failsafe_mode} in virtual time: a primary that cannot reach the store runs on
 * while every member of the failsafe topology confirms it, and demotes when one does not.
 */
class FailsafeModeTest {
    private static final Duration TTL = Duration.ofSeconds(10);
    private final List<String> log = new ArrayList<>();

    private VirtualCluster cluster(boolean failsafe) {
        return VirtualCluster.builder().nodes(3).seed(11)
                .configure((m, b) -> b.ttl(TTL).loopWait(Duration.ofSeconds(2)).retryTimeout(Duration.ofSeconds(3))
                        .initialDynamicConfig("{\"failsafe_mode\": " + failsafe + "}"))
                .events((m, e) -> log.add(m + " " + e))
                .build();
    }

    private static VirtualCluster.Member leader(VirtualCluster c) {
        return c.member(c.leaderKey().orElseThrow());
    }

    /** Advances {@code d} a second at a time, checking that {@code primary} is the only writer all along. */
    private static void onlyWriterThroughout(VirtualCluster c, VirtualCluster.Member primary, Duration d) {
        for (long s = 0; s < d.toSeconds(); s++) {
            c.advance(Duration.ofSeconds(1));
            assertThat(c.writers()).as("writers after " + (s + 1) + " s").containsExactly(primary);
        }
    }

    private static VirtualCluster healthy(VirtualCluster c) {
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        assertThat(c.runUntil(() -> c.dcs().peek(c.scope(), ClusterKey.FAILSAFE).map(v -> v.contains("n1") && v.contains("n2")
                && v.contains("n3")).orElse(false), Duration.ofSeconds(10))).as("the leader writes the failsafe topology").isTrue();
        return c;
    }

    @Test
    void withFailsafeModeThePrimaryRunsOnThroughAStoreOutageLongerThanTheTtl() {
        VirtualCluster c = healthy(cluster(true).start());
        VirtualCluster.Member primary = leader(c);

        c.dcs().setOutage(true);
        onlyWriterThroughout(c, primary, TTL.multipliedBy(4));
        c.dcs().setOutage(false);

        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(30))).isTrue();
        assertThat(leader(c)).isSameAs(primary);
    }

    /**
     * A store that stops answering (an etcd that was stopped, with the client retrying until its
     * deadline) may go quiet just as a cycle starts: that cycle decides on the watch's copy, and it
     * is the renewal that finds the store gone, a retry_timeout later. The primary must ask the
     * members then, not a cycle later, or its lease ends first. Tried at every tenth of loop_wait.
     */
    @Test
    void withFailsafeModeThePrimaryRunsOnWhereverInItsCycleTheStoreStopsAnswering() {
        for (int offsetMs = 0; offsetMs < 1000; offsetMs += 100) {
            VirtualCluster c = healthy(VirtualCluster.builder().nodes(3).seed(11)
                    .configure((m, b) -> b.ttl(Duration.ofSeconds(5)).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(2))
                            .initialDynamicConfig("{\"failsafe_mode\": true}"))
                    .build().start());
            VirtualCluster.Member primary = leader(c);
            c.advance(Duration.ofMillis(offsetMs));

            c.dcs().setFrozen(true);
            for (long s = 0; s < 20; s++) {
                c.advance(Duration.ofSeconds(1));
                assertThat(c.writers()).as("writers " + (s + 1) + " s after the store stopped answering "
                        + offsetMs + " ms into the cycle").containsExactly(primary);
            }
        }
    }

    @Test
    void withFailsafeModeAPrimaryCutOffFromTheStoreAloneRunsOnAndTheReplicasDoNotRace() {
        VirtualCluster c = healthy(cluster(true).start());
        VirtualCluster.Member primary = leader(c);

        c.dcs().partition(primary.name());
        onlyWriterThroughout(c, primary, TTL.multipliedBy(4));
        assertThat(log).anyMatch(l -> l.contains("confirmed within the ttl that it runs on without the store"));
        c.dcs().heal(primary.name());

        assertThat(c.runUntil(() -> c.isHealthy() && c.leaderKey().isPresent(), Duration.ofSeconds(30))).isTrue();
        assertThat(leader(c)).as("the primary takes the lock back").isSameAs(primary);
    }

    @Test
    void withFailsafeModeAPrimaryThatCannotReachEveryMemberDemotesBeforeAnotherTakesOver() {
        VirtualCluster c = healthy(cluster(true).start());
        VirtualCluster.Member primary = leader(c);
        VirtualCluster.Member silent = c.members().stream().filter(m -> m != primary).findFirst().orElseThrow();

        silent.setUnreachableForPeers(true);
        c.dcs().partition(primary.name());

        assertThat(c.runUntil(() -> c.writers().isEmpty() || !c.writers().contains(primary), TTL.multipliedBy(2)))
                .as("the primary stops writing").isTrue();
        assertThat(c.runUntil(() -> c.writers().size() == 1 && c.writers().get(0) != primary, TTL.multipliedBy(4)))
                .as("a replica takes over").isTrue();
    }

    @Test
    void withoutFailsafeModeThePrimaryDemotesWhenTheStoreIsGoneForLongerThanTheTtl() {
        VirtualCluster c = cluster(false).start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member primary = leader(c);

        c.dcs().setOutage(true);

        assertThat(c.runUntil(() -> c.writers().isEmpty(), TTL.multipliedBy(2))).isTrue();
        assertThat(c.dcs().peek(c.scope(), ClusterKey.FAILSAFE)).isEmpty();
        c.dcs().setOutage(false);
        assertThat(primary).isNotNull();
    }
}
