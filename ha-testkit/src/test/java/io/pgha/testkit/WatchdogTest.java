package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.WatchdogMode;
import io.pgha.spi.Watchdog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** Patroni's watchdog in virtual time: armed by the leader only, kept alive by its renewals, disarmed when it stops leading. */
class WatchdogTest {
    private static final Duration TTL = Duration.ofSeconds(10);

    /** A watchdog that records what it is told. */
    static final class RecordingWatchdog implements Watchdog {
        final List<String> calls = Collections.synchronizedList(new ArrayList<>());
        final boolean usable;
        volatile boolean active;

        RecordingWatchdog(boolean usable) {
            this.usable = usable;
        }

        @Override
        public void activate(Duration timeout) {
            if (!usable) {
                throw new WatchdogException("cannot open the watchdog device /dev/watchdog: no such device");
            }
            active = true;
            calls.add("activate " + timeout.toSeconds());
        }

        @Override
        public void keepalive() {
            if (active) {
                calls.add("keepalive");
            }
        }

        @Override
        public void disable() {
            if (active) {
                active = false;
                calls.add("disable");
            }
        }

        @Override
        public boolean isActive() {
            return active;
        }

        @Override
        public boolean isUsable() {
            return usable;
        }

        @Override
        public void close() {
            disable();
        }
    }

    private final Map<String, RecordingWatchdog> watchdogs = new ConcurrentHashMap<>();

    private VirtualCluster cluster(java.util.function.Function<String, RecordingWatchdog> make, WatchdogMode mode) {
        return VirtualCluster.builder().nodes(2).seed(5)
                .configure((m, b) -> b.ttl(TTL).loopWait(Duration.ofSeconds(2)).retryTimeout(Duration.ofSeconds(3))
                        .watchdog(watchdogs.computeIfAbsent(m.name(), make)).watchdogMode(mode)
                        .watchdogSafetyMargin(Duration.ofSeconds(5)))
                .build();
    }

    @Test
    void theLeaderArmsItsWatchdogWithTtlMinusTheSafetyMarginKeepsItAliveAndDisarmsItWhenItStops() {
        VirtualCluster c = cluster(n -> new RecordingWatchdog(true), WatchdogMode.AUTOMATIC).start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member leader = c.member(c.leaderKey().orElseThrow());
        VirtualCluster.Member replica = c.members().stream().filter(m -> m != leader).findFirst().orElseThrow();
        c.advance(Duration.ofSeconds(10));

        RecordingWatchdog w = watchdogs.get(leader.name());
        assertThat(w.calls.get(0)).isEqualTo("activate 5");
        assertThat(w.calls.stream().filter("keepalive"::equals).count()).as("a keepalive per renewal").isGreaterThanOrEqualTo(4);
        assertThat(watchdogs.get(replica.name()).calls).as("a replica never arms it").isEmpty();

        leader.stopGracefully();
        c.runUntil(() -> !w.active, Duration.ofSeconds(30));
        assertThat(w.calls).last().isEqualTo("disable");
    }

    @Test
    void inRequiredModeAMemberWhoseWatchdogCannotBeUsedNeverLeads() {
        VirtualCluster c = cluster(n -> new RecordingWatchdog(n.equals("n2")), WatchdogMode.REQUIRED).start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        assertThat(c.leaderKey()).contains("n2");

        VirtualCluster.Member n2 = c.member("n2");
        n2.killNode();
        n2.postgres().crash();
        c.advance(TTL.multipliedBy(3));

        assertThat(c.writers()).as("n1 cannot use its watchdog and so does not take over").isEmpty();
    }
}
