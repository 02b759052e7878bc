package io.pgha.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.ConfigurationException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class AgentConfigTest {
    private static String seed() throws IOException {
        try (InputStream in = AgentConfigTest.class.getResourceAsStream("/config/seed-patroni.yml")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void theSeedChaptersPatroniYmlIsAccepted() throws IOException {
        AgentConfig c = AgentConfig.parse(seed(), "seed-patroni.yml");
        assertThat(c.scope()).isEqualTo("batman");
        assertThat(c.namespace()).isEqualTo("/service");
        assertThat(c.dcs()).isInstanceOfSatisfying(AgentConfig.DcsConfig.Etcd.class, e ->
                assertThat(e.endpoints()).containsExactly("http://127.0.0.1:2379", "http://127.0.0.2:2379", "http://127.0.0.3:2379"));
        assertThat(c.warnings()).anySatisfy(w -> assertThat(w).startsWith("bootstrap.dcs.etcd: the store belongs at the top level"));
        assertThat(c.bootstrap().dcs().path("ttl").asInt()).isEqualTo(30);
        assertThat(c.bootstrap().dcs().has("etcd")).as("the store section is not dynamic configuration").isFalse();
        assertThat(c.bootstrap().initdb()).containsExactly("--auth-method=md5", "--encoding=UTF8", "--locale=en_US.UTF-8");
        assertThat(c.bootstrap().pgHba()).hasSize(2);
        assertThat(c.bootstrap().users()).containsKeys("admin", "replicator");
        assertThat(c.postgresql().replication().username()).isEqualTo("replicator");
        assertThat(c.postgresql().superuser()).isEmpty();
        assertThat(c.postgresql().dataDir()).isEqualTo(Path.of("/data/postgresql"));
        assertThat(c.postgresql().parameters()).containsEntry("shared_buffers", "256MB");
        assertThat(c.restapi()).hasValueSatisfying(r -> assertThat(r.listen().port()).isEqualTo(8008));
        assertThat(c.unsupported()).isEmpty();
        assertThat(c.warnings()).noneMatch(w -> w.contains("unknown key") || w.contains("not supported yet"));
    }

    @Test
    void dynamicKeysANodeDoesNotActOnAreListedAtStart() {
        AgentConfig c = AgentConfig.parse("scope: s\nname: n1\netcd3: {hosts: 127.0.0.1:2379}\n"
                + "bootstrap:\n  dcs: {ttl: 30, max_timelines_history: 5, loop_wiat: 5}\n"
                + "postgresql:\n  listen: 127.0.0.1:5432\n  data_dir: /tmp/x\n  authentication: {replication: {username: r, password: p}}\n",
                "t.yml");
        assertThat(c.warnings()).contains("bootstrap.dcs.max_timelines_history: not supported yet: the whole timeline history is kept",
                "bootstrap.dcs.loop_wiat: unknown key, ignored");
    }

    @Test
    void passwordsNeverShowInToString() throws IOException {
        AgentConfig c = AgentConfig.parse(seed(), "seed-patroni.yml");
        assertThat(c.toString()).doesNotContain("repl_password").doesNotContain("strong_password");
    }

    @Test
    void keysPghaDoesNotSupportAreListedByName() {
        AgentConfig c = AgentConfig.parse("""
                scope: s
                name: n
                etcd3: {hosts: 127.0.0.1:2379}
                watchdog: {mode: require, device: /dev/watchdog1, safety_margin: -1, reboot: now}
                postgresql:
                  listen: 127.0.0.1:5432
                  data_dir: /tmp/d
                  callbacks: {on_start: /bin/true}
                  authentication: {replication: {username: r, password: p}}
                restapi: {listen: 127.0.0.1:8008, http_extra_headers: {X: y}}
                """, "test");
        assertThat(c.unsupported()).containsExactlyInAnyOrder("restapi.http_extra_headers", "watchdog.reboot");
        assertThat(c.watchdog()).isEqualTo(new AgentConfig.Watchdog(io.pgha.WatchdogMode.REQUIRED, Path.of("/dev/watchdog1"), -1));
    }

    @Test
    void withoutAWatchdogSectionPatronisDefaultsApplyAndABadModeIsNamed() {
        String base = "scope: s\nname: n\netcd3: {hosts: 127.0.0.1:2379}\npostgresql:\n  listen: 127.0.0.1:5432\n  data_dir: /tmp/d\n"
                + "  authentication: {replication: {username: r, password: p}}\n";
        assertThat(AgentConfig.parse(base, "t").watchdog()).isEqualTo(AgentConfig.Watchdog.DEFAULT);
        assertThat(AgentConfig.parse(base + "watchdog: {mode: off}\n", "t").watchdog().mode()).isEqualTo(io.pgha.WatchdogMode.OFF);
        assertThatThrownBy(() -> AgentConfig.parse(base + "watchdog: {mode: always}\n", "t"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("watchdog.mode: expected off, automatic or required");
    }

    @Test
    void theLogSectionTakesPatronisKeysAndDefaultsAndNamesABadValue() {
        String base = "scope: s\nname: n\netcd3: {hosts: 127.0.0.1:2379}\npostgresql:\n  listen: 127.0.0.1:5432\n  data_dir: /tmp/d\n"
                + "  authentication: {replication: {username: r, password: p}}\n";
        assertThat(AgentConfig.parse(base, "t").log()).isEqualTo(LogSection.DEFAULT);

        LogSection log = AgentConfig.parse(base + """
                log:
                  type: json
                  level: warning
                  traceback_level: DEBUG
                  format: [message, {asctime: '@timestamp'}, {levelname: level}]
                  dateformat: '%Y-%m-%dT%H:%M:%S'
                  static_fields: {app: patroni}
                  max_queue_size: 50
                  dir: /var/log/pgha
                  mode: '0640'
                  file_num: 7
                  file_size: 1048576
                  loggers: {io.pgha.dcs.etcd: DEBUG, io.grpc: ERROR}
                  deduplicate_heartbeat_logs: true
                """, "t").log();
        assertThat(log.type()).isEqualTo(LogSection.Type.JSON);
        assertThat(log.level()).isEqualTo(LogSection.Level.WARNING);
        assertThat(log.tracebackLevel()).isEqualTo(LogSection.Level.DEBUG);
        assertThat(log.format()).containsExactly(new LogSection.Field("message", "message"), new LogSection.Field("asctime", "@timestamp"),
                new LogSection.Field("levelname", "level"));
        assertThat(log.dateformat()).contains("%Y-%m-%dT%H:%M:%S");
        assertThat(log.staticFields()).containsEntry("app", "patroni");
        assertThat(log.maxQueueSize()).isEqualTo(50);
        assertThat(log.dir()).contains(Path.of("/var/log/pgha"));
        assertThat(log.mode()).contains(0640);
        assertThat(log.fileNum()).isEqualTo(7);
        assertThat(log.fileSize()).isEqualTo(1_048_576L);
        assertThat(log.loggers()).containsEntry("io.pgha.dcs.etcd", LogSection.Level.DEBUG).containsEntry("io.grpc", LogSection.Level.ERROR);

        assertThatThrownBy(() -> AgentConfig.parse(base + "log: {level: LOUD}\n", "t"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("log.level: expected DEBUG, INFO, WARNING, ERROR or CRITICAL");
        assertThatThrownBy(() -> AgentConfig.parse(base + "log: {mode: rw}\n", "t"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("log.mode: expected octal file permissions");
        assertThatThrownBy(() -> AgentConfig.parse(base + "log: {type: xml}\n", "t"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("log.type: expected plain or json");
    }

    @Test
    void aMissingRequiredKeyIsNamed() {
        assertThatThrownBy(() -> AgentConfig.parse("name: n\netcd3: {host: 127.0.0.1:2379}\n", "test"))
                .isInstanceOf(ConfigurationException.class).hasMessage("scope: is required");
        assertThatThrownBy(() -> AgentConfig.parse("scope: s\nname: n\netcd3: {host: 127.0.0.1:2379}\npostgresql: {listen: 127.0.0.1:5432}\n", "test"))
                .hasMessage("postgresql.data_dir: is required");
        assertThatThrownBy(() -> AgentConfig.parse("scope: s\nname: n\npostgresql: {listen: 127.0.0.1:5432, data_dir: /x}\n", "test"))
                .hasMessageStartingWith("etcd3: no store configured");
    }

    @Test
    void aBadValueIsNamedWithTheKey() {
        String base = "scope: s\nname: n\netcd3: {hosts: '127.0.0.1:2379'}\n"
                + "postgresql: {listen: 127.0.0.1:5432, data_dir: /x, authentication: {replication: {username: r, password: p}}}\n";
        assertThatThrownBy(() -> AgentConfig.parse(base + "bootstrap: {dcs: {ttl: soon}}\n", "test"))
                .hasMessageStartingWith("bootstrap.dcs.ttl:");
        assertThatThrownBy(() -> AgentConfig.parse(base + "restapi: {listen: '127.0.0.1:http'}\n", "test"))
                .hasMessageStartingWith("restapi.listen: '127.0.0.1:http' has a port that is not a number");
        assertThatThrownBy(() -> AgentConfig.parse(base + "tags: {nofailover: maybe}\n", "test"))
                .hasMessage("tags.nofailover: expected true or false, got 'maybe' (at test:5:8)");
        assertThatThrownBy(() -> AgentConfig.parse(base.replace("127.0.0.1:5432", "0.0.0.0:5432"), "test"))
                .hasMessageStartingWith("postgresql.connect_address: is required");
        assertThatThrownBy(() -> AgentConfig.parse("scope: [a\n", "test")).hasMessageStartingWith("config: test:2:1: not valid YAML");
    }

    @Test
    void patronisEnvironmentVariablesOverrideTheFile() throws IOException {
        AgentConfig c = AgentConfig.parse(seed(), "seed-patroni.yml", java.util.Map.of("PATRONI_NAME", "node7", "PATRONI_SCOPE", "orders",
                "PATRONI_POSTGRESQL_DATA_DIR", "/tmp/pg7", "PATRONI_RESTAPI_LISTEN", "127.0.0.1:8017"));
        assertThat(c.name()).isEqualTo("node7");
        assertThat(c.scope()).isEqualTo("orders");
        assertThat(c.postgresql().dataDir()).isEqualTo(Path.of("/tmp/pg7"));
        assertThat(c.restapi().orElseThrow().listen().port()).isEqualTo(8017);
    }
}
