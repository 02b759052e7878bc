package io.pgha.dcs.consul;

import static io.pgha.dcs.consul.ConsulFaultTest.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.dcs.consul.testing.TestCertificates;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.PemTls;
import io.pgha.testkit.servers.ConsulAgent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** HTTPS to an agent that verifies client certificates: PEM CA, client certificate and key (PKCS#8 or PKCS#1). */
class ConsulTlsTest {
    private static Path dir;
    private static TestCertificates certs;
    private static ConsulAgent consul;

    @BeforeAll
    static void startAgent() throws Exception {
        dir = Files.createTempDirectory("pgha-consul-tls-");
        certs = TestCertificates.create(dir);
        consul = ConsulAgent.startWithHttps("ca_file = \"" + certs.ca + "\"\ncert_file = \"" + certs.serverCert + "\"\n"
                + "key_file = \"" + certs.serverKey + "\"\nverify_incoming_https = true\n");
    }

    @AfterAll
    static void stopAgent() {
        if (consul != null) {
            consul.close();
        }
    }

    private static String httpsUrl() {
        return "https://127.0.0.1:" + consul.httpsPort();
    }

    private static void works(ConsulDcs dcs, String scope) {
        try (dcs; DcsSession a = dcs.open(SessionSpec.member(scope, "a", Duration.ofSeconds(4), Duration.ofSeconds(2)))) {
            get(a.touchMember("{}"));
            assertThat(get(a.acquireLeader())).isTrue();
            assertThat(get(a.read()).members()).containsKey("a");
        }
    }

    @Test
    void aClientWithTheCaAndAPkcs8ClientCertificateTalksToTheAgent() {
        works(ConsulDcs.builder().endpoints(httpsUrl()).trustedCa(certs.ca).clientCertificate(certs.clientCert, certs.clientKey)
                .minSessionTtl(Duration.ofSeconds(1)).build(), "tls-pkcs8");
    }

    @Test
    void aPkcs1RsaKeyWorksToo() {
        works(ConsulDcs.builder().endpoints(httpsUrl()).trustedCa(certs.ca).clientCertificate(certs.clientCert, certs.clientKeyPkcs1)
                .minSessionTtl(Duration.ofSeconds(1)).build(), "tls-pkcs1");
    }

    @Test
    void aReadySslContextWorksInsteadOfThePemFiles() {
        SSLContext ssl = PemTls.sslContext(Optional.of(new PemTls.PemFile("ca", certs.ca)),
                Optional.of(new PemTls.PemFile("cert", certs.clientCert)), Optional.of(new PemTls.PemFile("key", certs.clientKey)));
        works(ConsulDcs.builder().endpoints(httpsUrl()).sslContext(ssl).minSessionTtl(Duration.ofSeconds(1)).build(), "tls-context");
    }

    @Test
    void anAgentCertificateFromAnUnknownCaIsRefusedAsAConfigurationErrorNotAnOutage() {
        try (ConsulDcs dcs = ConsulDcs.builder().endpoints(httpsUrl()).clientCertificate(certs.clientCert, certs.clientKey).build();
             DcsSession s = dcs.open(SessionSpec.observer("tls", Duration.ofSeconds(2)))) {
            assertThatThrownBy(() -> get(s.read())).isInstanceOf(DcsException.class).isNotInstanceOf(DcsUnreachableException.class)
                    .hasMessageContaining("TLS");
        }
    }

    @Test
    void withoutAClientCertificateTheAgentRefusesTheClient() {
        try (ConsulDcs dcs = ConsulDcs.builder().endpoints(httpsUrl()).trustedCa(certs.ca).build();
             DcsSession s = dcs.open(SessionSpec.observer("tls", Duration.ofSeconds(2)))) {
            // with TLS 1.3 the agent refuses after the handshake, by closing the connection: the client sees a broken
            // pipe, which it cannot tell from a network failure, so this one surfaces as unreachable
            assertThatThrownBy(() -> get(s.read())).isInstanceOf(DcsException.class);
        }
    }
}
