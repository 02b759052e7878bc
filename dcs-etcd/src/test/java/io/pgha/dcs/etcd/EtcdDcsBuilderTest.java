package io.pgha.dcs.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.pgha.ConfigurationException;
import io.pgha.spi.SessionSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The builder checks each setting and their combination; nothing here talks to etcd. */
class EtcdDcsBuilderTest {

    @Test
    void endpointsMustBeHttpOrHttpsUrlsWithHostAndPort() {
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("ftp://127.0.0.1:2379"))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("endpoints").hasMessageContaining("http://");
        EtcdDcs.builder().endpoints("127.0.0.1:2379"); // Patroni's host:port form means http
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("http://127.0.0.1"))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("port");
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("http://127.0.0.1:2379/v3"))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("scheme://host:port");
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("http://a:1", "http://a:1"))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("twice");
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints(new String[0]))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("at least one");
    }

    @Test
    void endpointsAreRequiredUnlessASharedClientIsGiven() {
        assertThatThrownBy(() -> EtcdDcs.builder().build())
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("endpoints: are required");
    }

    @Test
    void aSharedClientExcludesConnectionSettings() {
        try (Client client = Client.builder().endpoints("http://127.0.0.1:1").build()) {
            assertThatThrownBy(() -> EtcdDcs.builder().client(client).endpoints("http://127.0.0.1:2379").build())
                    .isInstanceOf(ConfigurationException.class).hasMessageContaining("endpoints");
            assertThatThrownBy(() -> EtcdDcs.builder().client(client).credentials("u", "p").build())
                    .isInstanceOf(ConfigurationException.class).hasMessageContaining("credentials");
            try (EtcdDcs dcs = EtcdDcs.builder().client(client).namespace("/x").requestTimeout(Duration.ofSeconds(1)).build()) {
                assertThat(dcs.toString()).contains("<shared client>");
            }
        }
    }

    @Test
    void httpAndHttpsCannotBeMixedAndTlsFilesNeedHttps(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "not really a certificate");
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("http://a:1", "https://b:2").build())
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("mix http and https");
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("http://a:1").trustedCa(ca).build())
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("https://");
        assertThatThrownBy(() -> EtcdDcs.builder().trustedCa(dir.resolve("missing.pem")))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("cacert").hasMessageContaining("cannot read");
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("https://a:1").trustedCa(ca).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("tls:");
    }

    @Test
    void credentialsNeedAUserAndAPasswordAndThePasswordIsNeverShown() {
        assertThatThrownBy(() -> EtcdDcs.builder().credentials("", "x")).isInstanceOf(ConfigurationException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().credentials("u", "")).isInstanceOf(ConfigurationException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().credentials("u", null)).isInstanceOf(NullPointerException.class);
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints("http://127.0.0.1:1").credentials("pgha", "hunter2-secret").build()) {
            assertThat(dcs.toString()).contains("user=pgha").doesNotContain("hunter2");
        }
    }

    @Test
    void timeoutsMustBePositive() {
        assertThatThrownBy(() -> EtcdDcs.builder().connectTimeout(Duration.ZERO))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("connect_timeout:");
        assertThatThrownBy(() -> EtcdDcs.builder().requestTimeout(Duration.ofMillis(-1)))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("request_timeout:");
    }

    @Test
    void theNamespaceIsNormalizedLikePatronis() {
        assertThat(EtcdLayout.normalizeNamespace("service")).isEqualTo("/service");
        assertThat(EtcdLayout.normalizeNamespace("/service/")).isEqualTo("/service");
        assertThat(EtcdLayout.normalizeNamespace("//a//b/")).isEqualTo("/a/b");
        assertThat(EtcdLayout.normalizeNamespace("/")).isEqualTo("");
        assertThat(new EtcdLayout("/", "main").prefix()).isEqualTo("/main/");
        assertThatThrownBy(() -> EtcdDcs.builder().namespace("with space")).isInstanceOf(ConfigurationException.class);
    }

    @Test
    void aClosedDcsOpensNoSessions() {
        EtcdDcs dcs = EtcdDcs.builder().endpoints("http://127.0.0.1:1").build();
        dcs.close();
        dcs.close(); // twice is harmless
        assertThatThrownBy(() -> dcs.open(SessionSpec.observer("main", Duration.ofSeconds(1))))
                .isInstanceOf(IllegalStateException.class);
    }
}
