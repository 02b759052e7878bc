package io.pgha.agent.ctl;

import static io.pgha.agent.ctl.Entries.batman;
import static io.pgha.agent.ctl.Entries.replica;
import static io.pgha.agent.ctl.Entries.state;
import static io.pgha.agent.ctl.Entries.with;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.agent.ctl.Output.Format;
import io.pgha.spi.support.SnapshotBuilder;
import org.junit.jupiter.api.Test;

/** pghactl list and topology print what patronictl prints (the expected texts are patronictl's documentation examples). */
class MemberTableTest {

    @Test
    void theListIsPatronictlsTableWithReceiveAndReplayPositions() {
        assertThat(MemberTable.render(state(batman()), false, Format.PRETTY)).isEqualTo("""
                + Cluster: batman (7277694203142172922) -+-----------+----+-------------+-----+------------+-----+
                | Member      | Host           | Role    | State     | TL | Receive LSN | Lag | Replay LSN | Lag |
                +-------------+----------------+---------+-----------+----+-------------+-----+------------+-----+
                | postgresql0 | 127.0.0.1:5432 | Leader  | running   |  5 |             |     |            |     |
                | postgresql1 | 127.0.0.1:5433 | Replica | streaming |  5 |   0/40004E8 |   0 |  0/40004E8 |   0 |
                | postgresql2 | 127.0.0.1:5434 | Replica | streaming |  5 |   0/40004E8 |   0 |  0/40004E8 |   0 |
                +-------------+----------------+---------+-----------+----+-------------+-----+------------+-----+
                """);
    }

    @Test
    void theExtendedListShowsPendingRestartScheduledRestartAndTagsColumnsEvenWhenEmpty() {
        assertThat(MemberTable.render(state(batman()), true, Format.PRETTY)).isEqualTo("""
                + Cluster: batman (7277694203142172922) -+-----------+----+-------------+-----+------------+-----+-----------------+------------------------+-------------------+------+
                | Member      | Host           | Role    | State     | TL | Receive LSN | Lag | Replay LSN | Lag | Pending restart | Pending restart reason | Scheduled restart | Tags |
                +-------------+----------------+---------+-----------+----+-------------+-----+------------+-----+-----------------+------------------------+-------------------+------+
                | postgresql0 | 127.0.0.1:5432 | Leader  | running   |  5 |             |     |            |     |                 |                        |                   |      |
                | postgresql1 | 127.0.0.1:5433 | Replica | streaming |  5 |   0/40004E8 |   0 |  0/40004E8 |   0 |                 |                        |                   |      |
                | postgresql2 | 127.0.0.1:5434 | Replica | streaming |  5 |   0/40004E8 |   0 |  0/40004E8 |   0 |                 |                        |                   |      |
                +-------------+----------------+---------+-----------+----+-------------+-----+------------+-----+-----------------+------------------------+-------------------+------+
                """);
    }

    @Test
    void aMemberWaitingForARestartBringsThePendingRestartColumnsWithAStarAndTheSettings() {
        SnapshotBuilder b = batman();
        b.add("members/postgresql1", with(replica(5433, 8009), n -> {
            n.put("pending_restart", true);
            n.putObject("pending_restart_reason").putObject("max_connections").put("old_value", "100").put("new_value", "110");
        }).toString(), 2);
        String table = MemberTable.render(state(b), false, Format.PRETTY);
        assertThat(table.lines().skip(1).findFirst().orElseThrow()).endsWith("| Lag | Pending restart | Pending restart reason    |");
        assertThat(table).contains("| postgresql1 | 127.0.0.1:5433 | Replica | streaming |  5 |   0/40004E8 |   0 |  0/40004E8 |   0 | *"
                + "               | max_connections: 100->110 |");
        assertThat(table).doesNotContain("Scheduled restart").doesNotContain("Tags");
    }

    @Test
    void aScheduledRestartAndTagsShowWhenAMemberHasThemAndTagsAreYamlBlocksSeparatedByRules() {
        SnapshotBuilder b = batman();
        b.add("members/postgresql2", with(replica(5434, 8010), n -> {
            n.putObject("scheduled_restart").put("schedule", "2025-03-23T18:00:00-03:00").put("postgres_version", "15.8");
            n.putObject("tags").put("nofailover", true).put("clonefrom", true);
        }).toString(), 2);
        String table = MemberTable.render(state(b), false, Format.PRETTY);
        assertThat(table).contains("| Scheduled restart                           | Tags             |");
        assertThat(table).contains("| 2025-03-23T18:00:00-03:00 if version < 15.8 | clonefrom: true  |")
                .contains("|                                             | nofailover: true |");
        // a cell of two lines: prettytable draws a rule between every row
        assertThat(table.lines().filter(l -> l.startsWith("+-")).count()).isEqualTo(4);
    }

    @Test
    void jsonHasPatronictlsKeysPerMemberAndLeavesOutEmptyValues() {
        assertThat(MemberTable.render(state(batman()), false, Format.JSON)).isEqualTo(
                "[{\"Cluster\": \"batman\", \"Member\": \"postgresql0\", \"Host\": \"127.0.0.1:5432\", \"Role\": \"Leader\", "
                        + "\"State\": \"running\", \"TL\": 5}, "
                        + "{\"Cluster\": \"batman\", \"Member\": \"postgresql1\", \"Host\": \"127.0.0.1:5433\", \"Role\": \"Replica\", "
                        + "\"State\": \"streaming\", \"TL\": 5, \"Receive LSN\": \"0/40004E8\", \"Receive Lag\": 0, "
                        + "\"Replay LSN\": \"0/40004E8\", \"Replay Lag\": 0}, "
                        + "{\"Cluster\": \"batman\", \"Member\": \"postgresql2\", \"Host\": \"127.0.0.1:5434\", \"Role\": \"Replica\", "
                        + "\"State\": \"streaming\", \"TL\": 5, \"Receive LSN\": \"0/40004E8\", \"Receive Lag\": 0, "
                        + "\"Replay LSN\": \"0/40004E8\", \"Replay Lag\": 0}]\n");
    }

    @Test
    void yamlHasTheSameKeysSortedAsPyYamlWritesThem() {
        assertThat(MemberTable.render(state(batman()), false, Format.YAML)).startsWith("""
                - Cluster: batman
                  Host: 127.0.0.1:5432
                  Member: postgresql0
                  Role: Leader
                  State: running
                  TL: 5
                - Cluster: batman
                  Host: 127.0.0.1:5433
                  Member: postgresql1
                  Receive LSN: 0/40004E8
                  Receive Lag: 0
                  Replay LSN: 0/40004E8
                  Replay Lag: 0
                  Role: Replica
                  State: streaming
                  TL: 5
                """);
    }

    @Test
    void tsvKeepsTheClusterColumnAndWritesTagsInFlowStyle() {
        SnapshotBuilder b = batman();
        b.add("members/postgresql2", with(replica(5434, 8010), n -> n.putObject("tags").put("nofailover", true)).toString(), 2);
        assertThat(MemberTable.render(state(b), true, Format.TSV).lines().toList()).containsExactly(
                "Cluster\tMember\tHost\tRole\tState\tTL\tReceive LSN\tReceive Lag\tReplay LSN\tReplay Lag\tPending restart\t"
                        + "Pending restart reason\tScheduled restart\tTags",
                "batman\tpostgresql0\t127.0.0.1:5432\tLeader\trunning\t5\t\t\t\t\t\t\t\t",
                "batman\tpostgresql1\t127.0.0.1:5433\tReplica\tstreaming\t5\t0/40004E8\t0\t0/40004E8\t0\t\t\t\t",
                "batman\tpostgresql2\t127.0.0.1:5434\tReplica\tstreaming\t5\t0/40004E8\t0\t0/40004E8\t0\t\t\t\t{nofailover: true}");
    }

    @Test
    void theTopologyPutsTheLeaderFirstAndEachReplicaUnderItsUpstream() {
        assertThat(MemberTable.render(state(batman()), false, Format.TOPOLOGY)).isEqualTo("""
                + Cluster: batman (7277694203142172922) ---+-----------+----+-------------+-----+------------+-----+
                | Member        | Host           | Role    | State     | TL | Receive LSN | Lag | Replay LSN | Lag |
                +---------------+----------------+---------+-----------+----+-------------+-----+------------+-----+
                | postgresql0   | 127.0.0.1:5432 | Leader  | running   |  5 |             |     |            |     |
                | + postgresql1 | 127.0.0.1:5433 | Replica | streaming |  5 |   0/40004E8 |   0 |  0/40004E8 |   0 |
                | + postgresql2 | 127.0.0.1:5434 | Replica | streaming |  5 |   0/40004E8 |   0 |  0/40004E8 |   0 |
                +---------------+----------------+---------+-----------+----+-------------+-----+------------+-----+
                """);
    }

    @Test
    void aCascadingReplicaIsIndentedUnderTheReplicaItsReplicatefromTagNames() {
        SnapshotBuilder b = batman();
        b.add("members/postgresql0", with(Entries.primary(5432, 8008), n -> n.putObject("tags")).toString(), 2);
        b.add("members/postgresql1", with(replica(5433, 8009), n -> n.putObject("tags").put("replicatefrom", "postgresql2"))
                .toString(), 2);
        b.add("members/postgresql3", with(replica(5435, 8011), n -> n.putObject("tags").put("replicatefrom", "postgresql1"))
                .toString(), 2);
        String topology = MemberTable.render(state(b), false, Format.TOPOLOGY);
        assertThat(topology.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| Member")).map(l -> l.substring(2, 20)).toList())
                .containsExactly("postgresql0       ", "+ postgresql2     ", "  + postgresql1   ", "    + postgresql3 ");
        // in a topology the tags are one line, in flow style
        assertThat(topology).contains("{replicatefrom: postgresql2}");
    }

    @Test
    void theHostLeavesOutThePortWhenEveryMemberListensOn5432OnItsOwnHost() {
        SnapshotBuilder b = new SnapshotBuilder();
        b.add("initialize", "1", 1);
        b.add("leader", "a", 1);
        b.add("members/a", with(Entries.primary(5432, 8008), n -> n.put("conn_url", "postgres://10.0.0.1:5432/postgres")).toString(), 1);
        b.add("members/b", with(replica(5432, 8008), n -> n.put("conn_url", "postgres://10.0.0.2/postgres")).toString(), 1);
        String table = MemberTable.render(state(b), false, Format.PRETTY);
        assertThat(table).contains("| a      | 10.0.0.1 | Leader ").contains("| b      | 10.0.0.2 | Replica");
    }

    @Test
    void aStoppedReplicaHasUnknownPositionsAndNoLagAndMaintenanceModeAndASwitchoverShowUnderTheTable() {
        SnapshotBuilder b = batman();
        b.add("config", "{\"ttl\":30,\"pause\":true}", 2);
        b.add("failover", "{\"leader\":\"postgresql0\",\"member\":\"postgresql1\",\"scheduled_at\":\"2026-11-26T13:00:00+00:00\"}", 1);
        b.add("members/postgresql2", with(replica(5434, 8010), n -> {
            n.put("state", "stopped");
            n.remove(java.util.List.of("xlog_location", "receive_lsn", "replay_lsn", "replication_state", "timeline"));
        }).toString(), 2);
        String table = MemberTable.render(state(b), false, Format.PRETTY);
        assertThat(table).contains("| postgresql2 | 127.0.0.1:5434 | Replica | stopped   |    |     unknown |     |    unknown |     |");
        assertThat(table).endsWith("""
                 Maintenance mode: on
                 Switchover scheduled at: 2026-11-26T13:00:00+00:00
                                    from: postgresql0
                                      to: postgresql1
                """);
        assertThat(MemberTable.render(state(b), false, Format.JSON)).doesNotContain("Maintenance");
    }

    @Test
    void lagIsInWholeMegabytesAgainstTheLeadersLastPosition() {
        SnapshotBuilder b = batman();
        b.add("status", "{\"optime\":" + (Entries.LSN + 5 * 1024 * 1024 + 600 * 1024) + "}", 2);
        assertThat(MemberTable.render(state(b), false, Format.PRETTY)).contains("|   0/40004E8 |   6 |  0/40004E8 |   6 |");
    }

    @Test
    void aClusterWithoutAnInitializeKeyIsUninitializedAndOneThatBootstrapsIsInitializing() {
        SnapshotBuilder none = new SnapshotBuilder();
        assertThat(MemberTable.render(state(none), false, Format.PRETTY)).startsWith("+ Cluster: batman (uninitialized) ");
        SnapshotBuilder boot = new SnapshotBuilder();
        boot.add("initialize", "", 1);
        assertThat(MemberTable.render(state(boot), false, Format.PRETTY)).startsWith("+ Cluster: batman (initializing) ");
    }

    @Test
    void aSyncStandbyIsNamedSoOnlyInSynchronousMode() {
        SnapshotBuilder b = batman();
        b.add("sync", "{\"leader\":\"postgresql0\",\"sync_standby\":\"postgresql1\"}", 1);
        assertThat(MemberTable.render(state(b), false, Format.PRETTY)).doesNotContain("Sync Standby");
        b.add("config", "{\"synchronous_mode\":true}", 2);
        assertThat(MemberTable.render(state(b), false, Format.PRETTY)).contains("| postgresql1 | 127.0.0.1:5433 | Sync Standby |");
    }

    @Test
    void aVoterIsAQuorumStandbyInQuorumMode() {
        SnapshotBuilder b = batman();
        b.add("sync", "{\"leader\":\"postgresql0\",\"quorum\":1,\"sync_standby\":\"postgresql1\"}", 1);
        b.add("config", "{\"synchronous_mode\":\"quorum\"}", 2);
        assertThat(MemberTable.render(state(b), false, Format.PRETTY))
                .contains("| postgresql1 | 127.0.0.1:5433 | Quorum Standby |").doesNotContain("Sync Standby");
    }
}
