package io.pgha.dcs.zookeeper;

import io.pgha.spi.Dcs;
import io.pgha.testkit.DcsContractTest;
import io.pgha.testkit.servers.ZooKeeperProcess;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The whole contract again, against a ZooKeeper server in a separate process (QuorumPeerMain from
 * the zookeeper jar), so nothing depends on sharing a JVM with the server.
 */
class ZooKeeperDcsOnSeparateProcessContractTest extends DcsContractTest {
    private static ZooKeeperProcess server;

    @BeforeAll
    static void startServer() throws Exception {
        server = ZooKeeperProcess.start(Map.of());
        ZkTestSupport.warmUp(server.connectString());
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Override
    protected Dcs createDcs() {
        return ZooKeeperDcs.builder().endpoints(server.connectString()).build();
    }

    @Override
    protected Dcs createUnreachableDcs() {
        return ZooKeeperDcs.builder().endpoints("127.0.0.1:" + ZooKeeperDcsContractTest.closedPort()).build();
    }
}
