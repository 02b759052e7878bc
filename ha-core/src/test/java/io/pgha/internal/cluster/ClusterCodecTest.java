package io.pgha.internal.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.MemberTags;
import io.pgha.SynchronousMode;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.Lsn;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ClusterCodecTest {

    /** Values as Patroni 3/4 writes them to etcd3. */
    private static ClusterSnapshot patroniCluster() {
        return new ClusterSnapshot(42, Map.of(
                ClusterKey.INITIALIZE, new DcsEntry("7301234567890123456", 1),
                ClusterKey.CONFIG, new DcsEntry("{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10,\"maximum_lag_on_failover\":1048576,"
                        + "\"postgresql\":{\"use_pg_rewind\":true,\"parameters\":{\"max_connections\":100}},\"synchronous_mode\":true}", 2),
                ClusterKey.LEADER, new DcsEntry("node1", 30),
                ClusterKey.STATUS, new DcsEntry("{\"optime\":67108960,\"slots\":{\"node2\":67108960}}", 31),
                ClusterKey.SYNC, new DcsEntry("{\"leader\":\"node1\",\"sync_standby\":\"node2\"}", 12),
                ClusterKey.HISTORY, new DcsEntry("[[1,25165984,\"no recovery target specified\",\"2024-05-01T10:00:00.123456+00:00\",\"node1\"]]", 9),
                ClusterKey.FAILOVER, new DcsEntry("{\"leader\":\"node1\",\"member\":\"node2\",\"scheduled_at\":\"2026-11-26T13:00:00+01:00\"}", 40)),
                Map.of("node1", new DcsEntry("{\"conn_url\":\"postgres://10.0.0.1:5432/postgres\",\"api_url\":\"http://10.0.0.1:8008/patroni\","
                                + "\"state\":\"running\",\"role\":\"master\",\"version\":\"3.0.2\",\"xlog_location\":67108960,\"timeline\":2}", 33),
                        "node2", new DcsEntry("{\"conn_url\":\"postgres://10.0.0.2:5432/postgres\",\"api_url\":\"http://10.0.0.2:8008/patroni\","
                                + "\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\",\"xlog_location\":67108000,"
                                + "\"replication_state\":\"streaming\",\"timeline\":2,\"tags\":{\"nofailover\":false,\"failover_priority\":3,\"dc\":\"east\"}}", 34)));
    }

    @Test
    void readsEveryKeyOfPatronisLayout() {
        Cluster c = ClusterCodec.decode(patroniCluster());
        assertThat(c.warnings()).isEmpty();
        assertThat(c.initialize()).contains("7301234567890123456");
        assertThat(c.leader()).contains("node1");
        assertThat(c.leaderOptime()).hasValue(67108960);
        assertThat(c.sync()).hasValueSatisfying(s -> {
            assertThat(s.leader()).contains("node1");
            assertThat(s.standbys()).containsExactly("node2");
        });
        assertThat(c.history().clusterTimeline()).isEqualTo(2);
        assertThat(c.failover()).hasValueSatisfying(f -> {
            assertThat(f.candidate()).contains("node2");
            assertThat(f.scheduledAt()).isPresent();
        });
        Member primary = c.member("node1").orElseThrow();
        assertThat(primary.isPrimary()).as("'master' reads as primary").isTrue();
        assertThat(primary.xlogLocation()).isEqualTo(Lsn.of(67108960));
        Member replica = c.member("node2").orElseThrow();
        assertThat(replica.tags().failoverPriority()).isEqualTo(3);
        assertThat(replica.tags().custom()).containsEntry("dc", "east");
        DynamicConfig dyn = c.dynamicConfig();
        assertThat(dyn.ttl()).contains(Duration.ofSeconds(30));
        assertThat(dyn.synchronousMode()).contains(SynchronousMode.ON);
        assertThat(dyn.usePgRewind()).contains(true);
    }

    @Test
    void aMemberEntryThatCannotBeParsedIsSkippedWithAWarning() {
        ClusterSnapshot s = new ClusterSnapshot(1, Map.of(ClusterKey.LEADER, new DcsEntry("a", 1)), Map.of(
                "a", new DcsEntry("{\"conn_url\":\"postgres://a:5432/postgres\",\"state\":\"running\",\"role\":\"primary\"}", 2),
                "garbage", new DcsEntry("{not json", 3),
                "list", new DcsEntry("[1,2]", 4),
                "badlsn", new DcsEntry("{\"xlog_location\":\"zz/zz\"}", 5)));
        Cluster c = ClusterCodec.decode(s);
        assertThat(c.members()).containsOnlyKeys("a");
        assertThat(c.warnings()).hasSize(3)
                .anySatisfy(w -> assertThat(w).startsWith("members/garbage: not valid JSON"))
                .anySatisfy(w -> assertThat(w).startsWith("members/list: expected a JSON object"))
                .anySatisfy(w -> assertThat(w).startsWith("members/badlsn:"));
    }

    @Test
    void corruptClusterKeysAreIgnoredWithAWarningInsteadOfFailing() {
        ClusterSnapshot s = new ClusterSnapshot(1, Map.of(
                ClusterKey.CONFIG, new DcsEntry("[]", 1),
                ClusterKey.SYNC, new DcsEntry("nope", 2),
                ClusterKey.HISTORY, new DcsEntry("[[1],[\"x\",2],[2,100,\"r\"]]", 3),
                ClusterKey.FAILOVER, new DcsEntry("{\"scheduled_at\":\"tomorrow\"}", 4),
                ClusterKey.STATUS, new DcsEntry("{\"optime\":\"x\"}", 5)), Map.of());
        Cluster c = ClusterCodec.decode(s);
        assertThat(c.config()).as("present (nobody writes over it) but empty").hasValueSatisfying(e -> {
            assertThat(e.config()).isEqualTo(DynamicConfig.EMPTY);
            assertThat(e.version()).isEqualTo(1);
        });
        assertThat(c.sync()).isEmpty();
        assertThat(c.history().entries()).hasSize(1);
        assertThat(c.failover()).isEmpty();
        assertThat(c.leaderOptime()).isEmpty();
        assertThat(c.warnings()).hasSizeGreaterThanOrEqualTo(5);
    }

    @Test
    void legacyFailoverValuesAreRead() {
        ClusterSnapshot s = new ClusterSnapshot(1, Map.of(ClusterKey.FAILOVER, new DcsEntry("node1:node2", 1)), Map.of());
        FailoverRequest f = ClusterCodec.decode(s).failover().orElseThrow();
        assertThat(f.leader()).contains("node1");
        assertThat(f.candidate()).contains("node2");
    }

    @Test
    void whatWeWriteWeReadBack() {
        MemberTags tags = MemberTags.DEFAULT.withNofailover(true).withCustom("zone", "b");
        Member m = new Member("n1", "postgres://h:5432/postgres", Optional.of("http://h:8008/patroni"), "running", "replica",
                Lsn.of(1000), Lsn.of(1000), Lsn.of(900), 3, tags, Optional.of("streaming"), 0);
        ClusterSnapshot s = new ClusterSnapshot(1, Map.of(
                ClusterKey.SYNC, new DcsEntry(ClusterCodec.encodeSync("n0", Set.of("n1", "n2")), 1),
                ClusterKey.HISTORY, new DcsEntry(ClusterCodec.encodeHistory(List.of(
                        new HistoryEntry(1, 500, "no recovery target specified", Optional.of("2026-01-01T00:00Z"), Optional.of("n0")))), 2),
                ClusterKey.STATUS, new DcsEntry(ClusterCodec.encodeStatus(Lsn.of(777)), 3),
                ClusterKey.FAILOVER, new DcsEntry(ClusterCodec.encodeFailover(Optional.of("n0"), Optional.of("n1"), Optional.empty()), 4)),
                Map.of("n1", new DcsEntry(ClusterCodec.encodeMember(m), 5)));
        Cluster c = ClusterCodec.decode(s);
        assertThat(c.warnings()).isEmpty();
        Member back = c.member("n1").orElseThrow();
        assertThat(back.tags()).isEqualTo(tags);
        assertThat(back.xlogLocation()).isEqualTo(Lsn.of(1000));
        assertThat(back.replayLsn()).isEqualTo(Lsn.of(900));
        assertThat(back.timeline()).isEqualTo(3);
        assertThat(c.sync().orElseThrow().standbys()).containsExactly("n1", "n2");
        assertThat(c.history().entries()).hasSize(1);
        assertThat(c.leaderOptime()).hasValue(777);
        assertThat(c.failover().orElseThrow().leader()).contains("n0");
    }

    @Test
    void theSyncKeyOfQuorumModeIsWrittenAndReadAsPatroniWritesIt() throws Exception {
        String written = ClusterCodec.encodeSync("n0", Set.of("n2", "n1"), 1);
        assertThat(ClusterCodec.JSON.readTree(written)).isEqualTo(ClusterCodec.JSON.readTree(
                "{\"leader\":\"n0\",\"quorum\":1,\"sync_standby\":\"n1,n2\"}"));
        SyncState back = ClusterCodec.decode(new ClusterSnapshot(1, Map.of(ClusterKey.SYNC, new DcsEntry(written, 7)), Map.of()))
                .sync().orElseThrow();
        assertThat(back.quorum()).isEqualTo(1);
        assertThat(back.standbys()).containsExactly("n1", "n2");
        assertThat(back.members()).containsExactly("n0", "n1", "n2");
        // Patroni's SyncState.from_node: no leader, no quorum
        SyncState noLeader = ClusterCodec.decode(new ClusterSnapshot(1, Map.of(ClusterKey.SYNC,
                new DcsEntry("{\"leader\":null,\"quorum\":2,\"sync_standby\":\"n1\"}", 8)), Map.of())).sync().orElseThrow();
        assertThat(noLeader.quorum()).isZero();
        assertThat(noLeader.isEmpty()).isTrue();
    }
}
