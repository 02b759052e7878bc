package io.pgha.postgres;

import io.pgha.spi.PostgresState;
import io.pgha.spi.StopMode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

import static io.pgha.postgres.PgSandbox.await;
import static io.pgha.postgres.PgSandbox.upstream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Every connection pgha makes to PostgreSQL over TLS with {@code sslmode=verify-full}, on real
 * servers that accept nothing else over TCP ({@code hostssl} lines only: {@code cert} for the
 * replication role, {@code scram-sha-256 clientcert=verify-full} for the superuser and the rewind
 * role): pgha's own JDBC connections (observe, the divergence check's walsender connection, the
 * checkpoint before pg_rewind), pg_basebackup, the standby's walreceiver ({@code primary_conninfo})
 * and pg_rewind; each role's client key in another PEM form, the replication role's encrypted, its
 * passphrase in no argument and no connection string. A server certificate from another CA is
 * refused with {@link TlsFailedException} naming the key.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TlsToPostgresTest {
    private static final Duration T = Duration.ofSeconds(30);

    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(false);

    private TestPki pki;
    private PgController a;
    private PgController b;

    @BeforeAll
    void servers() {
        pki = TestPki.create(sandbox.root().resolve("pki"));
        a = sandbox.register(tls(sandbox.builder("a"), pki.ca(), pki.ca()).build());
        b = sandbox.register(tls(sandbox.builder("b"), pki.ca(), pki.ca()).build());
    }

    /** The server's TLS settings, hostssl-only pg_hba, and the three roles' keys with verify-full. */
    private PgController.Builder tls(PgController.Builder builder, Path superuserCa, Path replicationCa) {
        String dir = pki.dir().toString();
        return builder
                .parameter("ssl", "on")
                .parameter("ssl_cert_file", dir + "/server.crt")
                .parameter("ssl_key_file", dir + "/server.key")
                .parameter("ssl_ca_file", dir + "/ca.crt")
                .hba(List.of(
                        "local     all           all                      peer",
                        "hostssl   replication   replicator   127.0.0.1/32   cert",
                        "hostssl   all           postgres     127.0.0.1/32   scram-sha-256 clientcert=verify-full",
                        "hostssl   all           rewinder     127.0.0.1/32   scram-sha-256 clientcert=verify-full"))
                .ssl("superuser", "sslmode", "verify-full")
                .ssl("superuser", "sslrootcert", superuserCa.toString())
                .ssl("superuser", "sslcert", pki.cert("postgres").toString())
                .ssl("superuser", "sslkey", pki.key("postgres").toString())
                .ssl("replication", "sslmode", "verify-full")
                .ssl("replication", "sslrootcert", replicationCa.toString())
                .ssl("replication", "sslcert", pki.cert("replicator").toString())
                .ssl("replication", "sslkey", pki.key("replicator").toString())
                .ssl("replication", "sslpassword", TestPki.REPLICATION_KEY_PASSWORD)
                .ssl("rewind", "sslmode", "verify-full")
                .ssl("rewind", "sslrootcert", pki.ca().toString())
                .ssl("rewind", "sslcert", pki.cert("rewinder").toString())
                .ssl("rewind", "sslkey", pki.key("rewinder").toString());
    }

    @Test
    @Order(1)
    void the_client_keys_are_in_three_pem_forms() throws Exception {
        assertThat(pki.text("postgres.key")).contains("BEGIN EC PRIVATE KEY");
        assertThat(pki.text("replicator.key")).contains("BEGIN ENCRYPTED PRIVATE KEY");
        assertThat(pki.text("rewinder.key")).contains("BEGIN RSA PRIVATE KEY");
    }

    @Test
    @Order(2)
    void a_primary_bootstraps_and_pgha_reaches_it_over_tls_only() throws Exception {
        await(a.bootstrap());

        PostgresState s = await(a.observe());
        assertThat(s.isRunningPrimary()).isTrue();
        try (Connection c = sql(a); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY)");
            st.execute("INSERT INTO t VALUES (1)");
            assertThat(string(st, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).isEqualTo("true");
            // pgha's pooled observe connection is one of the TLS ones, with the superuser's client certificate
            assertThat(string(st, "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)"
                    + " WHERE a.application_name = 'pgha-a' AND s.ssl AND s.client_dn = '/CN=postgres'")).isEqualTo("1");
        }
    }

    @Test
    @Order(3)
    void a_standby_clones_with_pg_basebackup_and_streams_over_tls() throws Exception {
        await(b.cloneFrom(upstream(a)));
        await(b.follow(Optional.of(upstream(a)), T));

        awaitStreaming(b, a);
        try (Connection c = sql(a); Statement st = c.createStatement()) {
            assertThat(string(st, "SELECT s.ssl::text || ' ' || s.client_dn FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)"
                    + " WHERE r.application_name = 'b'")).isEqualTo("true /CN=replicator");
            st.execute("INSERT INTO t VALUES (2)");
        }
        await().atMost(T).until(() -> count(b, "SELECT count(*) FROM t") == 2);
        String conf = Files.readString(b.dataDirectory().resolve("pgha.conf")) + Files.readString(b.dataDirectory().resolve("postgresql.auto.conf"));
        assertThat(conf).contains("sslmode=verify-full").contains("service=pgha_replication")
                .doesNotContain(TestPki.REPLICATION_KEY_PASSWORD);
    }

    @Test
    @Order(4)
    void the_divergence_check_reads_the_upstream_over_a_tls_replication_connection() {
        assertThat(await(b.checkDivergence(upstream(a)))).isEqualTo(io.pgha.spi.DivergenceCheck.NOT_DIVERGED);
    }

    @Test
    @Order(5)
    void the_old_primary_is_rewound_over_tls_and_streams_from_the_new_one() throws Exception {
        await(a.stop(StopMode.FAST, T));
        await(b.promote(T));
        try (Connection c = sql(b); Statement st = c.createStatement()) {
            st.execute("INSERT INTO t VALUES (3)");
        }

        await(a.rewind(upstream(b)));
        await(a.follow(Optional.of(upstream(b)), T));

        awaitStreaming(a, b);
        await().atMost(T).until(() -> count(a, "SELECT count(*) FROM t") == 3);
    }

    @Test
    @Order(6)
    void a_server_certificate_from_another_ca_fails_the_clone_naming_the_replication_root_certificate() {
        PgController y = sandbox.register(tls(sandbox.builder("y"), pki.ca(), pki.otherCa()).build());

        assertThatThrownBy(() -> await(y.cloneFrom(upstream(b))))
                .isInstanceOfSatisfying(TlsFailedException.class, e -> {
                    assertThat(e.setting()).isEqualTo("postgresql.authentication.replication.sslrootcert");
                    assertThat(e.getMessage()).contains("postgresql.authentication.replication.sslrootcert")
                            .contains("verify-full").doesNotContain(TestPki.REPLICATION_KEY_PASSWORD);
                });
    }

    @Test
    @Order(7)
    void a_server_certificate_from_another_ca_fails_pghas_own_connections_naming_the_root_certificate() {
        // second controllers over a's running server (its data directory and port), each trusting the wrong CA for one role
        PgController wrongForReplication = sandbox.register(tls(over(a, "a2"), pki.ca(), pki.otherCa()).build());
        PgController wrongForSuperuser = sandbox.register(tls(over(a, "a3"), pki.otherCa(), pki.ca()).build());

        assertThatThrownBy(() -> await(wrongForReplication.checkDivergence(upstream(b))))
                .isInstanceOfSatisfying(TlsFailedException.class, e -> {
                    assertThat(e.setting()).isEqualTo("postgresql.authentication.replication.sslrootcert");
                    assertThat(e.getMessage()).contains("127.0.0.1").contains("verify-full")
                            .doesNotContain(TestPki.REPLICATION_KEY_PASSWORD);
                });
        assertThatThrownBy(() -> await(wrongForSuperuser.observe()))
                .isInstanceOfSatisfying(TlsFailedException.class, e -> {
                    assertThat(e.setting()).isEqualTo("postgresql.authentication.superuser.sslrootcert");
                    assertThat(e.getMessage()).doesNotContain(PgSandbox.SUPER_PASSWORD);
                });
    }

    @Test
    @Order(8)
    void a_revoked_server_certificate_is_refused_naming_the_revocation_list_and_an_unrevoked_one_passes() {
        Path revoked = pki.dir().resolve("server-revoked.crl");
        PgController checksNothingRevoked = sandbox.register(tls(over(a, "a4"), pki.ca(), pki.ca())
                .ssl("replication", "sslcrl", pki.dir().resolve("nothing-revoked.crl").toString()).build());
        PgController checksRevoked = sandbox.register(tls(over(a, "a5"), pki.ca(), pki.ca())
                .ssl("replication", "sslcrl", revoked.toString()).build());
        PgController clonesRevoked = sandbox.register(tls(sandbox.builder("w"), pki.ca(), pki.ca())
                .ssl("replication", "sslcrl", revoked.toString()).build());

        assertThat(await(checksNothingRevoked.checkDivergence(upstream(b)))).isNotNull();
        assertThatThrownBy(() -> await(checksRevoked.checkDivergence(upstream(b))))
                .isInstanceOfSatisfying(TlsFailedException.class,
                        e -> assertThat(e.setting()).isEqualTo("postgresql.authentication.replication.sslcrl"));
        assertThatThrownBy(() -> await(clonesRevoked.cloneFrom(upstream(b))))
                .isInstanceOfSatisfying(TlsFailedException.class,
                        e -> assertThat(e.setting()).as(e.getMessage()).isEqualTo("postgresql.authentication.replication.sslcrl"));
    }

    @Test
    @Order(9)
    void channel_binding_require_logs_in_with_scram_bound_to_tls_and_refuses_a_login_that_cannot_be_bound() {
        // the superuser logs in with scram-sha-256 over TLS: the password exchange is bound to the TLS connection
        PgController bound = sandbox.register(tls(over(a, "a6"), pki.ca(), pki.ca())
                .ssl("superuser", "channel_binding", "require").build());
        // the replication role logs in with a certificate only (pg_hba "cert"): there is no SCRAM exchange to bind
        PgController unbindable = sandbox.register(tls(over(a, "a7"), pki.ca(), pki.ca())
                .ssl("replication", "channel_binding", "require").build());

        PostgresState seen = await(bound.observe());
        assertThat(seen.isRunningPrimary() || seen.isRunningReplica()).as("a's server answered the bound login").isTrue();
        assertThatThrownBy(() -> await(unbindable.checkDivergence(upstream(b))))
                .isInstanceOfSatisfying(TlsFailedException.class, e -> {
                    assertThat(e.setting()).as(e.getMessage()).isEqualTo("postgresql.authentication.replication.channel_binding");
                    assertThat(e.getMessage()).doesNotContain(TestPki.REPLICATION_KEY_PASSWORD);
                });
    }

    @Test
    @Order(10)
    void gssencmode_require_is_refused_by_a_server_without_gssapi_encryption_naming_the_key() {
        PgController gss = sandbox.register(tls(over(a, "a8"), pki.ca(), pki.ca())
                .ssl("superuser", "gssencmode", "require").build());

        assertThatThrownBy(() -> await(gss.observe()))
                .isInstanceOfSatisfying(TlsFailedException.class,
                        e -> assertThat(e.setting()).as(e.getMessage()).isEqualTo("postgresql.authentication.superuser.gssencmode"));
    }

    @Test
    void channel_binding_require_without_tls_is_refused_when_the_controller_is_built() {
        assertThatThrownBy(() -> sandbox.builder("nobind").ssl("superuser", "sslmode", "disable")
                .ssl("superuser", "channel_binding", "require").build())
                .isInstanceOfSatisfying(io.pgha.ConfigurationException.class,
                        e -> assertThat(e.setting()).isEqualTo("postgresql.authentication.superuser.channel_binding"));
        assertThatThrownBy(() -> sandbox.builder("badgss").ssl("superuser", "gssencmode", "allow"))
                .isInstanceOfSatisfying(io.pgha.ConfigurationException.class,
                        e -> assertThat(e.getMessage()).contains("gssencmode").contains("disable, prefer or require"));
    }

    private PgController.Builder over(PgController running, String name) {
        return PgController.builder().name(name).dataDirectory(running.dataDirectory())
                .workDirectory(sandbox.root().resolve(name + ".pgha")).port(ConnUrl.parse(running.connectionUrl()).port())
                .superuser("postgres", PgSandbox.SUPER_PASSWORD).replicationUser("replicator", PgSandbox.REPL_PASSWORD)
                .rewindUser("rewinder", PgSandbox.REWIND_PASSWORD);
    }

    private static void awaitStreaming(PgController standby, PgController from) {
        await().atMost(T).until(() -> {
            PostgresState s = await(standby.observe());
            return s.isRunningReplica() && s.streaming() && s.upstream().equals(Optional.of(upstream(from)));
        });
    }

    /** The test's own SQL: pgjdbc's own TLS factory (DER PKCS#8 key), a cross-check of the server's setup. */
    private Connection sql(PgController c) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("password", PgSandbox.SUPER_PASSWORD);
        p.setProperty("sslmode", "verify-full");
        p.setProperty("sslrootcert", pki.ca().toString());
        p.setProperty("sslcert", pki.cert("postgres").toString());
        p.setProperty("sslkey", pki.dir().resolve("postgres.pk8").toString());
        p.setProperty("connectTimeout", "5");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + ConnUrl.parse(c.connectionUrl()).port() + "/postgres", p);
    }

    private int count(PgController c, String query) throws SQLException {
        try (Connection conn = sql(c); Statement st = conn.createStatement()) {
            return Integer.parseInt(string(st, query));
        }
    }

    private static String string(Statement st, String query) throws SQLException {
        try (ResultSet rs = st.executeQuery(query)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
