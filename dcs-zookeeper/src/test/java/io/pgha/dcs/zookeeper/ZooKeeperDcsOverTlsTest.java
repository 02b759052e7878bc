package io.pgha.dcs.zookeeper;

import static io.pgha.dcs.zookeeper.ZkTestSupport.failure;
import static io.pgha.dcs.zookeeper.ZkTestSupport.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pgha.ConfigurationException;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.servers.EtcdTls;
import io.pgha.testkit.servers.ZooKeeperProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TLS from PEM files to a ZooKeeper server in its own process that serves its secure client port
 * only to clients with a certificate its CA signed (certificates made with {@code openssl} for this
 * test run, by the testkit's {@link EtcdTls}); and the builder's checks of those files.
 */
class ZooKeeperDcsOverTlsTest {
    private static final Duration RETRY = Duration.ofSeconds(2);
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final String KEY_STORE = "zookeeper.ssl.keyStore.location";

    private static Path dir;
    private static EtcdTls pem;
    private static ZooKeeperProcess server;
    private static int securePort;

    @BeforeAll
    static void startServer() throws Exception {
        Assumptions.assumeTrue(EtcdTls.opensslAvailable(), "needs the openssl command to make certificates");
        dir = Files.createTempDirectory("pgha-zk-tls");
        pem = EtcdTls.generate(dir.resolve("certs"));
        securePort = ZooKeeperProcess.freePort();
        server = ZooKeeperProcess.start(ZooKeeperProcess.secureClientPortConfig(pem, securePort));
        ZkTestSupport.warmUp(server.connectString());
    }

    @AfterAll
    static void stopServer() throws IOException {
        if (server != null) {
            server.close();
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private static String secure() {
        return "127.0.0.1:" + securePort;
    }

    private static ZooKeeperDcs.Builder tls() {
        return ZooKeeperDcs.builder().endpoints(secure()).trustedCa(pem.ca());
    }

    /** A member elects itself, writes and reads over TLS. */
    private static void electsOverTls(ZooKeeperDcs dcs, String scope) {
        DcsSession a = dcs.open(SessionSpec.member(scope, "a", Duration.ofSeconds(6), RETRY));
        // the first TLS connection of a JVM sets up its SSL context: let it, then hold the calls to their bound
        await().atMost(Duration.ofSeconds(30)).ignoreExceptionsInstanceOf(DcsUnreachableException.class)
                .until(() -> get(a.read(), WAIT) != null);
        assertThat(get(a.acquireLeader(), WAIT)).isTrue();
        assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT), WAIT)).isTrue();
        assertThat(get(a.read(), WAIT).leaderName()).contains("a");
    }

    @Test
    void separateCertificateAndKeyFilesElectOverTlsThroughAnOwnerOnlyJoinedFileThatCloseDeletes() throws Exception {
        Path joined;
        try (ZooKeeperDcs dcs = tls().clientCertificate(pem.clientCertificate(), pem.clientKey()).build()) {
            joined = Path.of(dcs.settings().clientProperties().get(KEY_STORE));
            assertThat(joined).isNotEqualTo(pem.clientCertificate()).isNotEqualTo(pem.clientKey()).isRegularFile();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(joined))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(joined.getParent()))).isEqualTo("rwx------");
            assertThat(Files.readString(joined)).startsWith("-----BEGIN PRIVATE KEY-----").contains("-----BEGIN CERTIFICATE-----");
            assertThat(dcs.settings().clientProperties())
                    .containsEntry("zookeeper.ssl.keyStore.type", "PEM")
                    .containsEntry("zookeeper.ssl.trustStore.type", "PEM")
                    .containsEntry("zookeeper.ssl.trustStore.location", pem.ca().toString())
                    .doesNotContainKeys("zookeeper.ssl.keyStore.password", "zookeeper.ssl.trustStore.password");
            electsOverTls(dcs, "separate");
        }
        assertThat(joined).doesNotExist();
        assertThat(joined.getParent()).doesNotExist();
        assertThat(pem.clientCertificate()).as("the caller's files stay").isRegularFile();
        assertThat(pem.clientKey()).isRegularFile();
    }

    @Test
    void oneFileWithTheKeyAndTheCertificateIsUsedAsItIs() throws Exception {
        Path bundle = Files.writeString(dir.resolve("client-bundle.pem"),
                Files.readString(pem.clientKey()) + Files.readString(pem.clientCertificate()));
        try (ZooKeeperDcs dcs = tls().clientCertificate(bundle, bundle).build()) {
            assertThat(dcs.settings().clientProperties()).containsEntry(KEY_STORE, bundle.toString());
            electsOverTls(dcs, "bundle");
        }
        assertThat(bundle).as("the caller's file is not deleted").isRegularFile();
    }

    @Test
    void aPkcs1RsaKeyWhichZooKeeperCannotReadIsJoinedAsPkcs8() throws Exception {
        Path rsa = dir.resolve("rsa");
        Files.createDirectories(rsa);
        Files.writeString(rsa.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
        openssl(rsa, "openssl", "genrsa", "-traditional", "-out", "client.key", "2048");
        openssl(rsa, "openssl", "req", "-new", "-key", "client.key", "-out", "client.csr", "-subj", "/CN=pgha-rsa");
        openssl(rsa, "openssl", "x509", "-req", "-in", "client.csr", "-CA", pem.ca().toString(), "-CAkey",
                dir.resolve("certs").resolve("ca.key").toString(), "-CAcreateserial", "-CAserial", rsa.resolve("ca.srl").toString(),
                "-out", "client.pem", "-days", "2", "-extfile", "client.ext");
        assertThat(Files.readString(rsa.resolve("client.key"))).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        Path bundle = Files.writeString(rsa.resolve("bundle.pem"),
                Files.readString(rsa.resolve("client.key")) + Files.readString(rsa.resolve("client.pem")));
        try (ZooKeeperDcs dcs = tls().clientCertificate(bundle, bundle).build()) {
            Path joined = Path.of(dcs.settings().clientProperties().get(KEY_STORE));
            assertThat(joined).as("even one file is rewritten: ZooKeeper reads PKCS#8 only").isNotEqualTo(bundle);
            assertThat(Files.readString(joined)).startsWith("-----BEGIN PRIVATE KEY-----");
            electsOverTls(dcs, "rsa");
        }
    }

    private static void openssl(Path in, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(in.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
    }

    @Test
    void withoutTlsOrWithoutACertificateTheSecurePortIsUnreachable() {
        try (ZooKeeperDcs plain = ZooKeeperDcs.builder().endpoints(secure()).build();
             ZooKeeperDcs noCert = tls().build()) {
            for (ZooKeeperDcs d : List.of(plain, noCert)) {
                DcsSession a = d.open(SessionSpec.member("tls", "a", Duration.ofSeconds(6), RETRY));
                assertThat(failure(a.acquireLeader(), WAIT)).isInstanceOf(DcsUnreachableException.class);
            }
        }
    }

    @Test
    void badPemFilesFailAtBuildNamingTheSettingAndNeverShowingTheKey() throws Exception {
        List<String> keyLines = Files.readAllLines(pem.clientKey()).stream().filter(l -> !l.startsWith("-----")).toList();
        String key = Files.readString(pem.clientKey());
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not PEM at all\n");
        Path sec1 = Files.writeString(dir.resolve("sec1.key"), key.replace("PRIVATE KEY", "EC PRIVATE KEY"));
        String body = String.join("", keyLines);
        Path corrupt = Files.writeString(dir.resolve("corrupt.key"), "-----BEGIN PRIVATE KEY-----\n"
                + body.substring(0, 20) + "AAAA" + body.substring(24) + "\n-----END PRIVATE KEY-----\n");
        long ownedBefore = ownedDirectories();

        Supplier<ZooKeeperDcs.Builder> b = ZooKeeperDcsOverTlsTest::tls;
        refused(() -> ZooKeeperDcs.builder().endpoints(secure()).trustedCa(garbage).build(), "zookeeper.cacert", keyLines);
        refused(() -> ZooKeeperDcs.builder().endpoints(secure()).trustedCa(pem.clientKey()).build(), "zookeeper.cacert", keyLines);
        refused(() -> b.get().clientCertificate(pem.clientKey(), pem.clientKey()).build(), "zookeeper.cert", keyLines);
        refused(() -> b.get().clientCertificate(garbage, pem.clientKey()).build(), "zookeeper.cert", keyLines);
        refused(() -> b.get().clientCertificate(pem.clientCertificate(), pem.ca()).build(), "zookeeper.key", keyLines);
        refused(() -> b.get().clientCertificate(pem.clientCertificate(), sec1).build(), "zookeeper.key", keyLines);
        refused(() -> b.get().clientCertificate(pem.clientCertificate(), corrupt).build(), "zookeeper.key", keyLines);
        refused(() -> b.get().clientCertificate(pem.clientCertificate(), pem.serverKey()).build(), "zookeeper.key", keyLines);
        // a certificate without a CA to verify the servers with, and TLS properties given twice
        refused(() -> ZooKeeperDcs.builder().endpoints(secure()).clientCertificate(pem.clientCertificate(), pem.clientKey()).build(),
                "zookeeper.cert", keyLines);
        refused(() -> b.get().clientProperty("zookeeper.ssl.keyStore.location", "/elsewhere").build(), "zookeeper.client_property",
                keyLines);
        // unreadable files are refused by the setter already
        refused(() -> ZooKeeperDcs.builder().trustedCa(dir.resolve("missing.pem")), "zookeeper.cacert", keyLines);
        refused(() -> ZooKeeperDcs.builder().clientCertificate(pem.clientCertificate(), dir), "zookeeper.key", keyLines);
        assertThat(ownedDirectories()).as("a failed build leaves no joined file").isEqualTo(ownedBefore);
    }

    private static void refused(ThrowingCallable call, String setting, List<String> keyLines) {
        assertThatThrownBy(call).isInstanceOfSatisfying(ConfigurationException.class, e -> {
            assertThat(e.setting()).isEqualTo(setting);
            for (String line : keyLines) {
                assertThat(e.getMessage()).doesNotContain(line);
            }
        });
    }

    private static long ownedDirectories() throws IOException {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("pgha-zk-client-")).count();
        }
    }
}
