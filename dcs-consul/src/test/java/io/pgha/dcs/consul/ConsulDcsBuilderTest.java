package io.pgha.dcs.consul;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.ConfigurationException;
import io.pgha.spi.DcsSession;
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

/** The builder checks each setting, and the combination at build(); open() refuses what Consul cannot serve. */
class ConsulDcsBuilderTest {
    @Test
    void aUrlMustBeHttpOrHttpsWithAHostAndNothingElse() {
        for (String bad : new String[] {"127.0.0.1:8500", "ftp://h:1", "http://", "http://h:8500/v1", "http://u:p@h:8500",
                "http://h:8500?x=1", "not a url"}) {
            assertThatThrownBy(() -> ConsulDcs.builder().endpoints(bad)).as(bad)
                    .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("consul.url:");
        }
        assertThat(ConsulDcs.builder().endpoints("http://10.0.0.1").toString()).contains("http://10.0.0.1:8500");
        assertThat(ConsulDcs.builder().endpoints(List.of("https://consul.example:8501/")).toString())
                .contains("https://consul.example:8501");
        assertThat(ConsulDcs.builder().toString()).as("the default").contains("http://127.0.0.1:8500");
    }

    @Test
    void consulTalksToOneAgentSoExactlyOneEndpointIsAccepted() {
        assertThatThrownBy(() -> ConsulDcs.builder().endpoints("http://10.0.0.1:8500", "http://10.0.0.2:8500"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("consul.url:").hasMessageContaining("one agent")
                .extracting(e -> ((ConfigurationException) e).setting()).isEqualTo("consul.url");
        assertThatThrownBy(() -> ConsulDcs.builder().endpoints(List.of()))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("consul.url:");
        assertThatThrownBy(() -> ConsulDcs.builder().endpoints((String) null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ConsulDcs.builder().endpoints((Collection<String>) null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void everySettingIsSetOnceAndASecondCallIsRefusedNamingIt(@TempDir Path dir) throws Exception {
        Path pem = Files.writeString(dir.resolve("x.pem"), "x");
        SSLContext ssl = SSLContext.getDefault();
        Map<String, Consumer<ConsulDcs.Builder>> setters = new LinkedHashMap<>();
        setters.put("consul.url", b -> b.endpoints("http://127.0.0.1:8500"));
        setters.put("consul.token", b -> b.token("t"));
        setters.put("consul.cacert", b -> b.trustedCa(pem));
        setters.put("consul.cert", b -> b.clientCertificate(pem, pem));
        setters.put("consul.ssl_context", b -> b.sslContext(ssl));
        setters.put("namespace", b -> b.namespace("service"));
        setters.put("consul.consistency", b -> b.consistency(ConsulDcs.Consistency.STALE));
        setters.put("consul.register_service", b -> b.registerService(false));
        setters.put("consul.session_ttl_min", b -> b.minSessionTtl(Duration.ofSeconds(1)));
        setters.put("consul.watch_wait", b -> b.watchWait(Duration.ofSeconds(5)));
        setters.put("consul.call_threads", b -> b.callThreads(2));
        setters.forEach((setting, set) -> {
            ConsulDcs.Builder b = ConsulDcs.builder();
            set.accept(b);
            assertThatThrownBy(() -> set.accept(b)).as(setting).isInstanceOf(ConfigurationException.class)
                    .hasMessage(setting + ": was already set");
        });
    }

    @Test
    void nullsAreRefusedWithANullPointerException() {
        assertThatThrownBy(() -> ConsulDcs.builder().token(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ConsulDcs.builder().trustedCa(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ConsulDcs.builder().clientCertificate(null, null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ConsulDcs.builder().sslContext(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ConsulDcs.builder().namespace(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ConsulDcs.builder().consistency(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ConsulDcs.builder().minSessionTtl(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ConsulDcs.builder().watchWait(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void pemFilesAndAnSslContextTogetherAreRefusedAtBuild(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
        SSLContext ssl = SSLContext.getDefault();
        assertThatThrownBy(() -> ConsulDcs.builder().endpoints("https://h:8501").trustedCa(ca).sslContext(ssl).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("consul.ssl_context:")
                .hasMessageContaining("not both");
        assertThatThrownBy(() -> ConsulDcs.builder().endpoints("https://h:8501").sslContext(ssl).clientCertificate(ca, ca).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("consul.ssl_context:");
        assertThatThrownBy(() -> ConsulDcs.builder().sslContext(ssl).build()).as("the default url is http")
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("consul.url:").hasMessageContaining("not https://");
        ConsulDcs.builder().endpoints("https://h:8501").sslContext(ssl).build().close();
    }

    @Test
    void tlsSettingsNeedAnHttpsUrl(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
        assertThatThrownBy(() -> ConsulDcs.builder().endpoints("http://h:8500").trustedCa(ca).build())
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("not https://");
    }

    @Test
    void anUnreadableOrNonPemCaFileIsRejectedByName(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> ConsulDcs.builder().trustedCa(dir.resolve("missing.pem")))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("consul.cacert:");
        Path junk = Files.writeString(dir.resolve("junk.pem"), "not a certificate");
        assertThatThrownBy(() -> ConsulDcs.builder().endpoints("https://h:8501").trustedCa(junk).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("consul.cacert:").hasMessageContaining("junk.pem");
        assertThatThrownBy(() -> ConsulDcs.builder().endpoints("https://h:8501").clientCertificate(junk, junk).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("consul.cert:");
    }

    @Test
    void theTokenIsNeverShownInMessagesOrToString() {
        String secret = "s3cr3t-0000-1111";
        ConsulDcs.Builder b = ConsulDcs.builder().token(secret);
        assertThat(b.toString()).doesNotContain(secret);
        try (ConsulDcs dcs = b.build()) {
            assertThat(dcs.toString()).doesNotContain(secret);
        }
        assertThatThrownBy(() -> ConsulDcs.builder().token("has space")).isInstanceOf(ConfigurationException.class)
                .hasMessageNotContaining("has space");
    }

    @Test
    void theNamespaceIsNormalisedToPathSegmentsWithoutSlashesAtTheEnds() {
        ConsulDcs.builder().namespace("/service/");
        ConsulDcs.builder().namespace("a/b");
        for (String bad : new String[] {"", "/", "a//b", "a b", "ü"}) {
            assertThatThrownBy(() -> ConsulDcs.builder().namespace(bad)).as("'" + bad + "'")
                    .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("namespace:");
        }
    }

    @Test
    void numericSettingsHaveBounds() {
        assertThatThrownBy(() -> ConsulDcs.builder().watchWait(Duration.ofMillis(10))).isInstanceOf(ConfigurationException.class);
        assertThatThrownBy(() -> ConsulDcs.builder().watchWait(Duration.ofMinutes(11))).isInstanceOf(ConfigurationException.class);
        assertThatThrownBy(() -> ConsulDcs.builder().minSessionTtl(Duration.ZERO)).isInstanceOf(ConfigurationException.class);
        assertThatThrownBy(() -> ConsulDcs.builder().callThreads(0)).isInstanceOf(ConfigurationException.class);
    }

    @Test
    void aTtlWhoseHalfIsBelowTheAgentsMinimumSessionTtlIsRefusedAtOpenWithTheLimitNamed() {
        try (ConsulDcs dcs = ConsulDcs.builder().build()) {
            assertThatThrownBy(() -> dcs.open(SessionSpec.member("s", "a", Duration.ofSeconds(10), Duration.ofSeconds(1))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("session_ttl_min").hasMessageContaining("20000ms");
            DcsSession ok = dcs.open(SessionSpec.member("s", "a", Duration.ofSeconds(20), Duration.ofSeconds(1)));
            assertThat(ok.leaseGuarantee()).as("half the ttl, Consul's session TTL").isEqualTo(Duration.ofSeconds(10));
            ok.close();
            dcs.open(SessionSpec.observer("s", Duration.ofSeconds(1))).close();
        }
        try (ConsulDcs dcs = ConsulDcs.builder().minSessionTtl(Duration.ofSeconds(1)).build()) {
            dcs.open(SessionSpec.member("s", "a", Duration.ofSeconds(2), Duration.ofSeconds(1))).close();
        }
    }

    @Test
    void openingASessionSendsNothingAndAClosedDcsOpensNoMore() {
        // nothing listens there: open() must not care
        ConsulDcs dcs = ConsulDcs.builder().endpoints("http://127.0.0.1:" + io.pgha.testkit.servers.ConsulAgent.closedPort()).build();
        DcsSession s = dcs.open(SessionSpec.member("s", "a", Duration.ofSeconds(30), Duration.ofSeconds(1)));
        s.close();
        dcs.close();
        assertThatThrownBy(() -> dcs.open(SessionSpec.observer("s", Duration.ofSeconds(1)))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void serviceNamesFollowPatronisRule() {
        assertThat(ServiceRegistration.serviceName("Orders_DB.eu")).isEqualTo("orders-db-eu");
        assertThat(ServiceRegistration.serviceName("batman")).isEqualTo("batman");
    }
}
