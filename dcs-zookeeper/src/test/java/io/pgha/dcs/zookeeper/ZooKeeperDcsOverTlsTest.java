package io.pgha.dcs.zookeeper;

import static io.pgha.dcs.zookeeper.ZkTestSupport.failure;
import static io.pgha.dcs.zookeeper.ZkTestSupport.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.servers.ZooKeeperProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TLS to a ZooKeeper server in its own process that serves its secure client port only to clients
 * with a certificate it trusts (certificates made with the JDK's keytool for this test run).
 */
class ZooKeeperDcsOverTlsTest {
    private static final String PASSWORD = "tls-Secret-42";
    private static final Duration RETRY = Duration.ofSeconds(2);
    private static final Duration WAIT = Duration.ofSeconds(5);

    private static Path dir;
    private static ZooKeeperProcess server;
    private static int securePort;

    @BeforeAll
    static void startServer() throws Exception {
        dir = Files.createTempDirectory("pgha-zk-tls");
        keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2", "-dname", "CN=localhost",
                "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-keystore", "server.p12", "-storetype", "PKCS12", "-storepass", PASSWORD);
        keytool("-genkeypair", "-alias", "client", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2", "-dname", "CN=pgha",
                "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-keystore", "client.p12", "-storetype", "PKCS12", "-storepass", PASSWORD);
        for (String who : List.of("server", "client")) {
            keytool("-exportcert", "-alias", who, "-keystore", who + ".p12", "-storepass", PASSWORD, "-file", who + ".crt");
            keytool("-importcert", "-noprompt", "-alias", who, "-file", who + ".crt", "-keystore", "trust.p12", "-storetype", "PKCS12",
                    "-storepass", PASSWORD);
        }
        securePort = ZooKeeperProcess.freePort();
        server = ZooKeeperProcess.start(Map.of(
                "secureClientPort", Integer.toString(securePort),
                "serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory",
                "authProvider.x509", "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
                "ssl.keyStore.location", dir.resolve("server.p12").toString(),
                "ssl.keyStore.password", PASSWORD,
                "ssl.trustStore.location", dir.resolve("trust.p12").toString(),
                "ssl.trustStore.password", PASSWORD,
                "ssl.clientAuth", "need"));
        ZkTestSupport.warmUp(server.connectString());
    }

    @AfterAll
    static void stopServer() throws IOException {
        if (server != null) {
            server.close();
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("keytool " + args[0] + " failed: " + out);
        }
    }

    private static String secure() {
        return "127.0.0.1:" + securePort;
    }

    @Test
    void aClientWithTheRightCertificateElectsOverTls() {
        try (ZooKeeperDcs dcs = ZooKeeperDcs.builder().connectString(secure())
                .tls(dir.resolve("trust.p12"), PASSWORD).tlsClientCertificate(dir.resolve("client.p12"), PASSWORD).build()) {
            DcsSession a = dcs.open(SessionSpec.member("tls", "a", Duration.ofSeconds(6), RETRY));
            // the first TLS connection of a JVM sets up its SSL context: let it, then hold the calls to their bound
            await().atMost(Duration.ofSeconds(30)).ignoreExceptionsInstanceOf(DcsUnreachableException.class)
                    .until(() -> get(a.read(), WAIT) != null);
            assertThat(get(a.acquireLeader(), WAIT)).isTrue();
            assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT), WAIT)).isTrue();
            assertThat(get(a.read(), WAIT).leaderName()).contains("a");
            assertThat(dcs.toString()).doesNotContain(PASSWORD);
        }
    }

    @Test
    void withoutTlsOrWithoutACertificateTheSecurePortIsUnreachableAndNoPasswordShows() {
        try (ZooKeeperDcs plain = ZooKeeperDcs.builder().connectString(secure()).build();
             ZooKeeperDcs noCert = ZooKeeperDcs.builder().connectString(secure()).tls(dir.resolve("trust.p12"), PASSWORD).build()) {
            for (ZooKeeperDcs d : List.of(plain, noCert)) {
                DcsSession a = d.open(SessionSpec.member("tls", "a", Duration.ofSeconds(6), RETRY));
                Throwable t = failure(a.acquireLeader(), WAIT);
                assertThat(t).isInstanceOf(DcsUnreachableException.class);
                for (Throwable c = t; c != null; c = c.getCause()) {
                    assertThat(String.valueOf(c.getMessage())).doesNotContain(PASSWORD);
                }
                assertThat(d.toString()).doesNotContain(PASSWORD);
            }
        }
    }
}
