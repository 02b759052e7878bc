package io.pgha.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.ConfigurationException;
import io.pgha.agent.config.AgentConfig;
import io.pgha.postgres.PgController;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresFromConfigTest {
    private static AgentConfig config(String postgresqlExtra, String bootstrapExtra) {
        return config(postgresqlExtra, bootstrapExtra, "{username: r, password: p}");
    }

    private static AgentConfig config(String postgresqlExtra, String bootstrapExtra, String replication) {
        return AgentConfig.parse("scope: s\nname: n1\nrestapi: {listen: 127.0.0.1:8008}\netcd3: {hosts: 127.0.0.1:2379}\n"
                + "bootstrap:\n  dcs: {ttl: 30}\n" + bootstrapExtra
                + "postgresql:\n  listen: 127.0.0.1:5432\n  data_dir: /tmp/pgha-unused-data\n"
                + "  authentication:\n    superuser: {username: postgres, password: su}\n    replication: " + replication + "\n"
                + postgresqlExtra, "test");
    }

    @Test
    void theMembersOwnPgHbaWinsOverTheBootstrapOneInsteadOfBeingRefused() {
        List<String> warnings = new ArrayList<>();
        try (PgController pg = PostgresFromConfig.build(config("  pg_hba: [host all all 10.0.0.0/8 scram-sha-256]\n",
                "  pg_hba: [host all all 0.0.0.0/0 md5]\n"), warnings::add)) {
            assertThat(pg.name()).isEqualTo("n1");
        }
    }

    @Test
    void aLocalValueOfASettingEveryMemberSharesIsNamedAndLeftToTheDynamicConfiguration() {
        List<String> warnings = new ArrayList<>();
        try (PgController pg = PostgresFromConfig.build(config("  parameters: {max_connections: 200, wal_level: replica,"
                + " work_mem: 8MB}\n", ""), warnings::add)) {
            assertThat(warnings).anySatisfy(w -> assertThat(w).contains("[max_connections]").contains("dynamic configuration"));
            assertThat(warnings).noneMatch(w -> w.contains("wal_level"));
        }
    }

    @Test
    void patronisTlsKeysOfAnAuthenticationRoleReachTheControllerAndTheKeyPassphraseStaysHidden(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.crt"), "ca");
        Path cert = Files.writeString(dir.resolve("r.crt"), "cert");
        Path key = Files.writeString(dir.resolve("r.key"), "key");
        AgentConfig c = config("", "", "{username: r, password: p, sslmode: verify-full, sslrootcert: " + ca + ", sslcert: " + cert
                + ", sslkey: " + key + ", sslpassword: 'k3y-s3cret'}");

        AgentConfig.Credentials r = c.postgresql().replication();
        assertThat(r.ssl()).containsEntry("sslmode", "verify-full").containsEntry("sslrootcert", ca.toString())
                .doesNotContainKey("sslpassword");
        assertThat(r.sslPassword().orElseThrow().revealString()).isEqualTo("k3y-s3cret");
        assertThat(r.toString()).doesNotContain("k3y-s3cret");
        try (PgController pg = PostgresFromConfig.build(c, w -> { })) {
            assertThat(pg.name()).isEqualTo("n1");
        }
    }

    @Test
    void aTlsKeyOfAnAuthenticationRoleThatLibpqWouldRefuseIsNamed(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> PostgresFromConfig.build(config("", "", "{username: r, password: p, sslmode: verify-everything}"),
                w -> { }))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("postgresql.authentication.replication.sslmode").hasMessageContaining("verify-full");
        assertThatThrownBy(() -> PostgresFromConfig.build(config("", "", "{username: r, password: p, sslmode: verify-ca}"), w -> { }))
                .isInstanceOfSatisfying(ConfigurationException.class,
                        e -> assertThat(e.setting()).isEqualTo("postgresql.authentication.replication.sslrootcert"));
        Path cert = Files.writeString(dir.resolve("r.crt"), "cert");
        assertThatThrownBy(() -> PostgresFromConfig.build(config("", "", "{username: r, password: p, sslcert: " + cert + "}"),
                w -> { }))
                .isInstanceOfSatisfying(ConfigurationException.class,
                        e -> assertThat(e.setting()).isEqualTo("postgresql.authentication.replication.sslkey"));
    }
}
