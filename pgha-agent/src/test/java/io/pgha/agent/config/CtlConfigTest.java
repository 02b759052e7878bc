package io.pgha.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.ConfigurationException;
import io.pgha.agent.config.AgentConfig.CtlConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CtlConfigTest {
    private static final String STORE = "etcd3: {hosts: 127.0.0.1:2379}\n";

    private static CtlConfig parse(String yaml) {
        return AgentConfig.parseForCtl(yaml, "patroni.yml");
    }

    @Test
    void aFileWithOnlyAStoreAndACtlSectionIsEnough() {
        CtlConfig c = parse(STORE + "ctl: {insecure: true}\n");
        assertThat(c.scope()).isEmpty();
        assertThat(c.namespace()).isEqualTo("/service");
        assertThat(c.dcs()).isInstanceOfSatisfying(AgentConfig.DcsConfig.Etcd.class,
                e -> assertThat(e.endpoints()).containsExactly("http://127.0.0.1:2379"));
        assertThat(c.restTls().insecure()).isTrue();
        assertThat(c.restAuth()).isEmpty();
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void aFileWithOnlyAStoreVerifiesTheRestApisWithTheJvmsTrustStore() {
        CtlConfig c = parse(STORE);
        assertThat(c.restTls()).isEqualTo(CtlConfig.RestTls.DEFAULT);
    }

    @Test
    void scopeAndNamespaceAreReadWhenPresent() {
        CtlConfig c = parse("scope: batman\nnamespace: pg\n" + STORE);
        assertThat(c.scope()).contains("batman");
        assertThat(c.namespace()).isEqualTo("/pg");
    }

    @Test
    void aStoreIsRequired() {
        assertThatThrownBy(() -> parse("scope: s\nctl: {insecure: true}\n"))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("etcd3: no store configured");
    }

    @Test
    void ctlInsecureIsABoolean() {
        assertThat(parse(STORE + "ctl: {insecure: false}\n").restTls().insecure()).isFalse();
        assertThat(parse(STORE + "ctl: {insecure: yes}\n").restTls().insecure()).isTrue();
        assertThatThrownBy(() -> parse(STORE + "ctl: {insecure: maybe}\n"))
                .hasMessage("ctl.insecure: expected true or false, got 'maybe' (at patroni.yml:2:7)");
    }

    @Test
    void ctlCacertIsTheCaThatVerifiesTheRestApis() {
        CtlConfig c = parse(STORE + "ctl: {cacert: /etc/pgha/ca.pem}\nrestapi: {cafile: /etc/pgha/other-ca.pem}\n");
        assertThat(c.restTls().cacert()).contains(Path.of("/etc/pgha/ca.pem"));
    }

    @Test
    void withoutCtlCacertTheRestapiCafileVerifiesTheRestApisAsInPatroni() {
        CtlConfig c = parse(STORE + "restapi: {listen: 127.0.0.1:8008, cafile: /etc/pgha/ca.pem}\n");
        assertThat(c.restTls().cacert()).contains(Path.of("/etc/pgha/ca.pem"));
    }

    @Test
    void ctlCertfileIsTheClientCertificate() {
        CtlConfig c = parse(STORE + "ctl: {certfile: /etc/pgha/ctl.pem}\n");
        assertThat(c.restTls().certfile()).contains(Path.of("/etc/pgha/ctl.pem"));
        assertThat(c.restTls().keyfile()).as("the key may be in the certificate file").isEmpty();
    }

    @Test
    void ctlKeyfileIsTheClientCertificatesKeyAndNeedsTheCertificate() {
        CtlConfig c = parse(STORE + "ctl: {certfile: /etc/pgha/ctl.pem, keyfile: /etc/pgha/ctl.key}\n");
        assertThat(c.restTls().keyfile()).contains(Path.of("/etc/pgha/ctl.key"));
        assertThatThrownBy(() -> parse(STORE + "ctl: {keyfile: /etc/pgha/ctl.key}\n"))
                .hasMessageStartingWith("ctl.keyfile: needs ctl.certfile too");
    }

    @Test
    void ctlKeyfilePasswordIsASecretAndNeedsTheCertificate() {
        CtlConfig c = parse(STORE + "ctl: {certfile: /c.pem, keyfile: /k.pem, keyfile_password: s3cret}\n");
        assertThat(c.restTls().keyfilePassword()).contains(new Secret("s3cret"));
        assertThat(c.toString()).doesNotContain("s3cret");
        assertThatThrownBy(() -> parse(STORE + "ctl: {keyfile_password: s3cret}\n"))
                .hasMessageStartingWith("ctl.keyfile_password: needs ctl.certfile too").hasMessageNotContaining("s3cret");
    }

    @Test
    void emptyCtlPathsCountAsUnsetAsInPatroni() {
        CtlConfig c = parse(STORE + "ctl: {cacert: '', certfile: '', keyfile: ''}\n");
        assertThat(c.restTls()).isEqualTo(CtlConfig.RestTls.DEFAULT);
    }

    @Test
    void ctlAuthenticationIsTheLoginForUnsafeRestCalls() {
        CtlConfig c = parse(STORE + "ctl: {authentication: {username: ctl, password: pw1}}\n"
                + "restapi: {authentication: {username: api, password: pw2}}\n");
        assertThat(c.restAuth()).contains(new CtlConfig.BasicAuth("ctl", new Secret("pw1")));
        assertThat(c.toString()).doesNotContain("pw1").doesNotContain("pw2");
    }

    @Test
    void withoutCtlAuthenticationTheRestapiLoginIsUsedAsInPatroni() {
        CtlConfig c = parse(STORE + "restapi:\n  listen: 127.0.0.1:8008\n  authentication:\n    username: api\n    password: pw2\n");
        assertThat(c.restAuth()).contains(new CtlConfig.BasicAuth("api", new Secret("pw2")));
        CtlConfig legacy = parse(STORE + "restapi: {auth: 'api:pw3'}\n");
        assertThat(legacy.restAuth()).contains(new CtlConfig.BasicAuth("api", new Secret("pw3")));
    }

    @Test
    void aLoginWithoutAPasswordIsRefused() {
        assertThatThrownBy(() -> parse(STORE + "ctl: {authentication: {username: ctl}}\n"))
                .hasMessageStartingWith("ctl.authentication: needs both username and password");
    }

    @Test
    void anUnknownCtlKeyIsRefusedNamingTheKeyItResembles() {
        assertThatThrownBy(() -> parse(STORE + "ctl:\n  insecure: false\n  cacrt: /ca.pem\n"))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("ctl.cacrt: unknown key (did you mean ctl.cacert?) (at patroni.yml:4:3)");
        assertThatThrownBy(() -> parse(STORE + "ctl: {authentication: {username: u, passwd: p}}\n"))
                .hasMessageStartingWith("ctl.authentication.passwd: unknown key (did you mean ctl.authentication.password?)");
    }

    @Test
    void anUnknownKeyInTheRestapiOrStoreSectionIsRefusedToo() {
        assertThatThrownBy(() -> parse(STORE + "restapi: {cafiel: /ca.pem}\n"))
                .hasMessageStartingWith("restapi.cafiel: unknown key (did you mean restapi.cafile?)");
        assertThatThrownBy(() -> parse("etcd3: {hosts: 127.0.0.1:2379, certfile: /c.pem}\n"))
                .hasMessageStartingWith("etcd3.certfile: unknown key (did you mean etcd3.cert?)");
    }

    @Test
    void noNodeSettingIsNeededNorChecked() {
        CtlConfig c = parse(STORE + "name: [not, checked]\npostgresql: {listen: 0.0.0.0:5432}\ntags: {nofailover: maybe}\n");
        assertThat(c.dcs()).isInstanceOf(AgentConfig.DcsConfig.Etcd.class);
    }

    @Test
    void aRestApiThatWantsClientCertificatesWithoutCtlCertfileIsWarned() {
        CtlConfig c = parse(STORE + "restapi: {listen: 127.0.0.1:8008, verify_client: required}\n");
        assertThat(c.warnings()).containsExactly("restapi.verify_client: is required, so the REST APIs want a client "
                + "certificate; set ctl.certfile (and ctl.keyfile)");
        assertThat(parse(STORE + "restapi: {verify_client: required}\nctl: {certfile: /c.pem}\n").warnings()).isEmpty();
    }

    @Test
    void theStoresProtectionSettingsAreReadForPghactlToo() {
        CtlConfig c = parse("zookeeper: {hosts: [127.0.0.1:2181], set_acls: {'CN=pgha': [ALL]}, auth_data: {digest: 'u:p'}}\n"
                + "restapi: {allowlist: [10.0.0.1]}\n");
        assertThat(c.warnings()).isEmpty();
        assertThat(c.dcs()).isInstanceOfSatisfying(AgentConfig.DcsConfig.ZooKeeper.class, z -> {
            assertThat(z.setAcls()).containsEntry("CN=pgha", java.util.List.of("ALL"));
            assertThat(z.digestAuth()).isPresent();
        });
    }

    @Test
    void theSeedChaptersFileWithItsStoreUnderBootstrapDcsServesPghactl() throws IOException {
        String seed;
        try (InputStream in = CtlConfigTest.class.getResourceAsStream("/config/seed-patroni.yml")) {
            seed = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        CtlConfig c = AgentConfig.parseForCtl(seed, "seed-patroni.yml");
        assertThat(c.scope()).contains("batman");
        assertThat(((AgentConfig.DcsConfig.Etcd) c.dcs()).endpoints()).hasSize(3);
        assertThat(c.warnings()).anySatisfy(w -> assertThat(w).startsWith("bootstrap.dcs.etcd: the store belongs at the top level"));
    }

    @Test
    void everyStoreSectionServesPghactl() {
        assertThat(parse("zookeeper: {hosts: [127.0.0.1:2181]}\n").dcs()).isInstanceOf(AgentConfig.DcsConfig.ZooKeeper.class);
        assertThat(parse("consul: {url: 'https://127.0.0.1:8501', token: t}\n").dcs()).isInstanceOf(AgentConfig.DcsConfig.Consul.class);
        assertThat(parse("etcd: {host: 127.0.0.1:2379}\n").dcs()).isInstanceOf(AgentConfig.DcsConfig.Etcd.class);
        assertThatThrownBy(() -> parse(STORE + "consul: {host: 127.0.0.1}\n")).hasMessageStartingWith("etcd3: more than one store");
    }

    @Test
    void readForCtlAppliesPatronisEnvironmentVariables(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("patroni.yml");
        Files.writeString(file, STORE);
        CtlConfig c = AgentConfig.readForCtl(file, Map.of("PATRONI_SCOPE", "orders", "PATRONI_CTL_INSECURE", "true",
                "PATRONI_CTL_CACERT", "/ca.pem", "PATRONI_CTL_CERTFILE", "/c.pem", "PATRONI_CTL_KEYFILE", "/k.pem",
                "PATRONI_CTL_KEYFILE_PASSWORD", "kp", "PATRONI_CTL_USERNAME", "u", "PATRONI_CTL_PASSWORD", "p",
                "PATRONI_ETCD3_HOSTS", "10.0.0.1:2379,10.0.0.2:2379"));
        assertThat(c.scope()).contains("orders");
        assertThat(c.restTls()).isEqualTo(new CtlConfig.RestTls(true, java.util.Optional.of(Path.of("/ca.pem")),
                java.util.Optional.of(Path.of("/c.pem")), java.util.Optional.of(Path.of("/k.pem")), java.util.Optional.of(new Secret("kp"))));
        assertThat(c.restAuth()).contains(new CtlConfig.BasicAuth("u", new Secret("p")));
        assertThat(((AgentConfig.DcsConfig.Etcd) c.dcs()).endpoints()).containsExactly("http://10.0.0.1:2379", "http://10.0.0.2:2379");
    }

    @Test
    void aMissingFileIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("nope.yml");
        assertThatThrownBy(() -> AgentConfig.readForCtl(missing, Map.of())).hasMessage("config: " + missing + " does not exist");
    }
}
