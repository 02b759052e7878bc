package io.pgha.postgres;

import io.pgha.ConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The TLS keys of pgha's roles as the builder checks them (each named by its Patroni key) and as
 * they go into libpq connection strings (the key's passphrase never).
 */
class TlsSettingsTest {
    @TempDir
    Path tmp;

    private PgController.Builder builder() {
        return PgController.builder().name("n").dataDirectory(tmp.resolve("data")).port(PgSandbox.freePort())
                .superuser("postgres", "su").replicationUser("replicator", "re");
    }

    private Path file(String name) throws Exception {
        return Files.writeString(tmp.resolve(name), "pem");
    }

    @Test
    void an_unknown_role_key_or_mode_is_named_by_its_patroni_key() {
        assertThatThrownBy(() -> builder().ssl("admin", "sslmode", "require"))
                .isInstanceOfSatisfying(ConfigurationException.class, e -> assertThat(e.setting()).isEqualTo("postgresql.authentication.admin"));
        assertThatThrownBy(() -> builder().ssl("replication", "sslcompression", "1"))
                .isInstanceOfSatisfying(ConfigurationException.class,
                        e -> assertThat(e.setting()).isEqualTo("postgresql.authentication.replication.sslcompression"));
        assertThatThrownBy(() -> builder().ssl("replication", "sslmode", "verify_full"))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("postgresql.authentication.replication.sslmode: expected disable, allow, prefer, require, verify-ca or verify-full");
        assertThatThrownBy(() -> builder().ssl("superuser", "sslnegotiation", "fast"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("postgresql.authentication.superuser.sslnegotiation: ");
    }

    @Test
    void a_file_pgha_cannot_read_and_a_second_value_are_refused_at_once() throws Exception {
        assertThatThrownBy(() -> builder().ssl("superuser", "sslrootcert", tmp.resolve("missing.crt").toString()))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("postgresql.authentication.superuser.sslrootcert: cannot read the file");
        assertThatThrownBy(() -> builder().ssl("superuser", "sslcrldir", file("not-a-dir").toString()))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("postgresql.authentication.superuser.sslcrldir: not a directory");
        assertThatThrownBy(() -> builder().ssl("superuser", "sslmode", "require").ssl("superuser", "sslmode", "disable"))
                .isInstanceOf(ConfigurationException.class).hasMessage("postgresql.authentication.superuser.sslmode: was already set");
        assertThat(builder().ssl("superuser", "sslrootcert", "system")).as("libpq's word for the system's CAs").isNotNull();
    }

    @Test
    void the_combinations_libpq_would_refuse_are_refused_at_build() throws Exception {
        String cert = file("c.crt").toString();
        String key = file("c.key").toString();
        assertThatThrownBy(() -> builder().ssl("replication", "sslmode", "verify-full").build())
                .isInstanceOfSatisfying(ConfigurationException.class,
                        e -> assertThat(e.setting()).isEqualTo("postgresql.authentication.replication.sslrootcert"));
        assertThatThrownBy(() -> builder().ssl("replication", "sslcert", cert).build())
                .isInstanceOfSatisfying(ConfigurationException.class,
                        e -> assertThat(e.setting()).isEqualTo("postgresql.authentication.replication.sslkey"));
        assertThatThrownBy(() -> builder().ssl("superuser", "sslpassword", "pw").build())
                .isInstanceOfSatisfying(ConfigurationException.class,
                        e -> assertThat(e.setting()).isEqualTo("postgresql.authentication.superuser.sslpassword"));
        assertThatThrownBy(() -> builder().ssl("superuser", "sslnegotiation", "direct").build())
                .isInstanceOfSatisfying(ConfigurationException.class,
                        e -> assertThat(e.setting()).isEqualTo("postgresql.authentication.superuser.sslnegotiation"));
        assertThatThrownBy(() -> builder().ssl("rewind", "sslmode", "require").build())
                .isInstanceOfSatisfying(ConfigurationException.class,
                        e -> assertThat(e.setting()).isEqualTo("postgresql.authentication.rewind"));
        assertThatThrownBy(() -> builder().ssl("superuser", "sslcert", cert).ssl("superuser", "sslkey", key)
                .ssl("superuser", "sslpassword", " padded ")).isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("postgresql.authentication.superuser.sslpassword: ").hasMessageNotContaining("padded");
    }

    @Test
    void direct_tls_negotiation_needs_the_libpq_of_postgresql_17() {
        PgController.Builder b = builder().ssl("superuser", "sslmode", "require").ssl("superuser", "sslnegotiation", "direct");
        if (Binaries.locate(Optional.empty()).major() < 17) {
            assertThatThrownBy(b::build).isInstanceOfSatisfying(ConfigurationException.class, e -> {
                assertThat(e.setting()).isEqualTo("postgresql.authentication.superuser.sslnegotiation");
                assertThat(e.getMessage()).contains("PostgreSQL 17");
            });
        } else {
            b.build().close();
        }
    }

    @Test
    void an_operators_command_gets_the_keys_in_the_url_query_and_the_passphrase_only_by_its_service() {
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put("sslrootcert", "/etc/pg tls/ca.crt");
        keys.put("sslmode", "verify-full");
        keys.put("sslkey", "/k.key");
        keys.put("sslpassword", "s3cret");
        PgSsl ssl = new PgSsl("postgresql.authentication.superuser", keys);

        assertThat(ssl.uriQuery("pgha_superuser"))
                .isEqualTo("?sslmode=verify-full&sslrootcert=%2Fetc%2Fpg%20tls%2Fca.crt&sslkey=%2Fk.key&service=pgha_superuser");
        assertThat(PgSsl.NONE.uriQuery("pgha_superuser")).isEmpty();
    }

    @Test
    void a_connection_string_carries_the_keys_but_names_the_passphrase_only_by_its_service() throws Exception {
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put("sslmode", "verify-full");
        keys.put("sslrootcert", "/etc/pg tls/ca.crt");
        keys.put("sslkey", "/k.key");
        keys.put("sslpassword", "s3cret phrase");
        keys.put("sslnegotiation", "postgres");
        PgUser user = new PgUser("replicator", "pw", new PgSsl("postgresql.authentication.replication", keys));

        String conninfo = CopyPrograms.conninfo(ConnUrl.parse("postgres://10.0.0.1:5432/postgres"), user, Optional.empty(), "clone");

        assertThat(conninfo).endsWith(" sslmode=verify-full sslrootcert='/etc/pg tls/ca.crt' sslkey=/k.key service=pgha_replication")
                .doesNotContain("s3cret").doesNotContain("sslnegotiation");
        assertThat(user.toString()).contains("verify-full").doesNotContain("s3cret");
        assertThat(new PgUser("r", "pw").ssl().conninfo(Optional.empty())).as("no keys, libpq's defaults").isEmpty();
    }

    @Test
    void the_passphrase_is_written_to_the_service_file_readable_by_its_owner_only_and_primary_conninfo_names_it() throws Exception {
        PgSsl ssl = new PgSsl("postgresql.authentication.replication", Map.of("sslmode", "verify-ca", "sslrootcert", "/ca.crt",
                "sslcert", "/c.crt", "sslkey", "/c.key", "sslpassword", "k3y-pass"));
        PgConfig cfg = new PgConfig("node-1", tmp.resolve("data"), tmp.resolve("work"), Optional.empty(), Optional.empty(), "127.0.0.1",
                5433, "127.0.0.1", "127.0.0.1", "", new PgUser("postgres", "su:pw"), new PgUser("replicator", "re:pw", ssl),
                Optional.empty(), "UTF8", Optional.empty(), false, ManagedFiles.defaultHba(), Map.of(),
                true, false, true, java.time.Duration.ofSeconds(2), java.time.Duration.ofSeconds(5), java.time.Duration.ofHours(1),
                java.time.Duration.ofMillis(100), java.util.List.of(), Optional.empty(), Optional.empty(), Optional.empty(), Map.of(),
                java.util.List.of(ReplicaMethod.basebackup()), Optional.empty(), Optional.empty(), Optional.empty(), "pgha", Optional.empty());
        Files.createDirectories(cfg.workDirectory());
        ManagedFiles files = new ManagedFiles(cfg, new Fs(java.util.OptionalInt.empty(), java.util.OptionalInt.empty()));

        files.writePassFile();

        Path service = cfg.workDirectory().resolve("pg_service.conf");
        assertThat(files.serviceFile()).isEqualTo(service);
        assertThat(Files.readString(service)).contains("[pgha_replication]\nsslpassword=k3y-pass\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(service))).isEqualTo("rw-------");
        assertThat(Files.readString(cfg.workDirectory().resolve("pgpass"))).doesNotContain("k3y-pass");
        assertThat(files.primaryConninfo(new io.pgha.spi.Upstream("node-2", "postgres://10.0.0.2:5432/postgres")))
                .contains(" sslmode=verify-ca sslrootcert=/ca.crt sslcert=/c.crt sslkey=/c.key service=pgha_replication")
                .doesNotContain("k3y-pass");
    }
}
