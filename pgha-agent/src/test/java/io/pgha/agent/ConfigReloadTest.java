package io.pgha.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.agent.config.AgentConfig;
import org.junit.jupiter.api.Test;

/** What a reloaded file can change in a running agent, and what it names as needing a restart. */
class ConfigReloadTest {
    private static AgentConfig config(String restapiListen, String superuserPassword, String postgresqlExtra, String topExtra) {
        return AgentConfig.parse("scope: s\nname: n1\nrestapi: {listen: '" + restapiListen + "'}\netcd3: {hosts: 127.0.0.1:2379}\n"
                + "bootstrap:\n  dcs: {ttl: 30}\n"
                + "postgresql:\n  listen: 127.0.0.1:5432\n  data_dir: /tmp/pgha-unused-data\n"
                + "  authentication:\n    superuser: {username: postgres, password: " + superuserPassword + "}\n"
                + "    replication: {username: r, password: p}\n" + postgresqlExtra + topExtra, "test");
    }

    @Test
    void theRestApiAndCredentialsAreNamedAsNeedingARestart() {
        AgentConfig before = config("127.0.0.1:8008", "su", "", "");
        AgentConfig after = config("127.0.0.1:8009", "su2", "", "");

        assertThat(ConfigReload.needingRestart(before, after)).containsExactly("restapi", "postgresql.authentication.superuser");
    }

    @Test
    void tagsParametersHbaAndCallbacksNeedNoRestart() {
        AgentConfig before = config("127.0.0.1:8008", "su", "  parameters: {work_mem: 8MB}\n", "");
        AgentConfig after = config("127.0.0.1:8008", "su", "  parameters: {work_mem: 64MB}\n  pg_hba: [local all all peer]\n"
                + "  callbacks: {on_start: /bin/true}\n", "tags: {nofailover: true}\n");

        assertThat(ConfigReload.needingRestart(before, after)).isEmpty();
        assertThat(after.tags()).isNotEqualTo(before.tags());
        assertThat(ConfigReload.commands(after)).containsEntry("on_start", java.util.List.of("/bin/true"));
    }
}
