package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.Stages.failure;
import static io.pgha.dcs.etcd.Stages.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.pgha.dcs.etcd.Stages.Recorder;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.servers.EtcdCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A member session answers reads and unchanged renewals from its watch when that is provably as
 * new as etcd, so an idle member sends one keep-alive per cycle; and it never answers from memory
 * what etcd would have answered differently.
 */
class EtcdWatchCacheTest {
    private static final Duration TTL = Duration.ofSeconds(3);
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final Duration AWAIT = Duration.ofSeconds(10);
    private static final String STATUS = "{\"optime\":1}";
    private static int scopes;

    private static EtcdCluster etcd;

    @BeforeAll
    static void startEtcd() {
        etcd = EtcdCluster.single();
        Warmup.once(etcd.clientUrl());
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    private static String scope() {
        return "cache" + (++scopes);
    }

    private static EtcdSession member(EtcdDcs dcs, String scope, String name, Recorder heard) {
        EtcdSession s = (EtcdSession) dcs.open(SessionSpec.member(scope, name, TTL, RETRY));
        s.watch(heard);
        return s;
    }

    private static long calls(String method) {
        return Stages.startedCalls(etcd.metrics(0)).getOrDefault(method, 0L);
    }

    /** A leader with its key, its member entry and its status written, the cache filled and current. */
    private static EtcdSession idleLeader(EtcdDcs dcs, String scope, Recorder heard) {
        EtcdSession a = member(dcs, scope, "a", heard);
        get(a.touchMember("{\"role\":\"primary\"}"));
        assertThat(get(a.acquireLeader())).isTrue();
        assertThat(get(a.renewLeader(Optional.of(STATUS)))).isTrue();
        get(a.read());
        await().atMost(AWAIT).until(a::readsFromCache);
        return a;
    }

    @Test
    void anIdleLeaderSendsOnlyItsKeepAlivesWhileItsReadsAndRenewalsAreAnsweredFromItsWatch() {
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build()) {
            EtcdSession a = idleLeader(dcs, scope(), new Recorder());
            long ranges = calls("Range");
            long txns = calls("Txn");
            long keepAlives = calls("LeaseKeepAlive");

            for (int cycle = 0; cycle < 10; cycle++) {
                assertThat(get(a.renewLeader(Optional.of(STATUS)))).as("renewal %d", cycle).isTrue();
                await().atMost(AWAIT).until(a::readsFromCache);
                ClusterSnapshot s = get(a.read());
                assertThat(s.leaderName()).contains("a");
                assertThat(s.get(ClusterKey.STATUS).map(DcsEntry::value)).contains(STATUS);
                assertThat(s.members()).containsKey("a");
            }

            assertThat(calls("Range") - ranges).as("range requests").isZero();
            assertThat(calls("Txn") - txns).as("transactions").isZero();
            assertThat(calls("LeaseKeepAlive") - keepAlives).as("keep-alives").isEqualTo(10);
        }
    }

    @Test
    void aChangeAnotherMemberMadeIsInTheCachedReadOnceTheWatchReportedIt() {
        String scope = scope();
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build()) {
            Recorder heard = new Recorder();
            EtcdSession a = idleLeader(dcs, scope, heard);
            EtcdSession b = member(dcs, scope, "b", new Recorder());
            long ranges = calls("Range");

            assertThat(get(b.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":20}", DcsEntry.ABSENT))).isTrue();
            await().atMost(AWAIT).until(() -> heard.heard(ClusterKey.CONFIG.path()));
            // the leader's next cycle (its keep-alive keeps the cache's proof fresh however slow this machine is)
            assertThat(get(a.renewLeader(Optional.of(STATUS)))).isTrue();
            await().atMost(AWAIT).until(a::readsFromCache);

            assertThat(get(a.read()).get(ClusterKey.CONFIG).map(DcsEntry::value)).contains("{\"ttl\":20}");
            assertThat(calls("Range") - ranges).as("range requests").isZero();
        }
    }

    @Test
    void aSessionReadsItsOwnWriteAtOnce() {
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build()) {
            EtcdSession a = idleLeader(dcs, scope(), new Recorder());
            for (int i = 0; i < 5; i++) {
                long version = get(a.read()).get(ClusterKey.FAILOVER).map(DcsEntry::version).orElse(DcsEntry.ABSENT);
                String value = "{\"candidate\":\"c" + i + "\"}";
                assertThat(get(a.compareAndSet(ClusterKey.FAILOVER, value, version))).isTrue();
                assertThat(get(a.read()).get(ClusterKey.FAILOVER).map(DcsEntry::value)).as("write %d", i).contains(value);
            }
        }
    }

    @Test
    void aRenewalNoticesALeaderKeyThatAnotherClientOverwrote() {
        String scope = scope();
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build();
             Client intruder = Client.builder().endpoints(etcd.clientUrl()).build()) {
            EtcdSession a = idleLeader(dcs, scope, new Recorder());
            get(intruder.getKVClient().put(bytes("/service/" + scope + "/leader"), bytes("z")));

            assertThat(get(a.renewLeader(Optional.of(STATUS)))).isFalse();
            assertThat(get(a.read()).leaderName()).contains("z");
        }
    }

    @Test
    void inAnEtcdSharedWithOtherClustersProgressReportsKeepTheCacheCurrent() {
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build();
             Client other = Client.builder().endpoints(etcd.clientUrl()).build()) {
            EtcdSession a = idleLeader(dcs, scope(), new Recorder());
            long ranges = calls("Range");

            for (int i = 0; i < 5; i++) {
                // another cluster's write moves the store's revision without an event under our prefix
                get(other.getKVClient().put(bytes("/service/someone-else/config"), bytes("{\"v\":" + i + "}")));
                assertThat(get(a.renewLeader(Optional.of(STATUS)))).isTrue();
                assertThat(a.readsFromCache()).as("behind the keep-alive's revision").isFalse();
                // what a read that finds the cache behind does first; only the progress report can catch it up
                a.askForProgress();
                await().atMost(AWAIT).until(a::readsFromCache);
                assertThat(get(a.read()).leaderName()).contains("a");
            }

            assertThat(calls("Range") - ranges).as("range requests").isZero();
        }
    }

    @Test
    void anEtcdThatStoppedAnsweringIsReportedAsUnreachableNotReadFromMemory() {
        try (EtcdCluster own = EtcdCluster.single(); EtcdDcs dcs = EtcdDcs.builder().endpoints(own.clientUrl()).build()) {
            EtcdSession a = (EtcdSession) dcs.open(SessionSpec.member("gone", "a", TTL, RETRY));
            a.watch(new Recorder());
            get(a.touchMember("{}"));
            get(a.read());
            await().atMost(AWAIT).until(a::readsFromCache);

            own.member(0).kill();

            assertThat(failure(() -> a.touchMember("{}"), RETRY.multipliedBy(5)).error()).isInstanceOf(DcsUnreachableException.class);
            assertThat(failure(a::read, RETRY.multipliedBy(5)).error()).isInstanceOf(DcsUnreachableException.class);
        }
    }

    @Test
    void withCachedReadsOffEveryReadIsARangeRequest() {
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).cachedReads(false).build()) {
            EtcdSession a = member(dcs, scope(), "a", new Recorder());
            get(a.touchMember("{}"));
            long ranges = calls("Range");
            for (int i = 0; i < 3; i++) {
                assertThat(get(a.read()).members()).containsKey("a");
            }
            assertThat(a.readsFromCache()).isFalse();
            assertThat(calls("Range") - ranges).isEqualTo(3);
        }
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
