package io.pgha.postgres;

import static io.pgha.postgres.PgSandbox.await;
import static io.pgha.postgres.PgSandbox.sql;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.spi.PostgresState;
import io.pgha.spi.Upstream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A standby cluster's standby leader on real PostgreSQL: it is cloned from the remote primary (of
 * another cluster) and follows it with the standby cluster's settings: the remote's address (every
 * host listed, first writable one wins), its {@code primary_slot_name}, its recovery settings; pgha
 * creates no slot of its own on the remote. Then a member of the standby cluster cascades from it.
 */
class StandbyLeaderTest {
    private static final Duration T = Duration.ofSeconds(30);

    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(false);

    @Test
    void a_standby_leader_is_cloned_from_the_remote_primary_and_streams_from_it_with_the_standby_clusters_settings() throws Exception {
        PgController remotePrimary = sandbox.controller("remote");
        PgController leader = sandbox.controller("sl");
        PgController cascade = sandbox.controller("cascade");
        await(remotePrimary.bootstrap());
        exec(remotePrimary, "SELECT pg_create_physical_replication_slot('dr_slot')");
        exec(remotePrimary, "CREATE TABLE t (id int)");
        exec(remotePrimary, "INSERT INTO t VALUES (1)");
        int port = ConnUrl.parse(remotePrimary.connectionUrl()).port();
        // the first host listed does not answer: libpq goes on to the next, the writable one
        int nobody;
        try (java.net.ServerSocket closed = new java.net.ServerSocket(0)) {
            nobody = closed.getLocalPort();
        }
        Upstream remote = Upstream.remote("remote_member", "postgres://127.0.0.1:" + nobody + ",127.0.0.1:" + port + "/postgres",
                Optional.of("dr_slot"), Map.of("recovery_min_apply_delay", "10ms", "restore_command", "false"));

        await(leader.cloneFrom(remote));
        await(leader.follow(Optional.of(remote), T));

        await().atMost(T).until(() -> {
            PostgresState s = await(leader.observe());
            return s.isRunningReplica() && s.streaming() && s.upstream().equals(Optional.of(remote));
        });
        assertThat(query(leader, "SELECT setting FROM pg_settings WHERE name = 'primary_conninfo'"))
                .contains("host=127.0.0.1,127.0.0.1").contains("port=" + nobody + "," + port).contains("target_session_attrs=read-write");
        assertThat(query(leader, "SHOW primary_slot_name")).isEqualTo("dr_slot");
        assertThat(query(leader, "SHOW recovery_min_apply_delay")).isEqualTo("10ms");
        assertThat(query(leader, "SHOW restore_command")).isEqualTo("false");
        assertThat(query(remotePrimary, "SELECT string_agg(slot_name || ':' || active, ',') FROM pg_replication_slots"))
                .as("the standby leader streams through the remote's slot and makes none of its own there").isEqualTo("dr_slot:true");
        exec(remotePrimary, "INSERT INTO t VALUES (2)");
        await().atMost(T).until(() -> query(leader, "SELECT count(*) FROM t").equals("2"));

        // a member of the standby cluster cascades from the standby leader with the standby cluster's restore_command
        Upstream standbyLeader = PgSandbox.upstream(leader).withRecoverySettings(Map.of("restore_command", "false"));
        await(cascade.cloneFrom(standbyLeader));
        await(cascade.follow(Optional.of(standbyLeader), T));
        exec(remotePrimary, "INSERT INTO t VALUES (3)");
        await().atMost(T).until(() -> query(cascade, "SELECT count(*) FROM t").equals("3"));
        assertThat(query(cascade, "SHOW recovery_min_apply_delay")).isEqualTo("0");
        assertThat(query(cascade, "SELECT setting FROM pg_settings WHERE name = 'primary_conninfo'"))
                .contains("port=" + ConnUrl.parse(leader.connectionUrl()).port()).doesNotContain("target_session_attrs");
    }

    @Test
    void the_standby_leader_is_created_with_the_standby_clusters_replica_methods_falling_back_from_one_to_the_next() throws Exception {
        PgController remotePrimary = sandbox.controller("rm-remote");
        await(remotePrimary.bootstrap());
        java.nio.file.Path calls = sandbox.root().resolve("rm-calls");
        java.nio.file.Files.writeString(calls, ""); // the command may run as the server's user: let it write here
        java.nio.file.Files.setPosixFilePermissions(calls, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
        java.nio.file.Path fails = sandbox.root().resolve("rm-fails.sh");
        java.nio.file.Files.writeString(fails, "#!/bin/sh\necho \"$@\" >> " + calls + "\necho 'no backup found' >&2\nexit 3\n");
        java.nio.file.Files.setPosixFilePermissions(fails, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        PgController leader = sandbox.controller("rm-sl", b -> b.replicaMethods(java.util.List.of(
                new ReplicaMethod("wal_g", java.util.List.of(fails.toString()), Map.of(), false, false))));
        Upstream remote = Upstream.remote("remote_member", remotePrimary.connectionUrl(), Optional.empty(), Map.of());

        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> await(leader.cloneFrom(remote, java.util.List.of("pgbackrest")))))
                .as("a method the member does not have").hasMessageContaining("standby_cluster.create_replica_methods")
                .hasMessageContaining("'pgbackrest'");
        await(leader.cloneFrom(remote, java.util.List.of("wal_g", "basebackup")));
        await(leader.follow(Optional.of(remote), T));

        assertThat(java.nio.file.Files.readString(calls)).as("the standby cluster's first method ran, with Patroni's arguments")
                .contains("--role=replica").contains("--connstring=postgres://replicator@127.0.0.1:");
        await().atMost(T).until(() -> await(leader.observe()).streaming());
    }

    private static void exec(PgController on, String sql) throws SQLException {
        try (Connection conn = sql(on); Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    private static String query(PgController on, String sql) throws SQLException {
        try (Connection conn = sql(on); Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
