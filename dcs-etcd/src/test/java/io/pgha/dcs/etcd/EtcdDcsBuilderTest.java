package io.pgha.dcs.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.pgha.ConfigurationException;
import io.pgha.spi.SessionSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The builder checks each setting and their combination; nothing here talks to etcd. */
class EtcdDcsBuilderTest {

    @Test
    void endpointsMustBeHttpOrHttpsUrlsWithHostAndPort() {
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("ftp://127.0.0.1:2379"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("etcd3.hosts:").hasMessageContaining("http://");
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
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("etcd3.hosts: are required");
    }

    @Test
    void aSharedClientExcludesConnectionSettings() throws Exception {
        try (Client client = Client.builder().endpoints("http://127.0.0.1:1").build()) {
            assertThatThrownBy(() -> EtcdDcs.builder().client(client).endpoints("http://127.0.0.1:2379").build())
                    .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("etcd3.client:").hasMessageContaining("etcd3.hosts");
            assertThatThrownBy(() -> EtcdDcs.builder().client(client).credentials("u", "p").build())
                    .isInstanceOf(ConfigurationException.class).hasMessageContaining("credentials");
            assertThatThrownBy(() -> EtcdDcs.builder().client(client).sslContext(SSLContext.getDefault()).build())
                    .isInstanceOf(ConfigurationException.class).hasMessageContaining("etcd3.ssl_context");
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
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("etcd3.cacert:").hasMessageContaining("cannot read");
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("https://a:1").trustedCa(ca).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("etcd3.cacert:").hasMessageContaining("ca.pem");
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("https://a:1").clientCertificate(ca, ca).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("etcd3.cert:");
        assertThatThrownBy(() -> EtcdDcs.builder().clientCertificate(ca, dir.resolve("missing.key")))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("etcd3.key:");
    }

    @Test
    void everySettingIsSetOnceAndASecondCallIsRefusedNamingIt(@TempDir Path dir) throws Exception {
        Path pem = Files.writeString(dir.resolve("x.pem"), "x");
        SSLContext ssl = SSLContext.getDefault();
        try (Client client = Client.builder().endpoints("http://127.0.0.1:1").build()) {
            Map<String, Consumer<EtcdDcs.Builder>> setters = new LinkedHashMap<>();
            setters.put("etcd3.hosts", b -> b.endpoints("http://127.0.0.1:2379"));
            setters.put("namespace", b -> b.namespace("/service"));
            setters.put("etcd3.username", b -> b.credentials("u", "p"));
            setters.put("etcd3.cacert", b -> b.trustedCa(pem));
            setters.put("etcd3.cert", b -> b.clientCertificate(pem, pem));
            setters.put("etcd3.ssl_context", b -> b.sslContext(ssl));
            setters.put("etcd3.connect_timeout", b -> b.connectTimeout(Duration.ofSeconds(1)));
            setters.put("etcd3.request_timeout", b -> b.requestTimeout(Duration.ofSeconds(1)));
            setters.put("etcd3.cached_reads", b -> b.cachedReads(true));
            setters.put("etcd3.client", b -> b.client(client));
            setters.forEach((setting, set) -> {
                EtcdDcs.Builder b = EtcdDcs.builder();
                set.accept(b);
                assertThatThrownBy(() -> set.accept(b)).as(setting).isInstanceOf(ConfigurationException.class)
                        .hasMessage(setting + ": was already set")
                        .extracting(e -> ((ConfigurationException) e).setting()).isEqualTo(setting);
            });
            EtcdDcs.Builder b = EtcdDcs.builder().endpoints(List.of("http://a:1"));
            assertThatThrownBy(() -> b.endpoints("http://b:2")).as("the two endpoints overloads share the setting")
                    .hasMessage("etcd3.hosts: was already set");
        }
    }

    @Test
    void nullsAreRefusedWithANullPointerException() {
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints((String[]) null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints((Collection<String>) null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("http://a:1", null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().namespace(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().credentials(null, "p")).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().trustedCa(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().clientCertificate(null, null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().sslContext(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().connectTimeout(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().requestTimeout(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> EtcdDcs.builder().client(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void pemFilesAndAnSslContextTogetherAreRefusedAtBuild(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
        SSLContext ssl = SSLContext.getDefault();
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("https://a:1").trustedCa(ca).sslContext(ssl).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("etcd3.ssl_context:")
                .hasMessageContaining("not both");
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("https://a:1").sslContext(ssl).clientCertificate(ca, ca).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("etcd3.ssl_context:");
        assertThatThrownBy(() -> EtcdDcs.builder().endpoints("http://a:1").sslContext(ssl).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("etcd3.hosts:").hasMessageContaining("https://");
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints("https://127.0.0.1:1").sslContext(ssl).build()) {
            assertThat(dcs.toString()).contains("tls");
        }
    }

    @Test
    void credentialsNeedAUserAndAPasswordAndThePasswordIsNeverShown() {
        assertThatThrownBy(() -> EtcdDcs.builder().credentials("", "x")).isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("etcd3.username:");
        assertThatThrownBy(() -> EtcdDcs.builder().credentials("u", "")).isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("etcd3.password:");
        assertThatThrownBy(() -> EtcdDcs.builder().credentials("u", null)).isInstanceOf(NullPointerException.class);
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints("http://127.0.0.1:1").credentials("pgha", "hunter2-secret").build()) {
            assertThat(dcs.toString()).contains("user=pgha").doesNotContain("hunter2");
        }
    }

    @Test
    void timeoutsMustBePositive() {
        assertThatThrownBy(() -> EtcdDcs.builder().connectTimeout(Duration.ZERO))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("etcd3.connect_timeout:");
        assertThatThrownBy(() -> EtcdDcs.builder().requestTimeout(Duration.ofMillis(-1)))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("etcd3.request_timeout:");
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
