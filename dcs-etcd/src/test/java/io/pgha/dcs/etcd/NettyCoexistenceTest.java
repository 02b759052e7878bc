package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.Stages.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.dcs.etcd.Stages.Recorder;
import io.pgha.testkit.servers.EtcdCluster;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.support.Observers;
import java.util.concurrent.CompletableFuture;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.junit.jupiter.api.Test;

/**
 * jetcd (gRPC on Netty, Vert.x 5 on Netty 4.2) and ZooKeeper (Netty 4.1 by default) share one
 * classpath here, as they do in a service that embeds pgha next to Kafka or Curator; ZooKeeper runs
 * its server and client on Netty too. Without the netty-bom import in the parent POM, Maven picks
 * ZooKeeper's Netty 4.1.113: pgha's own calls still work (they never start jetcd's Vert.x
 * instance), but jetcd's background keep-alive fails with
 * {@code NoClassDefFoundError: io/netty/channel/MultiThreadIoEventLoopGroup} (checked by removing
 * the import), so a host service sharing its jetcd client would break.
 */
class NettyCoexistenceTest {

    @Test
    void jetcdKeepAlivesAndWatchesWorkWhileAZooKeeperServerRunsInTheSameJvm() throws Exception {
        // ZooKeeper on Netty too, server and client, so both Netty users are busy in this JVM
        String factory = System.setProperty("zookeeper.serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory");
        try (TestingServer zk = new TestingServer(true);
             EtcdCluster etcd = EtcdCluster.single();
             EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build();
             ZooKeeper zkClient = nettyClient(zk.getConnectString())) {
            zkClient.create("/before", "1".getBytes(StandardCharsets.UTF_8), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);

            DcsSession a = dcs.open(SessionSpec.member("netty", "a", Duration.ofSeconds(2), Duration.ofSeconds(5)));
            Recorder heard = new Recorder();
            a.watch(heard);
            await().atMost(Duration.ofSeconds(10)).until(heard::heardUnknown);
            get(a.touchMember("{}"));                               // lease grant + put
            assertThat(get(a.acquireLeader())).isTrue();            // keepAliveOnce + txn
            assertThat(get(a.renewLeader(Optional.empty()))).isTrue();
            assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT))).isTrue();
            await().atMost(Duration.ofSeconds(5)).until(() -> heard.heard("config") && heard.heard("leader"));

            // jetcd's own background keep-alive runs on Vert.x, the part of jetcd that needs Netty 4.2
            // (pgha does not use it, but a host service sharing its client may)
            try (Client raw = Client.builder().endpoints(etcd.clientUrl()).build()) {
                long lease = get(raw.getLeaseClient().grant(5)).getID();
                CompletableFuture<LeaseKeepAliveResponse> first = new CompletableFuture<>();
                try (CloseableClient ka = raw.getLeaseClient().keepAlive(lease, Observers.<LeaseKeepAliveResponse>builder().onNext(first::complete).onError(first::completeExceptionally).build())) {
                    assertThat(get(first).getTTL()).isPositive();
                }
            }
            zkClient.create("/after", "2".getBytes(StandardCharsets.UTF_8), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
            assertThat(zkClient.getChildren("/", false)).contains("before", "after");
            assertThat(io.netty.util.Version.identify().get("netty-common").artifactVersion()).startsWith("4.2.");
        } finally {
            if (factory == null) {
                System.clearProperty("zookeeper.serverCnxnFactory");
            } else {
                System.setProperty("zookeeper.serverCnxnFactory", factory);
            }
        }
    }

    private static ZooKeeper nettyClient(String connect) throws Exception {
        ZKClientConfig config = new ZKClientConfig();
        config.setProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(connect, 10_000, e -> {
            if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                connected.countDown();
            }
        }, config);
        assertThat(connected.await(10, TimeUnit.SECONDS)).as("ZooKeeper client connected").isTrue();
        return zk;
    }
}
