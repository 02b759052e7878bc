package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgha.ConfigurationException;
import io.pgha.RestApiConfig;
import io.pgha.spi.support.PemTls;
import io.pgha.testkit.servers.EtcdTls;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The REST API over HTTPS from Patroni's PEM files ({@code restapi.certfile}, {@code keyfile},
 * {@code cafile}, {@code verify_client: required}): health checks answer to a client with a
 * certificate the CA signed, a client without one is turned away, and the members' own status calls
 * to each other (which use the same context) keep the cluster healthy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RestApiTlsTest {
    @TempDir
    static Path dir;
    private EtcdTls pem;
    private RealTimeCluster cluster;

    @BeforeAll
    void startCluster() {
        assumeTrue(EtcdTls.opensslAvailable(), "openssl makes the test certificates");
        pem = EtcdTls.generate(dir.resolve("pki"));
        cluster = new RealTimeCluster(2, i -> RestApiConfig.builder().listen("127.0.0.1", 0)
                .certificate(pem.serverCertificate(), pem.serverKey()).trustedCa(pem.ca())
                .clientAuth(RestApiConfig.ClientAuth.REQUIRED).build(), (i, b) -> { }).start();
        await().atMost(Duration.ofSeconds(30)).until(cluster::healthy);
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private HttpResponse<String> get(SSLContext client, String path) throws Exception {
        HttpClient http = HttpClient.newBuilder().sslContext(client).connectTimeout(Duration.ofSeconds(2)).build();
        String leader = cluster.leader().orElseThrow();
        return http.send(HttpRequest.newBuilder(URI.create(cluster.url(leader) + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aClientWithACertificateTheCaSignedGetsTheHealthChecksOverHttps() throws Exception {
        SSLContext client = PemTls.sslContext(Optional.of(new PemTls.PemFile("ca", pem.ca())),
                Optional.of(new PemTls.PemFile("cert", pem.clientCertificate())),
                Optional.of(new PemTls.PemFile("key", pem.clientKey())));
        assertThat(cluster.url(cluster.leader().orElseThrow())).startsWith("https://");
        assertThat(get(client, "/primary").statusCode()).isEqualTo(200);
        assertThat(get(client, "/patroni").body()).contains("\"role\"");
    }

    @Test
    void aClientWithoutACertificateIsTurnedAway() {
        SSLContext anonymous = PemTls.sslContext(Optional.of(new PemTls.PemFile("ca", pem.ca())), Optional.empty(), Optional.empty());
        assertThatThrownBy(() -> get(anonymous, "/primary")).isInstanceOf(IOException.class);
    }

    @Test
    void theBuilderRefusesACaWithoutACertificateVerificationWithoutACaAndPemFilesBesideAContext() throws Exception {
        assertThatThrownBy(() -> RestApiConfig.builder().listen("127.0.0.1", 0).trustedCa(pem.ca()).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("restapi.cafile: needs restapi.certfile");
        assertThatThrownBy(() -> RestApiConfig.builder().listen("127.0.0.1", 0).certificate(pem.serverCertificate(), pem.serverKey())
                .sslContext(SSLContext.getDefault()).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("restapi.ssl_context: ");
        assertThatThrownBy(() -> RestApiConfig.builder().listen("127.0.0.1", 0).certificate(pem.serverCertificate(), pem.serverKey())
                .clientAuth(RestApiConfig.ClientAuth.REQUIRED).build())
                .as("verify_client without cafile would trust every public CA").isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("restapi.verify_client: needs restapi.cafile");
        assertThatThrownBy(() -> RestApiConfig.builder().listen("127.0.0.1", 0).threads(2).threads(3))
                .isInstanceOf(ConfigurationException.class).hasMessage("restapi.thread_pool_size: was already set");
    }

    @Test
    void anEncryptedKeyIsReadWithKeyfilePasswordAndAWrongOneIsNamedWithoutShowingIt() throws Exception {
        Path encrypted = dir.resolve("server-encrypted.key");
        Process p = new ProcessBuilder("openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", pem.serverKey().toString(),
                "-out", encrypted.toString(), "-passout", "pass:rest-key-pass").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(Files.readString(encrypted)).contains("BEGIN ENCRYPTED PRIVATE KEY");

        RestApiConfig ok = RestApiConfig.builder().listen("127.0.0.1", 0)
                .certificate(pem.serverCertificate(), encrypted, "rest-key-pass").build();

        assertThat(ok).isNotNull();
        assertThatThrownBy(() -> RestApiConfig.builder().listen("127.0.0.1", 0)
                .certificate(pem.serverCertificate(), encrypted, "not-the-pass").build())
                .isInstanceOfSatisfying(io.pgha.spi.support.PemException.class, e -> {
                    assertThat(e.setting()).isEqualTo("restapi.keyfile");
                    assertThat(e.problem()).isEqualTo(io.pgha.spi.support.PemException.Problem.WRONG_PASSWORD);
                    assertThat(e.getMessage()).doesNotContain("not-the-pass").doesNotContain("rest-key-pass");
                });
        assertThatThrownBy(() -> RestApiConfig.builder().listen("127.0.0.1", 0).certificate(pem.serverCertificate(), encrypted).build())
                .isInstanceOfSatisfying(io.pgha.spi.support.PemException.class,
                        e -> assertThat(e.problem()).isEqualTo(io.pgha.spi.support.PemException.Problem.PASSWORD_REQUIRED));
    }

    @Test
    void aFileThatHoldsNoKeyIsNamedBySettingWithoutItsContent() throws Exception {
        Path notAKey = Files.writeString(dir.resolve("not-a-key.pem"), "secret-material-that-must-not-show");
        assertThatThrownBy(() -> RestApiConfig.builder().listen("127.0.0.1", 0).certificate(pem.serverCertificate(), notAKey).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("restapi.keyfile: ")
                .hasMessageNotContaining("secret-material");
    }
}
