package io.pgha.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pgha.ConfigurationException;
import io.pgha.agent.config.AgentConfig;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.servers.EtcdTls;
import io.pgha.testkit.servers.ZooKeeperProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Patroni's {@code zookeeper:} TLS keys ({@code use_ssl}, {@code cacert}, {@code cert}, {@code key},
 * {@code verify}) with PEM files reach a real ZooKeeper that accepts only TLS clients with a
 * certificate its CA signed.
 */
class ZooKeeperTlsConfigTest {
    private static Path dir;
    private static EtcdTls pem;
    private static ZooKeeperProcess server;
    private static int securePort;

    @BeforeAll
    static void startServer() throws Exception {
        dir = Files.createTempDirectory("pgha-zk-pem");
        pem = EtcdTls.generate(dir);
        // ZooKeeper's server reads a PEM key store as the key and its certificate in one file
        Path bundle = dir.resolve("server-bundle.pem");
        Files.writeString(bundle, Files.readString(pem.serverKey()) + Files.readString(pem.serverCertificate()));
        securePort = ZooKeeperProcess.freePort();
        server = ZooKeeperProcess.start(Map.of(
                "secureClientPort", Integer.toString(securePort),
                "serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory",
                "authProvider.x509", "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
                "ssl.keyStore.location", bundle.toString(),
                "ssl.keyStore.type", "PEM",
                "ssl.trustStore.location", pem.ca().toString(),
                "ssl.trustStore.type", "PEM",
                "ssl.clientAuth", "need",
                // the test's client certificate names no host
                "ssl.clientHostnameVerification", "false"));
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (server != null) {
            server.close();
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private static AgentConfig config(String zookeeperTls) {
        return AgentConfig.parse("scope: tls\nname: n1\nrestapi: {listen: 127.0.0.1:8008}\n"
                + "zookeeper:\n  hosts:\n  - 127.0.0.1:" + securePort + "\n" + zookeeperTls
                + "postgresql:\n  listen: 127.0.0.1:5432\n  data_dir: /tmp/unused\n"
                + "  authentication: {replication: {username: r, password: p}}\n", "test");
    }

    @Test
    void anAgentConfiguredWithPatronisPemKeysElectsOverTls() {
        AgentConfig c = config("  use_ssl: true\n  cacert: " + pem.ca() + "\n  cert: " + pem.clientCertificate()
                + "\n  key: " + pem.clientKey() + "\n  verify: true\n");
        assertThat(c.unsupported()).noneMatch(k -> k.startsWith("zookeeper"));
        try (Dcs dcs = Stores.open(c, Duration.ofSeconds(2));
             DcsSession s = dcs.open(SessionSpec.member("tls", "n1", Duration.ofSeconds(6), Duration.ofSeconds(2)))) {
            // the first TLS connection of a JVM sets up its SSL context: let it
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> s.read().toCompletableFuture().get(5, TimeUnit.SECONDS) != null);
            assertThat(s.acquireLeader().toCompletableFuture().join()).isTrue();
            assertThat(s.read().toCompletableFuture().join().leaderName()).contains("n1");
        }
    }

    @Test
    void anEncryptedKeyWithPatronisKeyPasswordElectsOverTlsAndAWrongPassphraseIsNamed() throws Exception {
        Path encrypted = dir.resolve("client-encrypted.key");
        Process p = new ProcessBuilder("openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", pem.clientKey().toString(),
                "-out", encrypted.toString(), "-passout", "pass:zk-key-pass").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        AgentConfig c = config("  use_ssl: true\n  cacert: " + pem.ca() + "\n  cert: " + pem.clientCertificate()
                + "\n  key: " + encrypted + "\n  key_password: zk-key-pass\n");
        assertThat(c.unsupported()).noneMatch(k -> k.startsWith("zookeeper"));

        try (Dcs dcs = Stores.open(c, Duration.ofSeconds(2));
             DcsSession s = dcs.open(SessionSpec.member("tls-enc", "n1", Duration.ofSeconds(6), Duration.ofSeconds(2)))) {
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> s.read().toCompletableFuture().get(5, TimeUnit.SECONDS) != null);
            assertThat(s.acquireLeader().toCompletableFuture().join()).isTrue();
        }
        AgentConfig wrong = config("  use_ssl: true\n  cacert: " + pem.ca() + "\n  cert: " + pem.clientCertificate()
                + "\n  key: " + encrypted + "\n  key_password: not-it\n");
        assertThatThrownBy(() -> Stores.open(wrong, Duration.ofSeconds(1)))
                .isInstanceOfSatisfying(io.pgha.spi.support.PemException.class, e -> {
                    assertThat(e.setting()).isEqualTo("zookeeper.key");
                    assertThat(e.problem()).isEqualTo(io.pgha.spi.support.PemException.Problem.WRONG_PASSWORD);
                    assertThat(e.getMessage()).doesNotContain("not-it").doesNotContain("zk-key-pass");
                });
    }

    private static boolean acquires(String namespace, String setAcls) {
        AgentConfig c = AgentConfig.parse("scope: acl\nname: n1\nnamespace: " + namespace + "\nrestapi: {listen: 127.0.0.1:8008}\n"
                + "zookeeper:\n  hosts:\n  - 127.0.0.1:" + securePort + "\n  use_ssl: true\n  cacert: " + pem.ca()
                + "\n  cert: " + pem.clientCertificate() + "\n  key: " + pem.clientKey() + "\n  set_acls: " + setAcls + "\n"
                + "postgresql:\n  listen: 127.0.0.1:5432\n  data_dir: /tmp/unused\n"
                + "  authentication: {replication: {username: r, password: p}}\n", "test");
        try (Dcs dcs = Stores.open(c, Duration.ofSeconds(2));
             DcsSession s = dcs.open(SessionSpec.member("acl", "n1", Duration.ofSeconds(6), Duration.ofSeconds(2)))) {
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> s.read().toCompletableFuture().get(5, TimeUnit.SECONDS) != null);
            try {
                return s.acquireLeader().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                return false;
            }
        }
    }

    @Test
    void setAclsGivesTheZnodesPatronisX509AclsSoAnotherPrincipalsAclKeepsTheAgentOut() {
        assertThat(acquires("/acl-own-" + System.nanoTime(), "{'CN=pgha': [ALL]}"))
                .as("the agent's own certificate may do everything").isTrue();
        assertThat(acquires("/acl-other-" + System.nanoTime(), "{'CN=somebody-else': [ALL], 'CN=pgha': [READ]}"))
                .as("read-only for the agent's certificate: the namespace it made refuses its keys").isFalse();
    }

    @Test
    void withoutAClientCertificateTheServerRefusesTheAgent() {
        AgentConfig c = config("  use_ssl: true\n  cacert: " + pem.ca() + "\n");
        try (Dcs dcs = Stores.open(c, Duration.ofSeconds(1));
             DcsSession s = dcs.open(SessionSpec.member("tls", "n2", Duration.ofSeconds(6), Duration.ofSeconds(1)))) {
            assertThat(s.acquireLeader().toCompletableFuture()).failsWithin(Duration.ofSeconds(10));
        }
    }

    @Test
    void tlsKeysThatDoNotFitTogetherAreRefusedNamingTheKey() {
        assertThatThrownBy(() -> config("  use_ssl: true\n"))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("zookeeper.cacert");
        assertThatThrownBy(() -> config("  cacert: " + pem.ca() + "\n"))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("zookeeper.use_ssl");
        assertThatThrownBy(() -> config("  use_ssl: true\n  cacert: " + pem.ca() + "\n  cert: " + pem.clientCertificate() + "\n"))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("zookeeper.key");
        assertThatThrownBy(() -> config("  use_ssl: true\n  cacert: " + pem.ca() + "\n  key_password: hunter2-secret\n"))
                .as("a passphrase without a key").isInstanceOf(ConfigurationException.class).hasMessageContaining("zookeeper.key_password")
                .hasMessageNotContaining("hunter2-secret");
        assertThatThrownBy(() -> Stores.open(config("  use_ssl: true\n  cacert: " + pem.clientKey() + "\n"), Duration.ofSeconds(1)))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("zookeeper.cacert");
    }
}
