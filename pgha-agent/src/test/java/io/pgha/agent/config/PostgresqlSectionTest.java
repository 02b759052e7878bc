package io.pgha.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.ConfigurationException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The postgresql keys of Patroni's weekly work: callbacks, replica methods, recovery_conf, pg_ident, use_unix_socket. */
class PostgresqlSectionTest {
    private static AgentConfig parse(String postgresqlExtra, String restapiExtra) {
        return AgentConfig.parse("scope: s\nname: n1\nrestapi:\n  listen: 127.0.0.1:8008\n" + restapiExtra
                + "etcd3: {hosts: 127.0.0.1:2379}\n"
                + "postgresql:\n  listen: 127.0.0.1:5432\n  data_dir: /tmp/x\n"
                + "  authentication: {replication: {username: r, password: p}}\n" + postgresqlExtra, "test");
    }

    @Test
    void callbacksAreReadByPatronisNamesAndAnUnknownOneIsNamed() {
        AgentConfig c = parse("  callbacks:\n    on_start: /bin/cb start\n    on_role_change: /bin/cb role\n", "");
        assertThat(c.postgresql().callbacks()).containsEntry("on_start", "/bin/cb start").containsEntry("on_role_change", "/bin/cb role");
        assertThat(c.unsupported()).noneMatch(k -> k.contains("callbacks"));
        assertThatThrownBy(() -> parse("  callbacks:\n    on_promote: /bin/cb\n", ""))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("postgresql.callbacks.on_promote");
    }

    @Test
    void replicaMethodsAreReadWithTheirSectionsAndBasebackupOptionsInEitherForm() {
        AgentConfig c = parse("  create_replica_methods: [pgbackrest, basebackup]\n"
                + "  pgbackrest:\n    command: /usr/bin/pgbackrest --stanza=main --delta restore\n    keep_data: true\n"
                + "    no_params: true\n    no_leader: true\n  basebackup:\n    - verbose\n    - max-rate: 100M\n", "");
        assertThat(c.postgresql().createReplicaMethods()).containsExactly(
                new AgentConfig.ReplicaMethodConfig("pgbackrest", Optional.of("/usr/bin/pgbackrest --stanza=main --delta restore"),
                        true, true, true, Map.of()),
                new AgentConfig.ReplicaMethodConfig("basebackup", Optional.empty(), false, false, false,
                        new java.util.LinkedHashMap<>(Map.of("verbose", "", "max-rate", "100M"))));
        assertThatThrownBy(() -> parse("  create_replica_methods: [wal_g]\n  wal_g: {retries: 2}\n", ""))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("postgresql.wal_g.command");
    }

    @Test
    void recoveryConfPgIdentAndUseUnixSocketAreRead() {
        AgentConfig c = parse("  recovery_conf: {restore_command: 'cp /a/%f %p'}\n  pg_ident: ['office alice app']\n"
                + "  use_unix_socket: true\n", "");
        assertThat(c.postgresql().recoveryConf()).containsEntry("restore_command", "cp /a/%f %p");
        assertThat(c.postgresql().pgIdent()).containsExactly("office alice app");
        assertThat(c.postgresql().useUnixSocket()).isTrue();
        assertThat(c.warnings()).noneMatch(w -> w.contains("use_unix_socket"));
    }

    @Test
    void theRestApiAllowlistAndThreadPoolAreRead() {
        AgentConfig c = parse("", "  allowlist: [10.0.0.0/8, 127.0.0.1]\n  allowlist_include_members: true\n  thread_pool_size: 8\n");
        AgentConfig.RestApi r = c.restapi().orElseThrow();
        assertThat(r.allowlist()).containsExactly("10.0.0.0/8", "127.0.0.1");
        assertThat(r.allowlistIncludeMembers()).isTrue();
        assertThat(r.threadPoolSize()).contains(8);
        assertThat(c.warnings()).noneMatch(w -> w.contains("allowlist"));
        assertThat(List.copyOf(c.unsupported())).noneMatch(k -> k.contains("allowlist") || k.contains("thread_pool_size"));
    }

    @Test
    void aCustomBootstrapMethodAndPostBootstrapAreReadAndAMissingCommandIsNamed() {
        AgentConfig c = AgentConfig.parse("scope: s\nname: n1\netcd3: {hosts: 127.0.0.1:2379}\n"
                + "bootstrap:\n  method: restore\n  restore:\n    command: /usr/bin/restore --from s3\n    no_params: true\n"
                + "    keep_existing_recovery_conf: true\n    recovery_conf: {recovery_target_time: '2026-12-01 10:00:00+00'}\n"
                + "  post_init: /usr/bin/after\n"
                + "postgresql:\n  listen: 127.0.0.1:5432\n  data_dir: /tmp/x\n"
                + "  authentication: {replication: {username: r, password: p}}\n", "test");
        assertThat(c.bootstrap().method()).contains(new AgentConfig.BootstrapMethodConfig("restore", "/usr/bin/restore --from s3", true,
                java.util.Map.of("recovery_target_time", "2026-12-01 10:00:00+00"), true));
        assertThat(c.bootstrap().postBootstrap()).contains("/usr/bin/after");
        assertThat(c.warnings()).noneMatch(w -> w.contains("recovery_conf"));
        assertThatThrownBy(() -> AgentConfig.parse("scope: s\nname: n1\netcd3: {hosts: 127.0.0.1:2379}\n"
                + "bootstrap:\n  method: restore\n  restore: {no_params: true}\n"
                + "postgresql:\n  listen: 127.0.0.1:5432\n  data_dir: /tmp/x\n"
                + "  authentication: {replication: {username: r, password: p}}\n", "test"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("bootstrap.restore.command: is required");
    }
}
