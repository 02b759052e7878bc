package io.pgha.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.agent.config.AgentConfig;
import io.pgha.postgres.PgController;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PostgresFromConfigTest {
    private static AgentConfig config(String postgresqlExtra, String bootstrapExtra) {
        return AgentConfig.parse("scope: s\nname: n1\nrestapi: {listen: 127.0.0.1:8008}\netcd3: {hosts: 127.0.0.1:2379}\n"
                + "bootstrap:\n  dcs: {ttl: 30}\n" + bootstrapExtra
                + "postgresql:\n  listen: 127.0.0.1:5432\n  data_dir: /tmp/pgha-unused-data\n"
                + "  authentication:\n    superuser: {username: postgres, password: su}\n    replication: {username: r, password: p}\n"
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
}
