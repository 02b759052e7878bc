package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pgha.ConfigurationException;
import io.pgha.HaEvent;
import io.pgha.Role;
import io.pgha.examples.embed.EmbeddedNode;
import io.pgha.testkit.servers.EtcdCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedding example: a service that runs one member in its own JVM. */
class EmbeddedNodeTest {
    @TempDir
    Path tmp;

    @Test
    void aServiceEmbeddingOneNodeBootstrapsTheClusterServesWritesAndStopsPostgresWhenClosed() throws Exception {
        // PostgreSQL runs as its own user when the tests run as root: the folder must be open to it
        Path dir = Files.createDirectories(tmp.resolve("node"), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x")));
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        List<HaEvent> events = new CopyOnWriteArrayList<>();
        int pgPort = LocalCluster.freePort();
        try (EtcdCluster etcd = EtcdCluster.single()) {
            EmbeddedNode.Settings s = new EmbeddedNode.Settings("svc-1", "embedded", etcd.clientUrl(), Files.createDirectories(dir.resolve("data")),
                    pgPort, LocalCluster.freePort(), "su-Secret-9", "repl-Secret-9");
            assertThat(s.toString()).doesNotContain("Secret");
            try (EmbeddedNode node = EmbeddedNode.start(s, events::add)) {
                await().atMost(Duration.ofSeconds(90)).until(() -> node.node().status().role() == Role.PRIMARY);
                try (Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres",
                        "postgres", "su-Secret-9"); Statement st = c.createStatement()) {
                    st.execute("CREATE TABLE t (v int)");
                    st.execute("INSERT INTO t VALUES (1)");
                    try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
                        rs.next();
                        assertThat(rs.getBoolean(1)).isFalse();
                    }
                }
            }
            assertThat(events).anyMatch(e -> e instanceof HaEvent.RoleChanged r && r.to() == Role.PRIMARY);
            assertThat(Files.exists(dir.resolve("data").resolve("postmaster.pid"))).as("PostgreSQL stopped").isFalse();
        }
    }

    @Test
    void aMissingSettingIsNamedInTheError() {
        assertThatThrownBy(() -> EmbeddedNode.Settings.fromEnvironment(Map.of("PGHA_NAME", "a", "PGHA_SCOPE", "b", "PGHA_ETCD", "http://x:1",
                "PGHA_DATA_DIR", "/tmp/x", "PGHA_PG_PORT", "5432", "PGHA_API_PORT", "port?",
                "PGHA_SUPERUSER_PASSWORD", "p", "PGHA_REPLICATION_PASSWORD", "r")))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("PGHA_API_PORT");
        assertThatThrownBy(() -> EmbeddedNode.Settings.fromEnvironment(Map.of("PGHA_NAME", "a")))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("PGHA_SCOPE");
    }
}
