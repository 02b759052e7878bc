package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.Stages.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import io.pgha.dcs.etcd.Stages.Recorder;
import io.pgha.testkit.servers.EtcdCluster;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The keys and values in etcd are Patroni's etcd3 layout, read and written exactly; foreign data is skipped. */
class EtcdLayoutTest {
    private static final Duration TTL = Duration.ofSeconds(2);
    private static final Duration RETRY = Duration.ofSeconds(2);
    private static final AtomicInteger SCOPES = new AtomicInteger();

    private static EtcdCluster etcd;
    private static Client raw;
    private String scope;

    @BeforeAll
    static void start() {
        etcd = EtcdCluster.single();
        Warmup.once(etcd.clientUrl());
        raw = Client.builder().endpoints(etcd.clientUrl()).build();
    }

    @AfterAll
    static void stop() {
        if (raw != null) {
            raw.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    @BeforeEach
    void newScope() {
        scope = "layout-" + SCOPES.incrementAndGet();
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static Optional<KeyValue> rawGet(String key) {
        return get(raw.getKVClient().get(bytes(key))).getKvs().stream().findFirst();
    }

    private static String text(KeyValue kv) {
        return kv.getValue().toString(StandardCharsets.UTF_8);
    }

    private EtcdDcs dcs() {
        return EtcdDcs.builder().endpoints(etcd.clientUrl()).build();
    }

    @Test
    void everyKeyLivesWherePatroniPutsItWithTheExactValue() {
        try (EtcdDcs dcs = dcs()) {
            DcsSession a = dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY));
            String member = "{\"conn_url\":\"postgres://10.0.0.1:5432/postgres\",\"api_url\":\"http://10.0.0.1:8008/patroni\",\"state\":\"running\"}";
            get(a.touchMember(member));
            assertThat(get(a.acquireLeader())).isTrue();
            assertThat(get(a.renewLeader(Optional.of("{\"optime\":67108960,\"slots\":{}}")))).isTrue();
            assertThat(get(a.compareAndSet(ClusterKey.INITIALIZE, "7368210012345678901", DcsEntry.ABSENT))).isTrue();
            assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":30,\"loop_wait\":10}", DcsEntry.ABSENT))).isTrue();
            assertThat(get(a.compareAndSet(ClusterKey.FAILOVER, "{\"leader\":\"n1\",\"member\":\"n2\"}", DcsEntry.ABSENT))).isTrue();
            assertThat(get(a.compareAndSet(ClusterKey.SYNC, "{\"leader\":\"n1\",\"sync_standby\":null}", DcsEntry.ABSENT))).isTrue();
            assertThat(get(a.compareAndSet(ClusterKey.HISTORY, "[[1,25165984,\"no recovery target specified\"]]", DcsEntry.ABSENT))).isTrue();

            String p = "/service/" + scope + "/";
            KeyValue leader = rawGet(p + "leader").orElseThrow();
            KeyValue memberKv = rawGet(p + "members/n1").orElseThrow();
            assertThat(text(leader)).isEqualTo("n1");
            assertThat(text(memberKv)).isEqualTo(member);
            assertThat(leader.getLease()).as("leader and member share one lease").isNotZero().isEqualTo(memberKv.getLease());
            assertThat(text(rawGet(p + "status").orElseThrow())).isEqualTo("{\"optime\":67108960,\"slots\":{}}");
            assertThat(text(rawGet(p + "initialize").orElseThrow())).isEqualTo("7368210012345678901");
            assertThat(text(rawGet(p + "config").orElseThrow())).isEqualTo("{\"ttl\":30,\"loop_wait\":10}");
            assertThat(rawGet(p + "config").orElseThrow().getLease()).as("versioned keys are not lease-bound").isZero();
            assertThat(text(rawGet(p + "failover").orElseThrow())).isEqualTo("{\"leader\":\"n1\",\"member\":\"n2\"}");
            assertThat(text(rawGet(p + "sync").orElseThrow())).isEqualTo("{\"leader\":\"n1\",\"sync_standby\":null}");
            assertThat(text(rawGet(p + "history").orElseThrow())).isEqualTo("[[1,25165984,\"no recovery target specified\"]]");

            ClusterSnapshot s = get(a.read());
            assertThat(s.get(ClusterKey.CONFIG).orElseThrow().version()).as("version = mod_revision")
                    .isEqualTo(rawGet(p + "config").orElseThrow().getModRevision());
            assertThat(s.revision()).isGreaterThanOrEqualTo(rawGet(p + "history").orElseThrow().getModRevision());
        }
    }

    @Test
    void theNamespaceIsConfigurableAndNormalizedLikePatronis() {
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).namespace("pgha//clusters/").build()) {
            DcsSession a = dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY));
            assertThat(get(a.acquireLeader())).isTrue();
            assertThat(rawGet("/pgha/clusters/" + scope + "/leader").map(EtcdLayoutTest::text)).contains("n1");
            assertThat(rawGet("/service/" + scope + "/leader")).isEmpty();
        }
    }

    @Test
    void aClusterWrittenByPatroniIsReadAndForeignDataIsSkipped() {
        String p = "/service/" + scope + "/";
        get(raw.getKVClient().put(bytes(p + "leader"), bytes("pg1")));
        get(raw.getKVClient().put(bytes(p + "members/pg1"), bytes("{\"role\":\"primary\"}")));
        get(raw.getKVClient().put(bytes(p + "members/pg2"), bytes("{\"role\":\"replica\"}")));
        get(raw.getKVClient().put(bytes(p + "config"), bytes("{\"ttl\":30}")));
        get(raw.getKVClient().put(bytes(p + "optime/leader"), bytes("67108960")));
        get(raw.getKVClient().put(bytes(p + "failsafe"), bytes("{}")));
        get(raw.getKVClient().put(bytes(p + "members/bad"), ByteSequence.from(new byte[] {(byte) 0xC3, (byte) 0x28, 0x00, (byte) 0xFF})));
        get(raw.getKVClient().put(ByteSequence.from(concat(p.getBytes(StandardCharsets.UTF_8), new byte[] {(byte) 0xFE, (byte) 0xFF})), bytes("x")));
        get(raw.getKVClient().put(bytes("/service/" + scope + "-other/leader"), bytes("someone-else")));

        try (EtcdDcs dcs = dcs()) {
            ClusterSnapshot s = get(dcs.open(SessionSpec.observer(scope, RETRY)).read());
            assertThat(s.leaderName()).contains("pg1");
            assertThat(s.members().keySet()).containsExactlyInAnyOrder("pg1", "pg2");
            assertThat(s.members().get("pg2").value()).isEqualTo("{\"role\":\"replica\"}");
            assertThat(s.keys().keySet()).as("Patroni's failsafe key is read (failsafe_mode); optime/leader is not pgha's")
                    .containsExactlyInAnyOrder(ClusterKey.LEADER, ClusterKey.CONFIG, ClusterKey.FAILSAFE);
        }
    }

    @Test
    void aWatchNamesTheChangedKeyRelativeToTheCluster() {
        try (EtcdDcs dcs = dcs()) {
            Recorder heard = new Recorder();
            dcs.open(SessionSpec.observer(scope, RETRY)).watch(heard);
            await().atMost(Duration.ofSeconds(5)).until(heard::heardUnknown);
            DcsSession n1 = dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY));
            get(n1.touchMember("{}"));
            assertThat(get(n1.acquireLeader())).isTrue();
            await().atMost(Duration.ofSeconds(5)).until(() -> heard.heard("members/n1") && heard.heard("leader"));
        }
    }

    @Test
    void openingASessionSendsNothingAndAnUnchangedMemberEntryIsNotRewritten() {
        AtomicInteger requests = new AtomicInteger();
        try (Client counted = Client.builder().endpoints(etcd.clientUrl()).interceptor(counting(requests)).build();
             EtcdDcs dcs = EtcdDcs.builder().client(counted).build()) {
            DcsSession a = dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY));
            assertThat(requests.get()).as("requests sent by open()").isZero();
            get(a.touchMember("{\"v\":1}"));
            assertThat(requests.get()).as("grant + put").isEqualTo(2);
            get(a.touchMember("{\"v\":1}"));
            assertThat(requests.get()).as("only a keep-alive for an unchanged entry").isEqualTo(3);
            long revision = rawGet("/service/" + scope + "/members/n1").orElseThrow().getModRevision();
            get(a.touchMember("{\"v\":2}"));
            assertThat(requests.get()).as("keep-alive + put").isEqualTo(5);
            assertThat(rawGet("/service/" + scope + "/members/n1").orElseThrow().getModRevision()).isGreaterThan(revision);
        }
    }

    @Test
    void theStatusIsWrittenOnlyWhenItChanged() {
        try (EtcdDcs dcs = dcs()) {
            DcsSession a = dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY));
            assertThat(get(a.acquireLeader())).isTrue();
            assertThat(get(a.renewLeader(Optional.of("{\"optime\":1}")))).isTrue();
            long written = rawGet("/service/" + scope + "/status").orElseThrow().getModRevision();
            assertThat(get(a.renewLeader(Optional.of("{\"optime\":1}")))).isTrue();
            assertThat(rawGet("/service/" + scope + "/status").orElseThrow().getModRevision()).as("unchanged: not rewritten").isEqualTo(written);
            assertThat(get(a.renewLeader(Optional.of("{\"optime\":2}")))).isTrue();
            assertThat(rawGet("/service/" + scope + "/status").map(EtcdLayoutTest::text)).contains("{\"optime\":2}");
        }
    }

    @Test
    void aSharedClientIsUsedAndLeftOpen() {
        try (Client shared = Client.builder().endpoints(etcd.clientUrl()).build()) {
            try (EtcdDcs dcs = EtcdDcs.builder().client(shared).namespace("/shared").build()) {
                assertThat(get(dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY)).acquireLeader())).isTrue();
            }
            // the session was closed with the Dcs (lease revoked), and the client still works
            assertThat(get(shared.getKVClient().get(bytes("/shared/" + scope + "/leader"))).getKvs()).isEmpty();
        }
    }

    @Test
    void renewalRecreatesALeaderKeyThatWasDeletedUnderIt() {
        try (EtcdDcs dcs = dcs()) {
            DcsSession a = dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY));
            assertThat(get(a.acquireLeader())).isTrue();
            get(raw.getKVClient().delete(bytes("/service/" + scope + "/leader")));
            assertThat(get(a.renewLeader(Optional.empty()))).isTrue();
            assertThat(rawGet("/service/" + scope + "/leader").map(EtcdLayoutTest::text)).contains("n1");
        }
    }

    @Test
    void aLapsedLeaseIsReportedLostAndTheNextCallGrantsANewOne() {
        try (EtcdDcs dcs = dcs()) {
            DcsSession a = dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY));
            Recorder heard = new Recorder();
            a.watch(heard);
            get(a.touchMember("{}"));
            long first = rawGet("/service/" + scope + "/members/n1").orElseThrow().getLease();
            await().atMost(TTL.plusSeconds(3)).pollInterval(Duration.ofMillis(100))
                    .until(() -> rawGet("/service/" + scope + "/members/n1").isEmpty());

            get(a.touchMember("{}"));

            assertThat(heard.leaseLost).isNotEmpty();
            long second = rawGet("/service/" + scope + "/members/n1").orElseThrow().getLease();
            assertThat(second).isNotZero().isNotEqualTo(first);
        }
    }

    @Test
    void aTtlThatIsNotWholeSecondsIsRoundedUp() {
        try (EtcdDcs dcs = dcs()) {
            DcsSession a = dcs.open(SessionSpec.member(scope, "n1", Duration.ofMillis(2500), RETRY));
            get(a.touchMember("{}"));
            long lease = rawGet("/service/" + scope + "/members/n1").orElseThrow().getLease();
            assertThat(get(raw.getLeaseClient().timeToLive(lease, LeaseOption.DEFAULT)).getGrantedTTL()).isEqualTo(3);
        }
    }

    @Test
    void closingTheDcsClosesItsSessionsWhichRevokeTheirLeases() {
        EtcdDcs dcs = dcs();
        DcsSession a = dcs.open(SessionSpec.member(scope, "n1", Duration.ofSeconds(30), RETRY));
        get(a.touchMember("{}"));
        assertThat(get(a.acquireLeader())).isTrue();
        dcs.close();
        Map<String, String> left = get(raw.getKVClient().get(bytes("/service/" + scope + "/"), GetOption.builder().isPrefix(true).build()))
                .getKvs().stream().collect(Collectors.toMap(kv -> kv.getKey().toString(StandardCharsets.UTF_8), EtcdLayoutTest::text));
        assertThat(left).isEmpty();
    }

    // writeRevision(): the revision at which the session's newest write took effect, that is the
    // mod_revision etcd gave the written key, so an authoritative read that follows shows the write
    // and is at least that new; a call that wrote nothing leaves it where it was.

    /** An authoritative read, checked to be at least as new as the session's newest write. */
    private static ClusterSnapshot readAfterWrite(DcsSession s) {
        ClusterSnapshot snapshot = get(s.readAuthoritative());
        assertThat(snapshot.revision()).as("an authoritative read after the write").isGreaterThanOrEqualTo(s.writeRevision());
        return snapshot;
    }

    private static long version(ClusterSnapshot s, ClusterKey key) {
        return s.get(key).map(DcsEntry::version).orElseThrow(() -> new AssertionError(key.path() + " is absent"));
    }

    @Test
    void writeRevisionIsWhereTheSessionsNewestWriteOfItsMemberEntryLeaderKeyOrStatusTookEffect() {
        for (boolean cachedReads : new boolean[] {true, false}) {
            String cluster = scope + "-cached-" + cachedReads;
            try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).cachedReads(cachedReads).build()) {
                DcsSession a = dcs.open(SessionSpec.member(cluster, "n1", TTL, RETRY));
                a.watch(new Recorder());
                assertThat(a.writeRevision()).as("nothing written yet").isZero();

                get(a.touchMember("{\"state\":\"running\"}"));
                assertThat(readAfterWrite(a).members().get("n1").version()).as("member entry").isEqualTo(a.writeRevision());

                assertThat(get(a.acquireLeader())).isTrue();
                assertThat(version(readAfterWrite(a), ClusterKey.LEADER)).as("acquired leader key").isEqualTo(a.writeRevision());

                assertThat(get(a.renewLeader(Optional.of("{\"optime\":1}")))).isTrue();
                assertThat(version(readAfterWrite(a), ClusterKey.STATUS)).as("status written by a renewal").isEqualTo(a.writeRevision());

                long beforeIdleCycles = a.writeRevision();
                for (int cycle = 0; cycle < 3; cycle++) {
                    assertThat(get(a.renewLeader(Optional.of("{\"optime\":1}")))).isTrue();
                    assertThat(get(a.renewLeader(Optional.empty()))).isTrue();
                    get(a.touchMember("{\"state\":\"running\"}"));
                }
                assertThat(a.writeRevision()).as("renewals and touches that wrote nothing (cached reads: %s)", cachedReads)
                        .isEqualTo(beforeIdleCycles);

                assertThat(get(a.releaseLeader())).isTrue();
                long released = a.writeRevision();
                assertThat(released).as("released leader key").isGreaterThan(beforeIdleCycles);
                assertThat(readAfterWrite(a).leaderName()).isEmpty();
                assertThat(get(a.releaseLeader())).isFalse();
                assertThat(a.writeRevision()).as("a release that found no key of ours").isEqualTo(released);
            }
        }
    }

    @Test
    void writeRevisionMovesWhenARenewalRebindsTheLeaderKeyToTheRestartedMembersLease() {
        try (EtcdDcs dcs = dcs()) {
            DcsSession before = dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY));
            assertThat(get(before.acquireLeader())).isTrue();
            DcsSession restarted = dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY));
            get(restarted.touchMember("{}"));
            long beforeRebind = restarted.writeRevision();

            assertThat(get(restarted.renewLeader(Optional.empty()))).isTrue();

            assertThat(restarted.writeRevision()).isGreaterThan(beforeRebind);
            assertThat(version(readAfterWrite(restarted), ClusterKey.LEADER)).as("rebound leader key").isEqualTo(restarted.writeRevision());
            assertThat(rawGet("/service/" + scope + "/leader").orElseThrow().getModRevision()).isEqualTo(restarted.writeRevision());
        }
    }

    @Test
    void writeRevisionMovesOnlyWithACompareAndSetOrDeleteThatSucceeded() {
        try (EtcdDcs dcs = dcs()) {
            DcsSession a = dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY));

            assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":30}", DcsEntry.ABSENT))).isTrue();
            long written = version(readAfterWrite(a), ClusterKey.CONFIG);
            assertThat(a.writeRevision()).as("compare-and-set").isEqualTo(written);

            assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":40}", DcsEntry.ABSENT))).isFalse();
            assertThat(get(a.compareAndDelete(ClusterKey.CONFIG, written + 1000))).isFalse();
            assertThat(a.writeRevision()).as("compares that failed").isEqualTo(written);

            assertThat(get(a.compareAndDelete(ClusterKey.CONFIG, written))).isTrue();
            assertThat(a.writeRevision()).as("compare-and-delete").isGreaterThan(written);
            assertThat(readAfterWrite(a).get(ClusterKey.CONFIG)).isEmpty();
        }
    }

    @Test
    void writeRevisionMovesWhenTheClusterIsDeleted() {
        try (EtcdDcs dcs = dcs()) {
            DcsSession a = dcs.open(SessionSpec.member(scope, "n1", TTL, RETRY));
            get(a.touchMember("{}"));
            long beforeDelete = a.writeRevision();

            get(a.deleteCluster());

            assertThat(a.writeRevision()).isGreaterThan(beforeDelete);
            assertThat(readAfterWrite(a).members()).isEmpty();
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = new byte[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** Counts the gRPC calls a client starts. */
    static ClientInterceptor counting(AtomicInteger counter) {
        return new ClientInterceptor() {
            @Override
            public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                counter.incrementAndGet();
                return next.newCall(method, options);
            }
        };
    }
}
