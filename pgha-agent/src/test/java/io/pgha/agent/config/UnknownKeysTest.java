package io.pgha.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.ConfigurationException;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class UnknownKeysTest {
    private static final String NODE = """
            scope: s
            name: n
            """;
    private static final String PG = """
            postgresql:
              listen: 127.0.0.1:5432
              data_dir: /tmp/d
              authentication:
                replication: {username: r, password: p}
            """;
    private static final String ETCD = "etcd3: {hosts: 127.0.0.1:2379}\n";

    private static AgentConfig parse(String yaml) {
        return AgentConfig.parse(yaml, "patroni.yml");
    }

    @Test
    void aMisspeltRestapiKeyStopsTheAgentNamingTheKeyAndTheOneItMeant() {
        assertThatThrownBy(() -> parse(NODE + ETCD + PG + """
                restapi:
                  listen: 127.0.0.1:8008
                  certfil: /etc/pgha/rest.pem
                """))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("restapi.certfil: unknown key (did you mean restapi.certfile?) (at patroni.yml:11:3)")
                .extracting(e -> ((ConfigurationException) e).setting()).isEqualTo("restapi.certfil");
    }

    @ParameterizedTest(name = "{0} is refused, suggesting {1}")
    @CsvSource({
            "'restapi: {listen: 127.0.0.1:8008, verify_clinet: required}', restapi.verify_clinet, restapi.verify_client",
            "'restapi: {listen: 127.0.0.1:8008, authentication: {username: u, pasword: p}}', restapi.authentication.pasword, restapi.authentication.password",
            "'ctl: {insecrue: true}', ctl.insecrue, ctl.insecure",
            "'ctl: {authentication: {user: u, password: p}}', ctl.authentication.user, ctl.authentication.username",
            "'consul: {host: 127.0.0.1:8500, tokn: t}', consul.tokn, consul.token",
            "'zookeeper: {hosts: [127.0.0.1:2181], usessl: true}', zookeeper.usessl, zookeeper.use_ssl",
    })
    void aMisspeltKeyInACheckedSectionIsRefusedWithASuggestion(String section, String key, String meant) {
        String store = section.startsWith("consul") || section.startsWith("zookeeper") ? "" : ETCD;
        assertThatThrownBy(() -> parse(NODE + store + PG + section + "\n"))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith(key + ": unknown key (did you mean " + meant + "?)");
    }

    @Test
    void aMisspeltKeyInTheEtcdSectionIsRefused() {
        for (String section : new String[] {"etcd3", "etcd"}) {
            assertThatThrownBy(() -> parse(NODE + PG + section + ": {hosts: 127.0.0.1:2379, cacrt: /ca.pem}\n"))
                    .hasMessageStartingWith(section + ".cacrt: unknown key (did you mean " + section + ".cacert?)");
        }
    }

    @Test
    void aMisspeltKeyOfAPostgresqlUserIsRefused() {
        String pg = PG.replace("replication: {username: r, password: p}", "replication: {username: r, password: p, sslmod: verify-full}");
        assertThatThrownBy(() -> parse(NODE + ETCD + pg))
                .hasMessageStartingWith("postgresql.authentication.replication.sslmod: unknown key "
                        + "(did you mean postgresql.authentication.replication.sslmode?)");
        String superuser = PG + "    superusr: {username: postgres, password: x}\n";
        assertThatThrownBy(() -> parse(NODE + ETCD + superuser))
                .hasMessageStartingWith("postgresql.authentication.superusr: unknown key (did you mean postgresql.authentication.superuser?)");
    }

    @Test
    void aKeyFarFromEveryKnownOneIsRefusedWithoutASuggestion() {
        assertThatThrownBy(() -> parse(NODE + ETCD + PG + "restapi: {listen: 127.0.0.1:8008, colour: blue}\n"))
                .hasMessage("restapi.colour: unknown key (at patroni.yml:9:35)");
    }

    @Test
    void aStoreUnderBootstrapDcsIsCheckedLikeOneAtTheTopLevel() {
        assertThatThrownBy(() -> parse(NODE + PG + """
                bootstrap:
                  dcs:
                    etcd: {hosts: 127.0.0.1:2379, pasword: x}
                """))
                .hasMessageStartingWith("bootstrap.dcs.etcd.pasword: unknown key (did you mean bootstrap.dcs.etcd.password?)");
    }

    @Test
    void aStoreUnderBootstrapDcsListsTheKeysPghaIgnores() {
        AgentConfig c = parse(NODE + PG + """
                bootstrap:
                  dcs:
                    etcd: {hosts: 127.0.0.1:2379, use_proxies: true}
                """);
        assertThat(c.unsupported()).containsExactly("bootstrap.dcs.etcd.use_proxies");
    }

    @Test
    void keysPatroniKnowsAndPghaDoesNotImplementAreListedNotRefused() {
        AgentConfig c = parse(NODE + PG + """
                restapi:
                  listen: 127.0.0.1:8008
                  ciphers: HIGH
                  thread_pool_size: 8
                  server_tokens: Minimal
                zookeeper:
                  hosts: [127.0.0.1:2181]
                  auth_data: {digest: 'u:p'}
                """);
        assertThat(c.unsupported()).containsExactlyInAnyOrder("restapi.ciphers", "restapi.server_tokens");
    }

    @Test
    void ignoringASettingThatWouldProtectTheNodeIsWarnedWithWhatItLeavesOpen() {
        AgentConfig c = parse(NODE + PG.replace("replication: {username: r, password: p}",
                "replication: {username: r, password: p, sslmode: verify-full, sslrootcert: /ca.pem, channel_binding: require}") + """
                restapi:
                  listen: 127.0.0.1:8008
                  ciphers: 'HIGH:!aNULL'
                  allowlist: [10.0.0.0/8]
                  allowlist_include_members: true
                zookeeper:
                  hosts: [127.0.0.1:2181]
                  set_acls: {'CN=pgha': [ALL]}
                """);
        assertThat(c.warnings()).as("the allowlist is acted on now").noneMatch(w -> w.contains("allowlist"));
        assertThat(c.restapi().orElseThrow().allowlist()).containsExactly("10.0.0.0/8");
        assertThat(c.warnings())
                .anySatisfy(w -> assertThat(w).isEqualTo("restapi.ciphers: not supported by pgha, "
                        + "ignored: the REST API offers the JVM's default TLS cipher suites"));
        assertThat(c.warnings()).as("the ssl* keys, gssencmode and channel_binding are acted on now")
                .noneMatch(w -> w.contains(".ssl") || w.contains("channel_binding"));
        assertThat(c.postgresql().replication().ssl()).containsEntry("channel_binding", "require");
        assertThat(c.warnings()).as("set_acls is acted on now").noneMatch(w -> w.contains("set_acls"));
        assertThat(c.unsupported()).doesNotContain("restapi.allowlist", "zookeeper.set_acls",
                        "postgresql.authentication.replication.channel_binding", "postgresql.authentication.replication.sslmode",
                        "postgresql.authentication.replication.sslrootcert")
                .contains("restapi.ciphers");
    }

    @Test
    void everyKeyPatroniDocumentsForTheCheckedSectionsIsAccepted() {
        AgentConfig c = parse(NODE + """
                restapi:
                  listen: 127.0.0.1:8008
                  connect_address: 127.0.0.1:8008
                  authentication: {username: u, password: p}
                  certfile: /c.pem
                  keyfile: /k.pem
                  keyfile_password: x
                  cafile: /ca.pem
                  ciphers: HIGH
                  verify_client: optional
                  allowlist: [127.0.0.1]
                  allowlist_include_members: true
                  http_extra_headers: {X-A: b}
                  https_extra_headers: {X-B: c}
                  request_queue_size: 5
                  server_tokens: Original
                  thread_pool_size: 5
                ctl: {insecure: false, cacert: /ca.pem, certfile: /c.pem, keyfile: /k.pem, keyfile_password: x,
                      authentication: {username: u, password: p}}
                etcd3: {hosts: [127.0.0.1:2379], protocol: https, username: u, password: p, cacert: /ca.pem, cert: /c.pem,
                        key: /k.pem, srv_suffix: a, use_proxies: false}
                postgresql:
                  listen: 127.0.0.1:5432
                  data_dir: /tmp/d
                  authentication:
                    superuser: {username: postgres, password: x, sslmode: require, sslkey: /k, sslpassword: p, sslcert: /c,
                                sslrootcert: /r, sslcrl: /l, sslcrldir: /d, sslnegotiation: postgres, gssencmode: disable,
                                channel_binding: prefer}
                    replication: {username: r, password: p}
                    rewind: {username: w, password: p}
                """);
        assertThat(c.unsupported()).allSatisfy(k -> assertThat(k).doesNotStartWith("ctl"));
        assertThat(c.restapi().orElseThrow().username()).contains("u");
    }

    @Test
    void everyKeyPatroniDocumentsForConsulAndZooKeeperIsAccepted() {
        String consul = """
                consul: {host: 127.0.0.1, port: 8501, scheme: https, token: t, verify: true, cacert: /ca.pem, cert: /c.pem,
                         key: /k.pem, dc: dc1, consistency: consistent, checks: [], register_service: true, service_tags: [a],
                         service_check_interval: 5s, service_check_tls_server_name: x}
                """;
        AgentConfig c = parse(NODE + PG + consul);
        assertThat(c.dcs()).isInstanceOfSatisfying(AgentConfig.DcsConfig.Consul.class,
                cs -> assertThat(cs.url()).isEqualTo("https://127.0.0.1:8501"));
        AgentConfig z = parse(NODE + PG + """
                zookeeper: {hosts: [127.0.0.1:2281], use_ssl: true, cacert: /ca.pem, cert: /c.pem, key: /k.pem, verify: false,
                            set_acls: {'CN=a': [ALL]}, auth_data: {digest: 'u:p'}}
                """);
        assertThat(z.unsupported()).isEmpty();
    }

    @Test
    void theOlderRestapiAuthSpellingProtectsTheRestApiAsInPatroni() {
        AgentConfig c = parse(NODE + ETCD + PG + "restapi: {listen: 127.0.0.1:8008, auth: 'admin:se:cret'}\n");
        assertThat(c.restapi().orElseThrow().username()).contains("admin");
        assertThat(c.restapi().orElseThrow().password()).contains(new Secret("se:cret"));
        assertThat(c.unsupported()).isEmpty();
        assertThatThrownBy(() -> parse(NODE + ETCD + PG + "restapi: {listen: 127.0.0.1:8008, auth: nocolon}\n"))
                .hasMessageStartingWith("restapi.auth: expected 'username:password'").hasMessageNotContaining("nocolon");
    }

    @Test
    void aRestapiAuthenticationWithoutAPasswordIsRefused() {
        assertThatThrownBy(() -> parse(NODE + ETCD + PG + "restapi: {listen: 127.0.0.1:8008, authentication: {username: u}}\n"))
                .hasMessageStartingWith("restapi.authentication: needs both username and password");
    }

    @Test
    void etcdDiscoveryByDnsIsRefusedWhenItIsTheOnlyWayToTheStore() {
        assertThatThrownBy(() -> parse(NODE + PG + "etcd3: {srv: example.org}\n"))
                .hasMessageStartingWith("etcd3.srv: not supported by pgha; list the etcd endpoints in etcd3.hosts");
    }

    @Test
    void consulsPortWinsOverThePortInHostAsInPatroni() {
        AgentConfig c = parse(NODE + PG + "consul: {host: 'consul.local:8500', port: 8600}\n");
        assertThat(((AgentConfig.DcsConfig.Consul) c.dcs()).url()).isEqualTo("http://consul.local:8600");
    }

    @Test
    void theCtlSectionIsCheckedButNotListedAsUnsupported() {
        AgentConfig c = parse(NODE + ETCD + PG + "ctl: {insecure: true, cacert: /ca.pem}\n");
        assertThat(c.unsupported()).isEmpty();
        assertThat(c.warnings()).isEmpty();
        AgentConfig withCert = parse(NODE + ETCD + PG + "ctl: {certfile: /c.pem, keyfile: /k.pem}\n");
        assertThat(withCert.warnings()).containsExactly("ctl.certfile: used by pghactl only; the agent calls its peers' REST "
                + "APIs without a client certificate (Patroni presents this one)");
    }

    @Test
    void otherSectionsKeepListingUnknownKeysAsUnsupported() {
        AgentConfig c = parse(NODE + ETCD + PG + "thread_pool_size: 8\nlog: {level: INFO, colour: true}\npostgresql_extra: 1\n");
        assertThat(c.unsupported()).containsExactlyInAnyOrder("thread_pool_size", "log.colour", "postgresql_extra");
    }

    @Test
    void aSuggestionIsTheNearestKnownKeyByEditDistance() {
        Set<String> keys = PatroniKeys.RESTAPI;
        assertThat(YamlNode.closest("certfiel", keys)).contains("certfile");
        assertThat(YamlNode.closest("CertFile", keys)).contains("certfile");
        assertThat(YamlNode.closest("verify-client", keys)).contains("verify_client");
        assertThat(YamlNode.closest("connect_adress", keys)).contains("connect_address");
        assertThat(YamlNode.closest("zzz", keys)).isEmpty();
        assertThat(YamlNode.closest("certfile", PatroniKeys.ETCD)).as("a longer spelling of a key").contains("cert");
        assertThat(YamlNode.closest("user", PatroniKeys.LOGIN)).as("a shorter spelling of a key").contains("username");
    }

    @Test
    void patronisEnvironmentVariablesForTheCheckedSectionsAreApplied() {
        AgentConfig c = AgentConfig.parse(NODE + ETCD + PG + "restapi: {listen: 127.0.0.1:8008}\n", "patroni.yml",
                Map.of("PATRONI_RESTAPI_CAFILE", "/ca.pem", "PATRONI_RESTAPI_ALLOWLIST", "10.0.0.1",
                        "PATRONI_REPLICATION_SSLMODE", "verify-full", "PATRONI_ETCD3_CACERT", "/etcd-ca.pem"));
        assertThat(c.restapi().orElseThrow().cafile()).hasValueSatisfying(p -> assertThat(p).hasToString("/ca.pem"));
        assertThat(((AgentConfig.DcsConfig.Etcd) c.dcs()).cacert()).hasValueSatisfying(p -> assertThat(p).hasToString("/etcd-ca.pem"));
        assertThat(c.restapi().orElseThrow().allowlist()).containsExactly("10.0.0.1");
        assertThat(c.postgresql().replication().ssl()).containsEntry("sslmode", "verify-full");
        assertThat(c.unsupported()).isEmpty();
    }
}
