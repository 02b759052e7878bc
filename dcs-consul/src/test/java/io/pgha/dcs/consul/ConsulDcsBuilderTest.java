package io.pgha.dcs.consul;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.ConfigurationException;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The builder checks each setting, and the combination at build(); open() refuses what Consul cannot serve. */
class ConsulDcsBuilderTest {
    @Test
    void aUrlMustBeHttpOrHttpsWithAHostAndNothingElse() {
        for (String bad : new String[] {"127.0.0.1:8500", "ftp://h:1", "http://", "http://h:8500/v1", "http://u:p@h:8500",
                "http://h:8500?x=1", "not a url"}) {
            assertThatThrownBy(() -> ConsulDcs.builder().url(bad)).as(bad)
                    .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("consul.url:");
        }
        ConsulDcs.builder().url("http://10.0.0.1:8500").url("https://consul.example:8501/");
    }

    @Test
    void tlsSettingsNeedAnHttpsUrl(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
        assertThatThrownBy(() -> ConsulDcs.builder().url("http://h:8500").caFile(ca).build())
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("not https://");
    }

    @Test
    void anUnreadableOrNonPemCaFileIsRejectedByName(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> ConsulDcs.builder().caFile(dir.resolve("missing.pem")))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("consul.cacert:");
        Path junk = Files.writeString(dir.resolve("junk.pem"), "not a certificate");
        assertThatThrownBy(() -> ConsulDcs.builder().url("https://h:8501").caFile(junk).build())
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("junk.pem");
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
        ConsulDcs.builder().namespace("/service/").namespace("a/b").namespace("pgha");
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
        ConsulDcs dcs = ConsulDcs.builder().url("http://127.0.0.1:" + io.pgha.testkit.servers.ConsulAgent.closedPort()).build();
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
