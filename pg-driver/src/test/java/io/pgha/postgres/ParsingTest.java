package io.pgha.postgres;

import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.Lsn;
import io.pgha.spi.PostgresException;
import io.pgha.spi.SynchronousStandbys;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The text pgha reads from PostgreSQL's programs and files, without a server. */
class ParsingTest {
    private static final long SEG = 16L * 1024 * 1024;

    @Test
    void pg_controldata_output_is_parsed_into_a_record() {
        ControlData cd = ControlData.parse("""
                pg_control version number:            1300
                Database system identifier:           7712457899393497830
                Database cluster state:               shut down in recovery
                Latest checkpoint location:           0/1500718
                Latest checkpoint's REDO location:    0/15006E0
                Latest checkpoint's TimeLineID:       2
                Minimum recovery ending location:     0/3000060
                Min recovery ending loc's timeline:   2
                wal_log_hints setting:                on
                Data page checksum version:           0
                Bytes per WAL segment:                16777216
                """);
        assertThat(cd.systemIdentifier()).isEqualTo("7712457899393497830");
        assertThat(cd.state()).isEqualTo(ControlData.ClusterState.SHUT_DOWN_IN_RECOVERY);
        assertThat(cd.state().isCleanShutdown()).isTrue();
        assertThat(cd.wasInRecovery()).isTrue();
        assertThat(cd.checkpoint()).isEqualTo(Lsn.parse("0/1500718"));
        assertThat(cd.checkpointRedo()).isEqualTo(Lsn.parse("0/15006E0"));
        assertThat(cd.checkpointTimeline()).isEqualTo(2);
        assertThat(cd.minRecoveryEnd()).isEqualTo(Lsn.parse("0/3000060"));
        assertThat(cd.walLogHints()).isTrue();
        assertThat(cd.dataChecksums()).isFalse();
        assertThat(cd.get("Bytes per WAL segment")).contains("16777216");
    }

    @Test
    void pg_controldata_output_without_a_needed_line_is_a_data_directory_error() {
        assertThatThrownBy(() -> ControlData.parse("Database cluster state: in production\n"))
                .isInstanceOf(DataDirectoryException.class).hasMessageContaining("Database system identifier");
    }

    @Test
    void the_end_of_wal_is_read_from_pg_waldump_errors_of_every_supported_version() {
        assertThat(Divergence.parseEndOfWal(
                "pg_waldump: error: error in WAL record at 0/1500718: invalid record length at 0/1500790: wanted 24, got 0", SEG))
                .contains(Lsn.parse("0/1500790"));
        assertThat(Divergence.parseEndOfWal(
                "pg_waldump: error: error in WAL record at 0/1500718: invalid record length at 0/1500790: expected at least 24, got 0", SEG))
                .contains(Lsn.parse("0/1500790"));
        assertThat(Divergence.parseEndOfWal(
                "pg_waldump: error: error in WAL record at 0/3000100: record with incorrect prev-link 0/1000028 at 0/3000148", SEG))
                .contains(Lsn.parse("0/3000148"));
        // PostgreSQL 15: a recycled segment; the stale page address must not be taken for the end
        assertThat(Divergence.parseEndOfWal(
                "pg_waldump: error: error in WAL record at 0/2FFFF80: unexpected pageaddr 0/1000000 in log segment 000000010000000000000003, offset 0", SEG))
                .contains(Lsn.parse("0/3000000"));
        assertThat(Divergence.parseEndOfWal(
                "pg_waldump: error: error in WAL record at 0/2FFFF80: unexpected pageaddr 0/1000000 in WAL segment 000000010000000000000003, LSN 0/3000000, offset 0", SEG))
                .contains(Lsn.parse("0/3000000"));
        assertThat(Divergence.parseEndOfWal("pg_waldump: error: could not find file \"000000010000000100000002\": No such file", SEG))
                .contains(Lsn.parse("1/2000000"));
        assertThat(Divergence.parseEndOfWal("nothing useful", SEG)).isEmpty();
    }

    @Test
    void a_replica_on_the_upstreams_timeline_has_not_diverged() {
        var local = new Divergence.LocalPosition("1", 2, Optional.of(Lsn.parse("0/5000000")));
        assertThat(Divergence.decide(local, 2, Optional.empty())).isEqualTo(DivergenceCheck.NOT_DIVERGED);
    }

    @Test
    void a_node_on_a_newer_timeline_than_its_upstream_has_diverged() {
        var local = new Divergence.LocalPosition("1", 3, Optional.of(Lsn.parse("0/5000000")));
        assertThat(Divergence.decide(local, 2, Optional.empty())).isEqualTo(DivergenceCheck.DIVERGED);
    }

    @Test
    void a_node_that_stopped_at_or_before_the_switchpoint_has_not_diverged_and_one_past_it_has() {
        TimelineHistory h = TimelineHistory.parse("1\t0/3000148\tno recovery target specified\n");
        var at = new Divergence.LocalPosition("1", 1, Optional.of(Lsn.parse("0/3000148")));
        var past = new Divergence.LocalPosition("1", 1, Optional.of(Lsn.parse("0/3000150")));
        var unknown = new Divergence.LocalPosition("1", 1, Optional.empty());
        assertThat(Divergence.decide(at, 2, Optional.of(h))).isEqualTo(DivergenceCheck.NOT_DIVERGED);
        assertThat(Divergence.decide(past, 2, Optional.of(h))).isEqualTo(DivergenceCheck.DIVERGED);
        assertThat(Divergence.decide(unknown, 2, Optional.of(h))).as("unknown end of WAL: rewind to be safe")
                .isEqualTo(DivergenceCheck.DIVERGED);
    }

    @Test
    void a_node_whose_timeline_is_not_in_the_upstreams_history_has_diverged() {
        TimelineHistory h = TimelineHistory.parse("1\t0/3000148\tx\n3\t0/5000000\tx\n");
        var local = new Divergence.LocalPosition("1", 2, Optional.of(Lsn.parse("0/4000000")));
        assertThat(Divergence.decide(local, 4, Optional.of(h))).isEqualTo(DivergenceCheck.DIVERGED);
        assertThat(h.lastSwitchpoint()).isEqualTo(Lsn.parse("0/5000000"));
    }

    @Test
    void synchronous_standby_names_is_read_back_in_every_form() {
        assertThat(SyncNames.parse("")).isEqualTo(SynchronousStandbys.NONE);
        assertThat(SyncNames.parse("FIRST 2 (\"a\",\"b\")")).isEqualTo(new SynchronousStandbys(2, List.of("a", "b")));
        assertThat(SyncNames.parse("a, B")).isEqualTo(new SynchronousStandbys(1, List.of("a", "b")));
        assertThat(SyncNames.parse("2 (a, b, c)")).isEqualTo(new SynchronousStandbys(2, List.of("a", "b", "c")));
        assertThat(SyncNames.parse("ANY 1 (\"x\"\"y\")")).isEqualTo(SynchronousStandbys.any(1, List.of("x\"y")));
        assertThat(SyncNames.parse("any 2 (a, b, c)")).isEqualTo(SynchronousStandbys.any(2, List.of("a", "b", "c")));
        SynchronousStandbys s = new SynchronousStandbys(1, List.of("node-1", "Node 2"));
        assertThat(SyncNames.parse(s.toSetting())).isEqualTo(s);
        SynchronousStandbys quorum = SynchronousStandbys.any(1, List.of("node-1", "Node 2"));
        assertThat(quorum.toSetting()).isEqualTo("ANY 1 (\"node-1\",\"Node 2\")");
        assertThat(SyncNames.parse(quorum.toSetting())).isEqualTo(quorum);
    }

    @Test
    void conn_urls_are_parsed_and_their_user_information_is_never_echoed() {
        assertThat(ConnUrl.parse("postgres://127.0.0.1:5433/postgres")).isEqualTo(new ConnUrl("127.0.0.1", 5433, "postgres"));
        assertThat(ConnUrl.parse("postgresql://db.example/app")).isEqualTo(new ConnUrl("db.example", 5432, "app"));
        assertThat(ConnUrl.parse("postgres://[::1]:6000/")).isEqualTo(new ConnUrl("::1", 6000, "postgres"));
        assertThat(ConnUrl.format("::1", 6000, "postgres")).isEqualTo("postgres://[::1]:6000/postgres");
        assertThatThrownBy(() -> ConnUrl.parse("mysql://u:hunter2@h:1/x")).isInstanceOf(PostgresException.class)
                .hasMessageNotContaining("hunter2");
    }

    @Test
    void configuration_values_are_quoted_for_postgresql_conf_and_read_back() {
        String tricky = "it's a \\ path";
        String line = "x.y = " + Gucs.quote(tricky);
        assertThat(Gucs.readQuoted(line + "\n# comment\nport = '5432'\n")).containsEntry("x.y", tricky).containsEntry("port", "5432");
        assertThat(Gucs.conninfoValue("plain")).isEqualTo("plain");
        assertThat(Gucs.conninfoValue("with space's")).isEqualTo("'with space\\'s'");
    }

    @Test
    void slot_names_are_derived_from_member_names() {
        assertThat(io.pgha.spi.SlotNames.forMember("Node-1.dc")).isEqualTo("node_1_dc");
    }

    @Test
    void a_redactor_masks_every_password_even_inside_others() {
        Redactor r = new Redactor(List.of("abc", "xabcx"));
        assertThat(r.scrub("pw=xabcx and abc")).isEqualTo("pw=****** and ******");
        assertThat(new PgUser("u", "secret").toString()).doesNotContain("secret");
    }
}
