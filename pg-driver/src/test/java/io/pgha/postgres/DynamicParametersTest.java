package io.pgha.postgres;

import static io.pgha.postgres.PgSandbox.await;
import static io.pgha.postgres.PgSandbox.sql;
import static io.pgha.postgres.PgSandbox.upstream;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.spi.PendingSetting;
import io.pgha.spi.ServerSettings;
import io.pgha.spi.StopMode;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The cluster's dynamic {@code postgresql.parameters} on real PostgreSQL, with Patroni's semantics:
 * a reloadable setting takes effect at once, a restart-only one is reported as pending until the
 * restart, a setting every member shares comes from the dynamic configuration, and a standby keeps
 * at least the values its primary ran with.
 */
class DynamicParametersTest {
    private static final Duration T = PgSandbox.TIMEOUT;

    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(true);

    private static String show(PgController c, String setting) throws Exception {
        try (Connection conn = sql(c); Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void aReloadableSettingTakesEffectWithoutARestartAndNothingIsPending() throws Exception {
        PgController c = sandbox.controller("reload");
        await(c.bootstrap());
        assertThat(show(c, "work_mem")).isEqualTo("4MB");

        await(c.applySettings(ServerSettings.ofParameters(Map.of("work_mem", "64MB"))));

        assertThat(show(c, "work_mem")).isEqualTo("64MB");
        assertThat(await(c.observe()).pendingRestart()).isEmpty();

        await(c.applySettings(ServerSettings.ofParameters(Map.of())));
        assertThat(show(c, "work_mem")).as("a parameter removed from the configuration returns to its default").isEqualTo("4MB");
    }

    @Test
    void aRestartOnlySettingIsPendingUntilTheRestartAndTheSharedValueWinsOverTheMembersOwn() throws Exception {
        // the sandbox's builder sets max_connections 30 locally; a shared setting's dynamic value wins
        PgController c = sandbox.controller("pending");
        await(c.bootstrap());
        assertThat(show(c, "max_connections")).isEqualTo("30");

        await(c.applySettings(ServerSettings.ofParameters(Map.of("max_connections", "40"))));

        assertThat(await(c.observe()).pendingRestart()).containsExactly(new PendingSetting("max_connections", "30", "40"));
        assertThat(show(c, "max_connections")).isEqualTo("30");
        await(c.restart(StopMode.FAST, T));
        assertThat(show(c, "max_connections")).isEqualTo("40");
        assertThat(await(c.observe()).pendingRestart()).isEmpty();
    }

    @Test
    void parametersHandedOverBeforeTheFirstStartAreThereFromTheStart() throws Exception {
        PgController c = sandbox.controller("first");
        await(c.applySettings(ServerSettings.ofParameters(Map.of("work_mem", "32MB", "max_connections", "35"))));
        await(c.bootstrap());
        assertThat(show(c, "work_mem")).isEqualTo("32MB");
        assertThat(show(c, "max_connections")).isEqualTo("35");
        assertThat(await(c.observe()).pendingRestart()).isEmpty();
    }

    @Test
    void settingsPghaManagesAndValuesPatroniRefusesAreNotApplied() throws Exception {
        PgController c = sandbox.controller("refused");
        await(c.bootstrap());
        String port = show(c, "port");

        await(c.applySettings(ServerSettings.ofParameters(Map.of("port", "1", "wal_level", "minimal", "max_connections", "10", "work_mem", "8MB"))));

        assertThat(show(c, "work_mem")).isEqualTo("8MB");
        assertThat(show(c, "port")).isEqualTo(port);
        assertThat(await(c.observe()).pendingRestart()).as("neither wal_level minimal nor max_connections 10 was written")
                .isEmpty();
    }

    @Test
    void aStandbyStartsWithAtLeastThePrimarysValuesAndIsPendingARestartWhileAboveItsConfiguration() throws Exception {
        PgController primary = sandbox.controller("bigger");
        await(primary.applySettings(ServerSettings.ofParameters(Map.of("max_connections", "60"))));
        await(primary.bootstrap());
        PgController standby = sandbox.controller("smaller");
        // the configuration was lowered, but the primary still runs with 60: a standby below that could not replay
        await(standby.applySettings(ServerSettings.ofParameters(Map.of("max_connections", "40"))));
        await(standby.cloneFrom(upstream(primary)));
        await(standby.follow(Optional.of(upstream(primary)), T));

        assertThat(await(standby.observe()).isRunningReplica()).isTrue();
        assertThat(show(standby, "max_connections")).isEqualTo("60");
        assertThat(await(standby.observe()).pendingRestart()).as("above its configuration until a restart, as Patroni reports it")
                .containsExactly(new PendingSetting("max_connections", "60", "40"));
    }

    private static List<String> column(PgController c, String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection conn = sql(c); Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    @Test
    void theClustersPgHbaAndPgIdentReplaceTheDefaultsAndAreReloaded() throws Exception {
        PgController c = sandbox.controller("access");
        await(c.bootstrap());
        List<String> hba = new ArrayList<>(ManagedFiles.defaultHba());
        hba.add("host all all 10.99.0.0/16 scram-sha-256");

        await(c.applySettings(new ServerSettings(Map.of(), Optional.of(hba), Optional.of(List.of("office alice app_user")), Map.of())));

        assertThat(column(c, "SELECT address FROM pg_hba_file_rules")).contains("10.99.0.0");
        assertThat(column(c, "SELECT map_name || ':' || sys_name || ':' || pg_username FROM pg_ident_file_mappings"))
                .containsExactly("office:alice:app_user");
        assertThat(show(c, "work_mem")).isEqualTo("4MB");
    }

    @Test
    void aMembersOwnPgHbaWinsOverTheClusters() throws Exception {
        PgController c = sandbox.controller("ownhba", b -> b.hba(ManagedFiles.defaultHba()));
        await(c.bootstrap());
        List<String> hba = new ArrayList<>(ManagedFiles.defaultHba());
        hba.add("host all all 10.99.0.0/16 scram-sha-256");

        await(c.applySettings(new ServerSettings(Map.of(), Optional.of(hba), Optional.empty(), Map.of())));

        assertThat(column(c, "SELECT coalesce(address, '') FROM pg_hba_file_rules")).doesNotContain("10.99.0.0");
    }

    @Test
    void aStandbyRunsWithTheClustersRestoreCommand() throws Exception {
        PgController primary = sandbox.controller("archiving");
        await(primary.bootstrap());
        java.nio.file.Path archive = sandbox.root().resolve("archive");
        PgController standby = sandbox.controller("restoring");
        await(standby.applySettings(new ServerSettings(Map.of(), Optional.empty(), Optional.empty(),
                Map.of("restore_command", "cp " + archive + "/%f %p", "recovery_min_apply_delay", "0"))));
        await(standby.cloneFrom(upstream(primary)));
        await(standby.follow(Optional.of(upstream(primary)), T));

        assertThat(show(standby, "restore_command")).isEqualTo("cp " + archive + "/%f %p");
    }

    /** The sandbox's own settings with work_mem and shared_buffers changed and pg_hba lines of the member's own. */
    private static PgController.Builder reconfigured() {
        return PgController.builder()
                .parameter("shared_buffers", "24MB").parameter("max_connections", "30").parameter("fsync", "off")
                .parameter("wal_keep_size", "64MB").parameter("work_mem", "48MB")
                .hba(List.of("local all all peer", "host all all 127.0.0.1/32 scram-sha-256",
                        "host replication all 127.0.0.1/32 scram-sha-256"));
    }

    @Test
    void aReconfiguredMembersOwnSettingsTakeEffectWithoutARestartAndARestartOnlyOneIsPending() throws Exception {
        PgController c = sandbox.controller("reconfigured");
        await(c.bootstrap());

        List<String> changed = await(c.reconfigure(reconfigured()));

        assertThat(changed).containsExactly("postgresql.parameters.shared_buffers", "postgresql.parameters.work_mem", "postgresql.pg_hba");
        assertThat(show(c, "work_mem")).isEqualTo("48MB");
        assertThat(await(c.observe()).pendingRestart()).containsExactly(new PendingSetting("shared_buffers", "16MB", "24MB"));
        assertThat(java.nio.file.Files.readString(c.dataDirectory().resolve("pg_hba.conf"))).contains("host all all 127.0.0.1/32");
        assertThat(await(c.reconfigure(reconfigured()))).as("the same settings again change nothing").isEmpty();
    }
}
