package io.pgha.postgres;

import io.pgha.spi.SynchronousStandbys;
import io.pgha.spi.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;

/** The files pgha writes, without a server. */
class ManagedFilesTest {
    @TempDir
    Path tmp;

    private PgConfig config() {
        return new PgConfig("node-1", tmp.resolve("data"), tmp.resolve("work"), Optional.empty(), Optional.empty(), "127.0.0.1",
                5433, "127.0.0.1", "127.0.0.1", "", new PgUser("postgres", "su:pw"), new PgUser("replicator", "re\\pl:pw"),
                Optional.empty(), "UTF8", Optional.empty(), false, ManagedFiles.defaultHba(), Map.of("wal_keep_size", "256MB"),
                true, false, true, Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofHours(1), Duration.ofMillis(100), java.util.List.of(), Optional.empty(), Optional.empty(), Optional.empty(), Map.of(),
                List.of(ReplicaMethod.basebackup()), Optional.empty(), Optional.empty(), Optional.empty(), "pgha", Optional.empty());
    }

    @Test
    void a_standby_gets_primary_conninfo_with_a_pass_file_and_no_password() throws IOException {
        PgConfig cfg = config();
        Files.createDirectories(cfg.dataDirectory());
        ManagedFiles files = new ManagedFiles(cfg, new Fs(OptionalInt.empty(), OptionalInt.empty()));
        Upstream up = new Upstream("node-2", "postgres://10.0.0.2:5432/postgres");

        files.writeServerFiles(new ManagedFiles.Role(Optional.of(up), SynchronousStandbys.NONE), java.util.Map.of());

        String conf = Files.readString(cfg.dataDirectory().resolve("pgha.conf"));
        assertThat(conf).contains("primary_conninfo = 'host=10.0.0.2 port=5432 user=replicator passfile=" + cfg.workDirectory().resolve("pgpass")
                        + " application_name=node-1 connect_timeout=5'")
                .contains("primary_slot_name = 'node_1'")
                .contains("recovery_target_timeline = 'latest'")
                .contains("port = '5433'")
                .contains("wal_keep_size = '256MB'")
                .doesNotContain("pw");
        assertThat(conf.indexOf("wal_keep_size = '128MB'")).as("a user's value replaces pgha's default").isEqualTo(-1);
        assertThat(Files.readString(cfg.dataDirectory().resolve("postgresql.conf"))).contains("include 'pgha.conf'");
        assertThat(files.readRole()).isEqualTo(new ManagedFiles.Role(Optional.of(up), SynchronousStandbys.NONE));
    }

    @Test
    void a_standby_leader_streams_from_every_remote_host_through_the_standby_clusters_slot_with_its_recovery_settings() throws IOException {
        PgConfig cfg = config();
        Files.createDirectories(cfg.dataDirectory());
        ManagedFiles files = new ManagedFiles(cfg, new Fs(OptionalInt.empty(), OptionalInt.empty()));
        files.setDynamicRecovery(Map.of("restore_command", "cluster's own"));
        Upstream remote = Upstream.remote("remote_member", "postgres://10.9.0.1:5433,10.9.0.2:5434/postgres", Optional.of("dr_slot"),
                Map.of("restore_command", "cp /arch/%f %p", "recovery_min_apply_delay", "5min"));

        files.writeServerFiles(new ManagedFiles.Role(Optional.of(remote), SynchronousStandbys.NONE), Map.of());

        String conf = Files.readString(cfg.dataDirectory().resolve("pgha.conf"));
        assertThat(conf).contains("primary_conninfo = 'host=10.9.0.1,10.9.0.2 port=5433,5434 target_session_attrs=read-write"
                        + " user=replicator passfile=" + cfg.workDirectory().resolve("pgpass") + " application_name=node-1 connect_timeout=5'")
                .as("the remote's slot, never one named after this member").contains("primary_slot_name = 'dr_slot'")
                .as("the standby cluster's restore_command wins over the cluster's recovery_conf")
                .contains("restore_command = 'cp /arch/%f %p'").doesNotContain("cluster's own")
                .contains("recovery_min_apply_delay = '5min'")
                .doesNotContain("pw");
        assertThat(files.readRole()).as("read back whole after a JVM restart")
                .isEqualTo(new ManagedFiles.Role(Optional.of(remote), SynchronousStandbys.NONE));
    }

    @Test
    void a_standby_leader_of_a_remote_without_primary_slot_name_streams_through_no_slot() throws IOException {
        PgConfig cfg = config();
        Files.createDirectories(cfg.dataDirectory());
        ManagedFiles files = new ManagedFiles(cfg, new Fs(OptionalInt.empty(), OptionalInt.empty()));
        Upstream remote = Upstream.remote("remote_member", "postgres://10.9.0.1:5433/postgres", Optional.empty(), Map.of());

        files.writeServerFiles(new ManagedFiles.Role(Optional.of(remote), SynchronousStandbys.NONE), Map.of());

        String conf = Files.readString(cfg.dataDirectory().resolve("pgha.conf"));
        assertThat(conf).contains("primary_conninfo = 'host=10.9.0.1 port=5433 user=replicator")
                .contains("primary_slot_name = ''")
                .doesNotContain("target_session_attrs");
        assertThat(files.readRole().upstream()).contains(remote);
    }

    @Test
    void the_include_line_is_added_once_and_a_users_settings_stay() throws IOException {
        PgConfig cfg = config();
        Files.createDirectories(cfg.dataDirectory());
        Files.writeString(cfg.dataDirectory().resolve("postgresql.conf"), "shared_buffers = 1GB # mine\n");
        ManagedFiles files = new ManagedFiles(cfg, new Fs(OptionalInt.empty(), OptionalInt.empty()));

        files.writeServerFiles(ManagedFiles.Role.PRIMARY.withSync(SynchronousStandbys.all(List.of("b"))), java.util.Map.of());
        files.writeServerFiles(ManagedFiles.Role.PRIMARY.withSync(SynchronousStandbys.all(List.of("b"))), java.util.Map.of());

        String pg = Files.readString(cfg.dataDirectory().resolve("postgresql.conf"));
        assertThat(pg).startsWith("shared_buffers = 1GB # mine\n");
        assertThat(pg.split("include 'pgha.conf'", -1)).hasSize(2);
        assertThat(files.readRole().sync()).isEqualTo(SynchronousStandbys.all(List.of("b")));
        assertThat(files.readRole().upstream()).isEmpty();
    }

    @Test
    void the_pass_file_escapes_colons_and_backslashes_and_is_private() throws IOException {
        PgConfig cfg = config();
        Files.createDirectories(cfg.workDirectory());
        new ManagedFiles(cfg, new Fs(OptionalInt.empty(), OptionalInt.empty())).writePassFile();

        Path pass = cfg.workDirectory().resolve("pgpass");
        assertThat(Files.readAllLines(pass)).containsExactly("*:*:*:replicator:re\\\\pl\\:pw", "*:*:*:postgres:su\\:pw");
        assertThat(Files.getPosixFilePermissions(pass)).isEqualTo(Fs.FILE_600);
    }
}
