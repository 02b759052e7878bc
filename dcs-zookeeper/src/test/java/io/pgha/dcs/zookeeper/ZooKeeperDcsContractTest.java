package io.pgha.dcs.zookeeper;

import io.pgha.spi.Dcs;
import io.pgha.testkit.DcsContractTest;
import java.io.IOException;
import java.net.ServerSocket;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The contract every store keeps, against a real ZooKeeper server (curator-test's, in this JVM). */
class ZooKeeperDcsContractTest extends DcsContractTest {
    private static TestingServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = new TestingServer(true);
        ZkTestSupport.warmUp(server.getConnectString());
    }

    @AfterAll
    static void stopServer() throws IOException {
        server.close();
    }

    @Override
    protected Dcs createDcs() {
        return ZooKeeperDcs.builder().endpoints(server.getConnectString()).build();
    }

    @Override
    protected Dcs createUnreachableDcs() {
        return ZooKeeperDcs.builder().endpoints("127.0.0.1:" + closedPort()).build();
    }

    /** A loopback port nobody listens on (taken and released again). */
    static int closedPort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
