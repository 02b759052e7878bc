package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.Stages.failure;
import static io.pgha.dcs.etcd.Stages.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.Client;
import io.pgha.dcs.etcd.Stages.Failure;
import io.pgha.dcs.etcd.Stages.Recorder;
import io.pgha.testkit.servers.EtcdCluster;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What the etcd store does when etcd itself fails: stopped, restarted, compacted, a member killed or frozen. */
class EtcdFaultTest {
    private static final Duration TTL = Duration.ofSeconds(2);
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final String SCOPE = "faults";

    @BeforeAll
    static void warmUp() {
        try (EtcdCluster etcd = EtcdCluster.single()) {
            Warmup.once(etcd.clientUrl());
        }
    }

    private static EtcdDcs dcs(List<String> endpoints) {
        return EtcdDcs.builder().endpoints(endpoints).build();
    }

    private static DcsSession member(EtcdDcs dcs, String name, Duration retry) {
        return dcs.open(SessionSpec.member(SCOPE, name, TTL, retry));
    }

    @Test
    void everyCallFailsAsUnreachableWithinRetryTimeoutOnceEtcdIsKilled() {
        try (EtcdCluster etcd = EtcdCluster.single(); EtcdDcs dcs = dcs(etcd.clientUrls())) {
            DcsSession a = member(dcs, "a", RETRY);
            get(a.touchMember("{}"));
            assertThat(get(a.acquireLeader())).isTrue();
            long configVersion = get(a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT)) ? 1 : 0;
            Recorder heard = new Recorder();
            a.watch(heard);

            etcd.member(0).kill();

            List<Supplier<CompletionStage<?>>> calls = List.of(a::read, a::acquireLeader, () -> a.renewLeader(Optional.of("{}")),
                    a::releaseLeader, () -> a.touchMember("{\"x\":1}"), () -> a.compareAndSet(ClusterKey.CONFIG, "{}", configVersion),
                    () -> a.compareAndSet(ClusterKey.INITIALIZE, "1", DcsEntry.ABSENT), () -> a.compareAndDelete(ClusterKey.FAILOVER, 7),
                    a::deleteCluster);
            // all at once, as the engine and the lease guard may call concurrently
            long start = System.nanoTime();
            List<CompletableFuture<?>> pending = calls.stream().<CompletableFuture<?>>map(c -> c.get().toCompletableFuture()).toList();
            for (CompletableFuture<?> call : pending) {
                Failure f = failure(() -> call, RETRY.multipliedBy(5));
                assertThat(f.error()).isInstanceOf(DcsUnreachableException.class);
            }
            assertThat((System.nanoTime() - start) / 1_000_000).as("time for every call to fail").isLessThanOrEqualTo(RETRY.toMillis() + 250);
            assertThat(heard.leaseLost).as("a disconnection is not a lost lease").isEmpty();
        }
    }

    @Test
    void theFirstCallAfterALongOutageDoesNotWaitOutGrpcsReconnectBackOff() {
        try (EtcdCluster etcd = EtcdCluster.single(); EtcdDcs dcs = dcs(etcd.clientUrls())) {
            DcsSession observer = dcs.open(SessionSpec.observer(SCOPE, Duration.ofSeconds(2)));
            get(observer.read());
            etcd.member(0).kill();
            // The outage itself: no calls meanwhile, so gRPC's reconnect back-off (1 s, x1.6 per
            // failed attempt) grows to several seconds, which the next call would otherwise wait out.
            await().pollDelay(Duration.ofSeconds(12)).atMost(Duration.ofSeconds(13)).until(() -> true);
            etcd.member(0).start();
            etcd.awaitHealthy();

            long start = System.nanoTime();
            get(observer.read());
            assertThat((System.nanoTime() - start) / 1_000_000).as("first read after the outage, ms").isLessThan(1000);
        }
    }

    @Test
    void aNodeWhoseRenewalsStopLosesTheLeaderKeyAfterTtlAndAnotherNodeTakesIt() {
        try (EtcdCluster etcd = EtcdCluster.single(); EtcdDcs dcsA = dcs(etcd.clientUrls()); EtcdDcs dcsB = dcs(etcd.clientUrls())) {
            DcsSession a = member(dcsA, "a", RETRY);
            DcsSession b = member(dcsB, "b", RETRY);
            Recorder heardByA = new Recorder();
            a.watch(heardByA);
            get(a.touchMember("{\"name\":\"a\"}"));
            assertThat(get(a.acquireLeader())).isTrue();
            long renewedAt = System.nanoTime();
            assertThat(get(a.renewLeader(Optional.empty()))).isTrue();

            // a's loop is dead from here on: no renewLeader, no touchMember
            await().atMost(TTL.plusSeconds(2)).pollInterval(Duration.ofMillis(100)).until(() -> get(b.acquireLeader()));
            long tookMs = (System.nanoTime() - renewedAt) / 1_000_000;

            assertThat(tookMs).as("the key outlives its ttl").isGreaterThanOrEqualTo(TTL.toMillis() * 9 / 10);
            assertThat(get(b.read()).leaderName()).contains("b");
            assertThat(get(b.read()).members()).doesNotContainKey("a");
            assertThat(get(a.renewLeader(Optional.empty()))).as("a's late renewal").isFalse();
            assertThat(heardByA.leaseLost).as("a hears that its lease is gone").isNotEmpty();
            assertThat(get(b.read()).leaderName()).contains("b");
        }
    }

    @Test
    void aWatchResumesAfterEtcdRestarts() {
        try (EtcdCluster etcd = EtcdCluster.single(); EtcdDcs dcs = dcs(etcd.clientUrls())) {
            DcsSession watcher = dcs.open(SessionSpec.observer(SCOPE, RETRY));
            Recorder heard = new Recorder();
            watcher.watch(heard);
            await().atMost(Duration.ofSeconds(5)).until(heard::heardUnknown);

            etcd.member(0).stop();
            etcd.member(0).start();
            etcd.awaitHealthy();
            DcsSession writer = dcs.open(SessionSpec.member(SCOPE, "w", TTL, Duration.ofSeconds(5)));
            assertThat(get(writer.compareAndSet(ClusterKey.CONFIG, "{\"after\":\"restart\"}", DcsEntry.ABSENT))).isTrue();

            await().atMost(Duration.ofSeconds(15)).until(() -> heard.heard("config"));
        }
    }

    @Test
    void changesMadeWhileTheWatchersEtcdMemberWasDownAreReportedAfterItsRestart() {
        try (EtcdCluster etcd = EtcdCluster.start(3)) {
            int pinned = (etcd.leaderIndex() + 1) % 3; // a follower: killing it leaves the others a quorum and a leader
            List<String> others = others(etcd, pinned);
            try (EtcdDcs watcherDcs = dcs(List.of(etcd.member(pinned).clientUrl())); EtcdDcs writerDcs = dcs(others)) {
                DcsSession watcher = watcherDcs.open(SessionSpec.observer(SCOPE, RETRY));
                DcsSession writer = writerDcs.open(SessionSpec.member(SCOPE, "w", TTL, Duration.ofSeconds(3)));
                Recorder heard = new Recorder();
                watcher.watch(heard);
                await().atMost(Duration.ofSeconds(5)).until(heard::heardUnknown);
                assertThat(get(writer.compareAndSet(ClusterKey.HISTORY, "[]", DcsEntry.ABSENT))).isTrue();
                await().atMost(Duration.ofSeconds(5)).until(() -> heard.heard("history"));

                etcd.member(pinned).kill();
                heard.clear();
                assertThat(get(writer.compareAndSet(ClusterKey.CONFIG, "{\"while\":\"down\"}", DcsEntry.ABSENT))).isTrue();
                get(writer.touchMember("{\"while\":\"down\"}"));
                assertThat(heard.paths).as("nothing can be heard from a dead member").isEmpty();
                etcd.member(pinned).start();

                await().atMost(Duration.ofSeconds(20)).until(() -> heard.heard("config") && heard.heard("members/w"));
                assertThat(heard.heardUnknown()).as("resumed from its revision, not restarted from scratch").isFalse();
            }
        }
    }

    @Test
    void aWatchWhoseResumeRevisionWasCompactedReportsAnUnknownChange() {
        try (EtcdCluster etcd = EtcdCluster.start(3)) {
            int pinned = (etcd.leaderIndex() + 1) % 3;
            List<String> others = others(etcd, pinned);
            try (EtcdDcs watcherDcs = dcs(List.of(etcd.member(pinned).clientUrl())); EtcdDcs writerDcs = dcs(others);
                 Client raw = Client.builder().endpoints(others.toArray(new String[0])).build()) {
                DcsSession watcher = watcherDcs.open(SessionSpec.observer(SCOPE, RETRY));
                DcsSession writer = writerDcs.open(SessionSpec.member(SCOPE, "w", TTL, Duration.ofSeconds(3)));
                Recorder heard = new Recorder();
                watcher.watch(heard);
                await().atMost(Duration.ofSeconds(5)).until(heard::heardUnknown);

                etcd.member(pinned).kill();
                heard.clear();
                assertThat(get(writer.compareAndSet(ClusterKey.CONFIG, "{\"v\":1}", DcsEntry.ABSENT))).isTrue();
                long v = get(writer.read()).get(ClusterKey.CONFIG).orElseThrow().version();
                assertThat(get(writer.compareAndSet(ClusterKey.CONFIG, "{\"v\":2}", v))).isTrue();
                long revision = get(writer.read()).revision();
                get(raw.getKVClient().compact(revision));
                etcd.member(pinned).start();

                await().atMost(Duration.ofSeconds(20)).until(heard::heardUnknown);
                // and it goes on watching from the present
                heard.clear();
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> {
                    get(writer.touchMember("{\"t\":" + System.nanoTime() + "}"));
                    return heard.heard("members/w");
                });
            }
        }
    }

    @Test
    void aThreeMemberClusterWithAFollowerKilledKeepsServingEveryCall() {
        try (EtcdCluster etcd = EtcdCluster.start(3); EtcdDcs dcs = dcs(etcd.clientUrls())) {
            DcsSession a = member(dcs, "a", RETRY);
            get(a.touchMember("{\"i\":-1}"));
            assertThat(get(a.acquireLeader())).isTrue();
            assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{\"i\":-1}", DcsEntry.ABSENT))).isTrue();

            etcd.member((etcd.leaderIndex() + 1) % 3).kill();

            for (int i = 0; i < 6; i++) {
                assertThat(get(a.renewLeader(Optional.of("{\"optime\":" + i + "}")))).isTrue();
                get(a.touchMember("{\"i\":" + i + "}"));
                long version = get(a.read()).get(ClusterKey.CONFIG).orElseThrow().version();
                assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{\"i\":" + i + "}", version))).isTrue();
            }
            assertThat(get(a.read()).leaderName()).contains("a");
        }
    }

    @Test
    void afterTheRaftLeaderIsKilledTheSessionServesAgainAndKeepsItsLeaderKey() {
        try (EtcdCluster etcd = EtcdCluster.start(3); EtcdDcs dcs = dcs(etcd.clientUrls())) {
            DcsSession a = dcs.open(SessionSpec.member(SCOPE, "a", Duration.ofSeconds(5), RETRY));
            assertThat(get(a.acquireLeader())).isTrue();

            etcd.member(etcd.leaderIndex()).kill();

            // during the election calls may fail as unreachable; etcd extends leases over a leader change
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).ignoreException(DcsUnreachableException.class)
                    .until(() -> get(a.renewLeader(Optional.empty())));
            assertThat(get(a.read()).leaderName()).contains("a");
        }
    }

    @Test
    void aFrozenMemberDoesNotEatTheBudgetOfCallsThatCanGoElsewhere() {
        Duration retry = Duration.ofSeconds(2);
        try (EtcdCluster etcd = EtcdCluster.start(3); EtcdDcs dcs = dcs(etcd.clientUrls())) {
            DcsSession a = member(dcs, "a", retry);
            assertThat(get(a.acquireLeader())).isTrue();
            int frozen = (etcd.leaderIndex() + 1) % 3;
            etcd.member(frozen).pause();
            try {
                List<Long> millis = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    long start = System.nanoTime();
                    assertThat(get(a.read()).leaderName()).contains("a");
                    assertThat(get(a.renewLeader(Optional.empty()))).isTrue();
                    get(a.touchMember("{\"i\":" + i + "}"));
                    millis.add((System.nanoTime() - start) / 1_000_000);
                }
                // each call finished within its own retry_timeout (else it would have failed); the
                // frozen member cost at most one abandoned try per request
                assertThat(millis).allMatch(ms -> ms < 3 * retry.toMillis());
            } finally {
                etcd.member(frozen).resume();
            }
        }
    }

    private static List<String> others(EtcdCluster etcd, int except) {
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < etcd.size(); i++) {
            if (i != except) {
                urls.add(etcd.member(i).clientUrl());
            }
        }
        return urls;
    }
}
