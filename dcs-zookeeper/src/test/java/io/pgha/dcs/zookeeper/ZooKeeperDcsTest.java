package io.pgha.dcs.zookeeper;

import static io.pgha.dcs.zookeeper.ZkTestSupport.failure;
import static io.pgha.dcs.zookeeper.ZkTestSupport.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pgha.ConfigurationException;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.imps.CuratorFrameworkState;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.Stat;
import org.assertj.core.api.AbstractThrowableAssert;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the contract suite does not cover: Patroni's layout, bad data, credentials, shared clients, the builder. */
class ZooKeeperDcsTest {
    private static final Duration TTL = Duration.ofSeconds(3);
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final Duration WAIT = Duration.ofSeconds(3);
    private static final AtomicInteger SCOPES = new AtomicInteger();

    private static TestingServer server;
    private static CuratorFramework raw;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final String scope = "dcs" + SCOPES.incrementAndGet();

    @BeforeAll
    static void startServer() throws Exception {
        server = new TestingServer(true);
        ZkTestSupport.warmUp(server.getConnectString());
        raw = ZkTestSupport.rawClient(server.getConnectString());
    }

    @AfterAll
    static void stopServer() throws Exception {
        raw.close();
        server.close();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        closeables.add(c);
        return c;
    }

    private ZooKeeperDcs.Builder builder() {
        return ZooKeeperDcs.builder().endpoints(server.getConnectString());
    }

    private ZooKeeperDcs dcs() {
        return closeLater(builder().build());
    }

    private DcsSession member(ZooKeeperDcs dcs, String name) {
        return closeLater(dcs.open(SessionSpec.member(scope, name, TTL, RETRY)));
    }

    private DcsSession observer(ZooKeeperDcs dcs) {
        return closeLater(dcs.open(SessionSpec.observer(scope, RETRY)));
    }

    private static String text(String path) throws Exception {
        return new String(raw.getData().forPath(path), StandardCharsets.UTF_8);
    }

    private static Stat stat(String path) {
        return ZkTestSupport.stat(raw, path).orElse(null);
    }

    // ------------------------------------------------------------------ layout

    @Test
    void everyKeyLivesAtPatronisPathAsTheExactUtf8Text() throws Exception {
        DcsSession a = member(dcs(), "a");
        String member = "{\"conn_url\":\"postgres://10.0.0.1:5432/postgres\",\"api_url\":\"http://10.0.0.1:8008/patroni\",\"state\":\"running\"}";
        get(a.touchMember(member), WAIT);
        assertThat(get(a.acquireLeader(), WAIT)).isTrue();
        assertThat(get(a.renewLeader(Optional.of("{\"optime\":67108960}")), WAIT)).isTrue();
        assertThat(get(a.compareAndSet(ClusterKey.INITIALIZE, "7123456789012345678", DcsEntry.ABSENT), WAIT)).isTrue();
        assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":30,\"loop_wait\":10}", DcsEntry.ABSENT), WAIT)).isTrue();
        assertThat(get(a.compareAndSet(ClusterKey.FAILOVER, "{\"leader\":\"a\",\"member\":\"b\"}", DcsEntry.ABSENT), WAIT)).isTrue();
        assertThat(get(a.compareAndSet(ClusterKey.SYNC, "{\"leader\":\"a\",\"sync_standby\":null}", DcsEntry.ABSENT), WAIT)).isTrue();
        assertThat(get(a.compareAndSet(ClusterKey.HISTORY, "[]", DcsEntry.ABSENT), WAIT)).isTrue();

        String base = "/service/" + scope;
        assertThat(text(base + "/leader")).isEqualTo("a");
        assertThat(text(base + "/members/a")).isEqualTo(member);
        assertThat(text(base + "/status")).isEqualTo("{\"optime\":67108960}");
        assertThat(text(base + "/initialize")).isEqualTo("7123456789012345678");
        assertThat(text(base + "/config")).isEqualTo("{\"ttl\":30,\"loop_wait\":10}");
        assertThat(text(base + "/failover")).isEqualTo("{\"leader\":\"a\",\"member\":\"b\"}");
        assertThat(text(base + "/sync")).isEqualTo("{\"leader\":\"a\",\"sync_standby\":null}");
        assertThat(text(base + "/history")).isEqualTo("[]");
        long session = ZkTestSupport.sessionId(a);
        assertThat(stat(base + "/leader").getEphemeralOwner()).as("the leader key is an ephemeral node of the session").isEqualTo(session);
        assertThat(stat(base + "/members/a").getEphemeralOwner()).isEqualTo(session);
        for (String persistent : List.of("status", "initialize", "config", "failover", "sync", "history")) {
            assertThat(stat(base + "/" + persistent).getEphemeralOwner()).as(persistent).isZero();
        }

        ClusterSnapshot s = get(observer(dcs()).read(), WAIT);
        assertThat(s.get(ClusterKey.CONFIG).orElseThrow().version()).as("a new znode's version").isZero();
        assertThat(s.members().get("a").value()).isEqualTo(member);
        assertThat(s.revision()).isPositive();
    }

    @Test
    void aChrootAndANamespaceMoveTheWholeCluster() throws Exception {
        DcsSession a = member(closeLater(builder().chroot("/pgha").namespace("/svc").build()), "a");
        assertThat(get(a.acquireLeader(), WAIT)).isTrue();
        assertThat(text("/pgha/svc/" + scope + "/leader")).isEqualTo("a");
        assertThat(stat("/service/" + scope + "/leader")).isNull();
        assertThat(get(observer(dcs()).read(), WAIT).leaderName()).as("the default namespace sees nothing").isEmpty();
    }

    @Test
    void aCorruptOrForeignValueIsSkippedWithAWarningNotAFailure() throws Exception {
        String base = "/service/" + scope;
        raw.create().creatingParentsIfNeeded().forPath(base + "/config", new byte[] {(byte) 0xC3, 0x28});
        raw.create().creatingParentsIfNeeded().forPath(base + "/members/x", new byte[] {(byte) 0xFF, (byte) 0xFE});
        raw.create().creatingParentsIfNeeded().forPath(base + "/members/y", "{\"state\":\"running\"}".getBytes(StandardCharsets.UTF_8));
        raw.create().creatingParentsIfNeeded().forPath(base + "/optime/leader", "123".getBytes(StandardCharsets.UTF_8));
        raw.create().creatingParentsIfNeeded().forPath(base + "/somebody-elses", "x".getBytes(StandardCharsets.UTF_8));
        raw.create().creatingParentsIfNeeded().forPath(base + "/initialize", new byte[0]);
        DcsSession a = member(dcs(), "a");
        assertThat(get(a.acquireLeader(), WAIT)).isTrue();

        ClusterSnapshot s = get(a.read(), WAIT);
        assertThat(s.get(ClusterKey.CONFIG)).as("non-UTF-8 bytes are not a value").isEmpty();
        assertThat(s.members()).containsOnlyKeys("y");
        assertThat(s.get(ClusterKey.INITIALIZE).orElseThrow().value()).as("an empty znode reads as \"\"").isEmpty();
        assertThat(s.leaderName()).contains("a");
        // the engine can still repair the broken key by compare-and-set on its version
        Stat config = stat(base + "/config");
        assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{}", config.getVersion()), WAIT)).isTrue();
        assertThat(get(a.read(), WAIT).get(ClusterKey.CONFIG).orElseThrow().value()).isEqualTo("{}");
    }

    @Test
    void aMemberListChangingDuringTheReadStillGivesOneConsistentSnapshot() {
        ZooKeeperDcs d = dcs();
        DcsSession o = observer(d);
        List<DcsSession> members = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            DcsSession m = member(d, "m" + i);
            members.add(m);
            get(m.touchMember("{\"i\":" + i + "}"), WAIT);
            ClusterSnapshot s = get(o.read(), WAIT);
            assertThat(s.members()).hasSize(i + 1);
        }
        members.get(2).close();
        assertThat(get(o.read(), WAIT).members()).doesNotContainKey("m2").hasSize(4);
    }

    // ------------------------------------------------------------------ fresh reads

    @Test
    void anAuthoritativeReadShowsWhatAnotherClientHasJustWritten() {
        DcsSession reader = member(dcs(), "reader");
        assertThat(get(reader.readAuthoritative(), WAIT).isEmpty()).as("a cluster that does not exist yet").isTrue();
        DcsSession writer = member(dcs(), "writer");
        get(writer.touchMember("{\"w\":1}"), WAIT);
        assertThat(get(writer.acquireLeader(), WAIT)).isTrue();
        assertThat(get(writer.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":30}", DcsEntry.ABSENT), WAIT)).isTrue();
        assertThat(ZkTestSupport.sessionId(writer)).as("another client").isNotEqualTo(ZkTestSupport.sessionId(reader));

        ClusterSnapshot s = get(reader.readAuthoritative(), WAIT);
        assertThat(s.leaderName()).contains("writer");
        assertThat(s.members().get("writer").value()).isEqualTo("{\"w\":1}");
        assertThat(s.get(ClusterKey.CONFIG).map(DcsEntry::value)).contains("{\"ttl\":30}");
        assertThat(s.revision()).isGreaterThanOrEqualTo(writer.writeRevision());
    }

    @Test
    void theWriteRevisionIsTheZxidOfTheNewestWriteAndADeleteLeavesItUnchanged() {
        String base = "/service/" + scope;
        DcsSession a = member(dcs(), "a");
        assertThat(a.writeRevision()).as("nothing written yet").isZero();
        get(a.touchMember("{\"v\":1}"), WAIT);
        assertThat(a.writeRevision()).as("the member entry created").isEqualTo(stat(base + "/members/a").getCzxid());
        assertThat(get(a.acquireLeader(), WAIT)).isTrue();
        assertThat(a.writeRevision()).as("the leader key created").isEqualTo(stat(base + "/leader").getCzxid());
        assertThat(get(a.renewLeader(Optional.of("{\"optime\":1}")), WAIT)).isTrue();
        assertThat(a.writeRevision()).as("the status created").isEqualTo(stat(base + "/status").getMzxid());
        long beforeIdleRenewal = a.writeRevision();
        assertThat(get(a.renewLeader(Optional.of("{\"optime\":1}")), WAIT)).isTrue();
        assertThat(a.writeRevision()).as("a renewal that wrote nothing").isEqualTo(beforeIdleRenewal);
        get(a.touchMember("{\"v\":2}"), WAIT);
        assertThat(a.writeRevision()).as("the member entry replaced").isEqualTo(stat(base + "/members/a").getMzxid());
        assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT), WAIT)).isTrue();
        assertThat(a.writeRevision()).as("a key created by compare-and-set").isEqualTo(stat(base + "/config").getCzxid());
        assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":30}", 0), WAIT)).isTrue();
        assertThat(a.writeRevision()).as("a key replaced by compare-and-set").isEqualTo(stat(base + "/config").getMzxid());

        long beforeDelete = a.writeRevision();
        assertThat(get(a.releaseLeader(), WAIT)).isTrue();
        assertThat(a.writeRevision()).as("a delete reports no zxid").isEqualTo(beforeDelete);
        assertThat(get(a.read(), WAIT).revision()).as("but the read shows it happened later").isGreaterThan(beforeDelete);

        // a restarted member takes over its entry and its leader key in transactions, which report their zxid too
        assertThat(get(a.acquireLeader(), WAIT)).isTrue();
        DcsSession restarted = member(dcs(), "a");
        get(restarted.touchMember("{\"v\":3}"), WAIT);
        Stat entry = stat(base + "/members/a");
        assertThat(entry.getEphemeralOwner()).as("replaced under the new session").isEqualTo(ZkTestSupport.sessionId(restarted));
        assertThat(restarted.writeRevision()).as("the member entry replaced in a transaction").isEqualTo(entry.getCzxid());
        assertThat(get(restarted.renewLeader(Optional.empty()), WAIT)).isTrue();
        Stat leader = stat(base + "/leader");
        assertThat(leader.getEphemeralOwner()).as("rebound to the new session").isEqualTo(ZkTestSupport.sessionId(restarted));
        assertThat(restarted.writeRevision()).as("the leader key rebound in a transaction").isEqualTo(leader.getCzxid());
    }

    // ------------------------------------------------------------------ the lease

    @Test
    void aLeaseNotRenewedWithinTtlEndsItsKeysGoAndItIsReportedLost() throws Exception {
        DcsSession a = member(dcs(), "a");
        ZkTestSupport.Recorder heard = new ZkTestSupport.Recorder();
        closeLater(a.watch(heard));
        get(a.touchMember("{}"), WAIT);
        long sent = System.nanoTime();
        assertThat(get(a.acquireLeader(), WAIT)).isTrue();
        await().atMost(TTL.plus(WAIT)).until(() -> !heard.lost.isEmpty());
        assertThat(System.nanoTime() - sent).as("not before the ttl").isGreaterThanOrEqualTo(TTL.toNanos());
        assertThat(heard.lost.get(0)).contains("not renewed within ttl");
        await().atMost(WAIT).until(() -> stat("/service/" + scope + "/leader") == null && stat("/service/" + scope + "/members/a") == null);
        assertThat(get(a.renewLeader(Optional.empty()), WAIT)).as("an absent key is created again by renewal").isTrue();
    }

    @Test
    void aServerThatGrantsAShorterSessionThanTheTtlIsRefusedWithTheFix(@TempDir File dir) throws Exception {
        InstanceSpec spec = new InstanceSpec(dir, -1, -1, -1, false, -1, 500, -1, Map.of("maxSessionTimeout", "2000"));
        try (TestingServer small = new TestingServer(spec, true);
             ZooKeeperDcs d = ZooKeeperDcs.builder().endpoints(small.getConnectString()).build()) {
            DcsSession a = d.open(SessionSpec.member(scope, "a", Duration.ofSeconds(6), RETRY));
            Throwable t = failure(a.acquireLeader(), WAIT);
            assertThat(t).isInstanceOf(DcsException.class).isNotInstanceOf(DcsUnreachableException.class)
                    .hasMessageContaining("2000 ms").hasMessageContaining("maxSessionTimeout");
            assertThat(failure(a.renewLeader(Optional.empty()), WAIT)).isInstanceOf(DcsException.class);
            assertThat(failure(a.touchMember("{}"), WAIT)).isInstanceOf(DcsException.class);
            assertThat(get(a.read(), WAIT).leaderName()).as("reads still work").isEmpty();
        }
    }

    // ------------------------------------------------------------------ credentials

    @Test
    void digestCredentialsAndAnAclKeepOthersOutWithoutThePasswordEverShowing() {
        String password = "s3cret-Pa55";
        ZooKeeperDcs owner = closeLater(builder().credentials("pgha", password).acl(ZooDefs.Ids.CREATOR_ALL_ACL).build());
        DcsSession a = member(owner, "a");
        assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT), WAIT)).isTrue();
        assertThat(get(a.acquireLeader(), WAIT)).isTrue();

        ZooKeeperDcs sameUser = closeLater(builder().credentials("pgha", password).build());
        assertThat(get(observer(sameUser).read(), WAIT).leaderName()).contains("a");

        ZooKeeperDcs stranger = closeLater(builder().credentials("pgha", "wrong").build());
        DcsSession o = observer(stranger);
        Throwable read = failure(o.read(), WAIT);
        assertThat(read).isInstanceOf(DcsException.class).isNotInstanceOf(DcsUnreachableException.class)
                .hasMessageContaining("NoAuth");
        Throwable write = failure(o.compareAndSet(ClusterKey.CONFIG, "{\"x\":1}", 0), WAIT);
        assertThat(write).isInstanceOf(DcsException.class).isNotInstanceOf(DcsUnreachableException.class);
        for (Throwable t : List.of(read, write)) {
            for (Throwable c = t; c != null; c = c.getCause()) {
                assertThat(String.valueOf(c.getMessage())).doesNotContain(password);
            }
        }
        assertThat(owner.toString()).doesNotContain(password).contains("pgha:***");
    }

    // ------------------------------------------------------------------ a shared client

    private CuratorFramework hostClient(int sessionTimeoutMs) throws InterruptedException {
        CuratorFramework c = CuratorFrameworkFactory.builder().connectString(server.getConnectString())
                .sessionTimeoutMs(sessionTimeoutMs).connectionTimeoutMs(5000).retryPolicy(new RetryOneTime(100)).build();
        c.start();
        assertThat(c.blockUntilConnected(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        return c;
    }

    @Test
    void aSharedClientCarriesTheLeaseAndIsLeftOpen() throws Exception {
        try (CuratorFramework host = hostClient(10_000)) {
            ZooKeeperDcs d = ZooKeeperDcs.builder().client(host).build();
            DcsSession a = d.open(SessionSpec.member(scope, "a", Duration.ofSeconds(6), RETRY));
            get(a.touchMember("{}"), WAIT);
            assertThat(get(a.acquireLeader(), WAIT)).isTrue();
            long hostSession = host.getZookeeperClient().getZooKeeper().getSessionId();
            assertThat(stat("/service/" + scope + "/leader").getEphemeralOwner()).isEqualTo(hostSession);
            assertThat(get(a.renewLeader(Optional.empty()), WAIT)).isTrue();

            a.close();
            assertThat(stat("/service/" + scope + "/leader")).as("closing removes our keys").isNull();
            assertThat(stat("/service/" + scope + "/members/a")).isNull();
            d.close();
            assertThat(host.getState()).isEqualTo(CuratorFrameworkState.STARTED);
            assertThat(host.getZookeeperClient().getZooKeeper().getSessionId()).isEqualTo(hostSession);
            assertThat(host.checkExists().forPath("/service/" + scope)).as("the host's client still works").isNotNull();
        }
    }

    @Test
    void withASharedClientAnUnrenewedLeaseDeletesOurKeysButLeavesTheHostsSession() throws Exception {
        try (CuratorFramework host = hostClient(10_000); ZooKeeperDcs d = ZooKeeperDcs.builder().client(host).build()) {
            DcsSession a = d.open(SessionSpec.member(scope, "a", TTL, RETRY));
            ZkTestSupport.Recorder heard = new ZkTestSupport.Recorder();
            a.watch(heard);
            get(a.touchMember("{}"), WAIT);
            assertThat(get(a.acquireLeader(), WAIT)).isTrue();
            long hostSession = host.getZookeeperClient().getZooKeeper().getSessionId();
            await().atMost(TTL.plus(WAIT)).until(() -> stat("/service/" + scope + "/leader") == null
                    && stat("/service/" + scope + "/members/a") == null);
            assertThat(heard.lost).isNotEmpty();
            assertThat(host.getZookeeperClient().getZooKeeper().getSessionId()).isEqualTo(hostSession);
        }
    }

    @Test
    void aSharedClientWhoseSessionIsShorterThanTheTtlIsRefused() throws Exception {
        try (CuratorFramework host = hostClient(2_000); ZooKeeperDcs d = ZooKeeperDcs.builder().client(host).build()) {
            DcsSession a = d.open(SessionSpec.member(scope, "a", Duration.ofSeconds(6), RETRY));
            assertThat(failure(a.acquireLeader(), WAIT)).isInstanceOf(DcsException.class)
                    .hasMessageContaining("shared client's session timeout");
        }
    }

    // ------------------------------------------------------------------ the builder

    @Test
    void theBuilderRejectsBadSettingsAndNamesThem() throws Exception {
        refused(() -> ZooKeeperDcs.builder().endpoints("zk1:2181/pgha"), "zookeeper.hosts").hasMessageContaining("chroot");
        refused(() -> ZooKeeperDcs.builder().endpoints(" "), "zookeeper.hosts");
        refused(() -> ZooKeeperDcs.builder().endpoints(), "zookeeper.hosts");
        refused(() -> ZooKeeperDcs.builder().endpoints(List.of()), "zookeeper.hosts");
        refused(() -> ZooKeeperDcs.builder().endpoints("zk1:notaport"), "zookeeper.hosts");
        refused(() -> ZooKeeperDcs.builder().endpoints("zk1:0"), "zookeeper.hosts");
        refused(() -> ZooKeeperDcs.builder().endpoints("zk1:65536"), "zookeeper.hosts");
        refused(() -> ZooKeeperDcs.builder().endpoints("zk1:2181,zk2:2181"), "zookeeper.hosts").hasMessageContaining("own");
        refused(() -> ZooKeeperDcs.builder().endpoints("zk1:2181", " zk1:2181"), "zookeeper.hosts").hasMessageContaining("twice");
        assertThatThrownBy(() -> ZooKeeperDcs.builder().endpoints("zk1:2181", null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ZooKeeperDcs.builder().endpoints((String[]) null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ZooKeeperDcs.builder().endpoints((List<String>) null)).isInstanceOf(NullPointerException.class);
        refused(() -> ZooKeeperDcs.builder().namespace("service"), "namespace");
        refused(() -> ZooKeeperDcs.builder().chroot("/a/"), "zookeeper.chroot");
        refused(() -> ZooKeeperDcs.builder().credentials("a:b", "pw"), "zookeeper.auth");
        refused(() -> ZooKeeperDcs.builder().credentials("a", ""), "zookeeper.auth");
        refused(() -> ZooKeeperDcs.builder().acl(List.of()), "zookeeper.set_acls");
        refused(() -> ZooKeeperDcs.builder().clientProperty(" ", "x"), "zookeeper.client_property");
        refused(() -> ZooKeeperDcs.builder().clientProperty("zookeeper.request.timeout", "5"), "zookeeper.client_property");
        refused(() -> ZooKeeperDcs.builder().build(), "zookeeper.hosts").hasMessageContaining("required");
        try (CuratorFramework host = CuratorFrameworkFactory.newClient(server.getConnectString(), new RetryOneTime(1))) {
            refused(() -> ZooKeeperDcs.builder().client(host).endpoints("a:1").build(), "zookeeper.hosts")
                    .hasMessageContaining("cannot both");
            refused(() -> ZooKeeperDcs.builder().client(host).credentials("u", "topsecret").build(), "zookeeper.client")
                    .hasMessageNotContaining("topsecret");
        }
        try (ZooKeeperDcs d = ZooKeeperDcs.builder().endpoints(List.of("a:1", "[::1]:2181", "b")).build()) {
            assertThat(d.settings().connectString()).contains("a:1,[::1]:2181,b");
            assertThatThrownBy(() -> d.open(SessionSpec.member("s", "m", Duration.ofDays(30), RETRY)))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void everySetterRefusesASecondCallNamingItsSetting(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("any.pem"), "read at build() only");
        try (CuratorFramework host = CuratorFrameworkFactory.newClient(server.getConnectString(), new RetryOneTime(1))) {
            Map<String, Consumer<ZooKeeperDcs.Builder>> setters = new LinkedHashMap<>();
            setters.put("zookeeper.hosts", b -> b.endpoints("a:1"));
            setters.put("zookeeper.hosts ", b -> b.endpoints(List.of("b:2")));
            setters.put("zookeeper.client", b -> b.client(host));
            setters.put("namespace", b -> b.namespace("/service"));
            setters.put("zookeeper.chroot", b -> b.chroot("/pgha"));
            setters.put("zookeeper.auth", b -> b.credentials("u", "topsecret"));
            setters.put("zookeeper.set_acls", b -> b.acl(ZooDefs.Ids.OPEN_ACL_UNSAFE));
            setters.put("zookeeper.cacert", b -> b.trustedCa(file));
            setters.put("zookeeper.cert", b -> b.clientCertificate(file, file));
            setters.put("zookeeper.client_property", b -> b.clientProperty("zookeeper.sasl.client", "false"));
            setters.forEach((setting, setter) -> {
                ZooKeeperDcs.Builder b = ZooKeeperDcs.builder();
                setter.accept(b);
                // both endpoints overloads set the same thing
                Consumer<ZooKeeperDcs.Builder> again = setting.startsWith("zookeeper.hosts")
                        ? x -> x.endpoints("c:3") : setter;
                refused(() -> again.accept(b), setting.trim()).hasMessageContaining("already set").hasMessageNotContaining("topsecret");
            });
        }
        ZooKeeperDcs.Builder b = ZooKeeperDcs.builder().clientProperty("zookeeper.sasl.client", "false");
        b.clientProperty("zookeeper.sasl.clientconfig", "Client");
        refused(() -> b.clientProperty("zookeeper.sasl.client", "true"), "zookeeper.client_property")
                .hasMessageContaining("zookeeper.sasl.client");
        for (Runnable nulls : List.<Runnable>of(() -> ZooKeeperDcs.builder().client(null), () -> ZooKeeperDcs.builder().namespace(null),
                () -> ZooKeeperDcs.builder().chroot(null), () -> ZooKeeperDcs.builder().credentials("u", null),
                () -> ZooKeeperDcs.builder().acl(null), () -> ZooKeeperDcs.builder().trustedCa(null),
                () -> ZooKeeperDcs.builder().clientCertificate(file, null), () -> ZooKeeperDcs.builder().clientProperty("p", null))) {
            assertThatThrownBy(nulls::run).isInstanceOf(NullPointerException.class);
        }
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> refused(ThrowingCallable call, String setting) {
        return assertThatThrownBy(call).isInstanceOfSatisfying(ConfigurationException.class,
                e -> assertThat(e.setting()).isEqualTo(setting));
    }

    @Test
    void closingTheStoreEndsItsOpenSessionsAndTheirKeysGoAtOnce() {
        ZooKeeperDcs d = builder().build();
        DcsSession a = d.open(SessionSpec.member(scope, "a", Duration.ofSeconds(20), RETRY));
        get(a.touchMember("{}"), WAIT);
        assertThat(get(a.acquireLeader(), WAIT)).isTrue();
        d.close();
        assertThat(stat("/service/" + scope + "/leader")).isNull();
        assertThat(stat("/service/" + scope + "/members/a")).isNull();
        assertThatThrownBy(() -> d.open(SessionSpec.observer(scope, RETRY))).isInstanceOf(IllegalStateException.class);
    }
}
