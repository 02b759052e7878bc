package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.Stages.gauge;
import static io.pgha.dcs.etcd.Stages.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.pgha.dcs.etcd.Stages.Recorder;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import io.pgha.testkit.FaultProxy;
import io.pgha.testkit.servers.EtcdCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * All the sessions of one {@link EtcdDcs} share one etcd watch ({@link SharedWatch}), and each still
 * hears exactly its own cluster: from the moment it subscribes, through a compaction, and whatever
 * another session's listener does.
 */
class EtcdSharedWatchTest {
    private static final Duration TTL = Duration.ofSeconds(3);
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final Duration AWAIT = Duration.ofSeconds(20);
    private static int scopes;

    private static EtcdCluster etcd;
    private static Client raw;

    @BeforeAll
    static void startEtcd() {
        etcd = EtcdCluster.single();
        Warmup.once(etcd.clientUrl());
        raw = Client.builder().endpoints(etcd.clientUrl()).build();
    }

    @AfterAll
    static void stopEtcd() {
        if (raw != null) {
            raw.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    private static String scope() {
        return "shared" + (++scopes);
    }

    private static void put(String key, String value) {
        get(raw.getKVClient().put(bytes(key), bytes(value)));
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    /** etcd's open watch streams and watchers. */
    private record Watches(long streams, long watchers) {
        static Watches now() {
            String m = etcd.metrics(0);
            return new Watches(gauge(m, "etcd_debugging_mvcc_watch_stream_total"), gauge(m, "etcd_debugging_mvcc_watcher_total"));
        }

        Watches plus(long n) {
            return new Watches(streams + n, watchers + n);
        }
    }

    @Test
    void fiftySessionsOfFiveClustersOnOneEtcdDcsAreOneWatchAtEtcdAndEachHearsOnlyItsOwnCluster() {
        Watches idle = Watches.now();
        Map<String, List<Recorder>> heardByScope = new LinkedHashMap<>();
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build()) {
            List<DcsSession> sessions = new ArrayList<>();
            for (int c = 0; c < 5; c++) {
                String scope = scope();
                List<Recorder> heard = new ArrayList<>();
                for (int m = 0; m < 10; m++) {
                    DcsSession s = dcs.open(SessionSpec.member(scope, "m" + m, TTL, RETRY));
                    Recorder r = new Recorder();
                    s.watch(r);
                    sessions.add(s);
                    heard.add(r);
                }
                heardByScope.put(scope, heard);
            }
            List<Recorder> all = heardByScope.values().stream().flatMap(List::stream).toList();
            await("every session's watch started").atMost(AWAIT).until(() -> all.stream().allMatch(Recorder::heardUnknown));

            Watches open = Watches.now();
            System.out.printf("EtcdSharedWatchTest: 50 sessions of 5 clusters, each with a watch: etcd counts %s (idle %s)%n", open, idle);
            assertThat(open).as("watch streams and watchers at etcd for 50 watching sessions").isEqualTo(idle.plus(1));
            assertThat(dcs.sharedWatch().watchedPrefix()).as("the watch covers the namespace").isEqualTo("/service/");

            all.forEach(Recorder::clear);
            heardByScope.keySet().forEach(scope -> put("/service/" + scope + "/config", "{\"scope\":\"" + scope + "\"}"));
            // a cluster of the namespace that nobody here watches, and a key outside it
            put("/service/nobody/config", "{}");
            put("/elsewhere/" + heardByScope.keySet().iterator().next() + "/config", "{}");

            // one more change per cluster, after all the others: whoever heard it has heard everything before
            heardByScope.keySet().forEach(scope -> put("/service/" + scope + "/sync", "{}"));
            heardByScope.forEach((scope, heard) -> await(scope + "'s sessions heard its changes").atMost(AWAIT)
                    .until(() -> heard.stream().allMatch(r -> r.heard("sync"))));
            heardByScope.forEach((scope, heard) -> {
                for (Recorder r : heard) {
                    assertThat(r.paths).as("what a session of %s heard", scope).containsExactly(Optional.of("config"), Optional.of("sync"));
                }
            });

            for (DcsSession s : sessions) {
                s.close();
            }
            assertThat(dcs.sharedWatch().isOpen()).as("the shared watch once the last session closed").isFalse();
            await("etcd's watch counts back to idle").atMost(AWAIT).untilAsserted(() -> assertThat(Watches.now()).isEqualTo(idle));
        }
    }

    @Test
    void theSharedWatchCoversOneClustersPrefixOrTheWholeNamespaceNeverPartOfAScopesName() {
        assertThat(covering("/service/a/", "/service/a/")).isEqualTo("/service/a/");
        assertThat(covering("/service/a/", "/service/b/")).isEqualTo("/service/");
        assertThat(covering("/service/ab/", "/service/ac/")).as("scopes with a common start").isEqualTo("/service/");
        assertThat(covering("/service/a/", "/service/a-other/")).isEqualTo("/service/");
        assertThat(covering("/service/", "/service/x/")).as("already the namespace").isEqualTo("/service/");
        assertThat(covering("/a/", "/b/")).as("namespace '/'").isEqualTo("/");
    }

    private static String covering(String a, String b) {
        return EtcdLayout.text(SharedWatch.covering(bytes(a), bytes(b)));
    }

    @Test
    void aSessionThatJoinsARunningWatchHearsUnknownAndThenEveryChangeOfItsClusterInOrder() {
        String scope = scope();
        String other = scope();
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build()) {
            Recorder first = new Recorder();
            EtcdSession a = (EtcdSession) dcs.open(SessionSpec.member(scope, "a", TTL, RETRY));
            a.watch(first);
            await().atMost(AWAIT).until(first::heardUnknown);
            put("/service/" + scope + "/config", "{\"v\":0}");
            await().atMost(AWAIT).until(() -> first.heard("config"));

            // a member of the same cluster joins the running watch
            Recorder late = new Recorder();
            EtcdSession b = (EtcdSession) dcs.open(SessionSpec.member(scope, "b", TTL, RETRY));
            b.watch(late);
            await().atMost(AWAIT).until(late::heardUnknown);
            for (int i = 1; i <= 3; i++) {
                put("/service/" + scope + "/members/x" + i, "{}");
            }
            await().atMost(AWAIT).until(() -> late.heard("members/x3"));
            assertThat(late.paths).as("what the late subscriber heard").containsExactly(Optional.empty(),
                    Optional.of("members/x1"), Optional.of("members/x2"), Optional.of("members/x3"));
            // its reads come from the shared watch too, once a read filled its cache
            get(b.read());
            await().atMost(AWAIT).until(b::readsFromCache);
            assertThat(get(b.read()).members()).hasSize(3);

            // a member of another cluster joins: the watch widens and the first session misses nothing
            Recorder elsewhere = new Recorder();
            DcsSession c = dcs.open(SessionSpec.member(other, "c", TTL, RETRY));
            c.watch(elsewhere);
            await().atMost(AWAIT).until(elsewhere::heardUnknown);
            first.clear();
            put("/service/" + scope + "/config", "{\"v\":1}");
            put("/service/" + other + "/config", "{\"v\":1}");
            put("/service/" + scope + "/sync", "{}");
            await().atMost(AWAIT).until(() -> first.heard("sync") && elsewhere.heard("config"));
            assertThat(first.paths).as("the first session after the widening").containsExactly(Optional.of("config"), Optional.of("sync"));
            assertThat(elsewhere.paths).as("the other cluster's session").containsExactly(Optional.empty(), Optional.of("config"));

            // closing one subscription leaves the others watching, and delivers nothing more to it
            Subscription second = b.watch(new Recorder());
            late.clear();
            b.close();
            put("/service/" + scope + "/members/x4", "{}");
            await().atMost(AWAIT).until(() -> first.heard("members/x4"));
            assertThat(late.paths).as("heard after its session closed").isEmpty();
            second.close();
            assertThat(dcs.sharedWatch().isOpen()).isTrue();
        }
    }

    @Test
    void aCompactedPositionRestartsTheSharedWatchFromNowAndEverySubscriberHearsUnknown() {
        String scope = scope();
        String other = scope();
        try (FaultProxy proxy = FaultProxy.to("127.0.0.1", etcd.member(0).clientPort());
             EtcdDcs dcs = EtcdDcs.builder().endpoints("http://" + proxy.address()).build()) {
            List<Recorder> heard = new ArrayList<>();
            List<EtcdSession> sessions = new ArrayList<>();
            for (String s : List.of(scope, scope, other)) {
                Recorder r = new Recorder();
                EtcdSession session = (EtcdSession) dcs.open(SessionSpec.member(s, "m" + heard.size(), TTL, RETRY));
                session.watch(r);
                heard.add(r);
                sessions.add(session);
            }
            await().atMost(AWAIT).until(() -> heard.stream().allMatch(Recorder::heardUnknown));
            get(sessions.get(0).read());
            await().atMost(AWAIT).until(sessions.get(0)::readsFromCache);

            proxy.reset();
            heard.forEach(Recorder::clear);
            put("/service/" + scope + "/config", "{\"v\":1}");
            put("/service/" + other + "/config", "{\"v\":1}");
            long revision = get(raw.getKVClient().put(bytes("/service/" + scope + "/config"), bytes("{\"v\":2}"))).getHeader().getRevision();
            get(raw.getKVClient().compact(revision));
            proxy.pass();

            await("every subscriber told to read everything").atMost(AWAIT).until(() -> heard.stream().allMatch(Recorder::heardUnknown));
            assertThat(sessions.get(0).readsFromCache()).as("a cache whose watch lost its position").isFalse();
            // and the watch goes on from the present for all of them
            heard.forEach(Recorder::clear);
            put("/service/" + scope + "/leader", "x");
            put("/service/" + other + "/leader", "y");
            await().atMost(AWAIT).until(() -> heard.stream().allMatch(r -> r.heard("leader")));
            get(sessions.get(0).read());
            await().atMost(AWAIT).until(sessions.get(0)::readsFromCache);
        }
    }

    @Test
    void aSlowOrThrowingListenerOfOneSessionDoesNotHoldUpAnotherSessionsDeliveries() throws Exception {
        String scope = scope();
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build()) {
            CountDownLatch release = new CountDownLatch(1);
            Recorder slowHeard = new Recorder();
            AtomicInteger slowCalls = new AtomicInteger();
            dcs.open(SessionSpec.member(scope, "slow", TTL, RETRY)).watch(path -> {
                slowCalls.incrementAndGet();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                slowHeard.clusterChanged(path);
            });
            AtomicInteger thrown = new AtomicInteger();
            dcs.open(SessionSpec.member(scope, "throws", TTL, RETRY)).watch(path -> {
                thrown.incrementAndGet();
                throw new IllegalStateException("a listener that always throws (expected in this test)");
            });
            Recorder good = new Recorder();
            dcs.open(SessionSpec.member(scope, "good", TTL, RETRY)).watch(good);
            await().atMost(AWAIT).until(() -> good.heardUnknown() && slowCalls.get() == 1 && thrown.get() == 1);

            for (int i = 1; i <= 5; i++) {
                put("/service/" + scope + "/members/n" + i, "{}");
            }
            await("the good listener heard every change while the slow one is stuck").atMost(AWAIT)
                    .until(() -> good.heard("members/n5"));
            assertThat(good.paths).containsExactly(Optional.empty(), Optional.of("members/n1"), Optional.of("members/n2"),
                    Optional.of("members/n3"), Optional.of("members/n4"), Optional.of("members/n5"));
            await("the throwing listener is still called").atMost(AWAIT).until(() -> thrown.get() == 6);
            assertThat(slowCalls.get()).as("calls of the stuck listener").isEqualTo(1);

            release.countDown();
            await("the slow listener catches up, in order").atMost(AWAIT).until(() -> slowHeard.heard("members/n5"));
            assertThat(slowHeard.paths).containsExactly(Optional.empty(), Optional.of("members/n1"), Optional.of("members/n2"),
                    Optional.of("members/n3"), Optional.of("members/n4"), Optional.of("members/n5"));
        }
    }
}
