package io.pgha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.Lsn;
import java.time.OffsetDateTime;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClusterViewTest {

    /** Values as Patroni 3/4 writes them to etcd3. */
    private static ClusterSnapshot patroniCluster() {
        return new ClusterSnapshot(42, Map.of(
                ClusterKey.INITIALIZE, new DcsEntry("7301234567890123456", 1),
                ClusterKey.CONFIG, new DcsEntry("{\"ttl\":30,\"loop_wait\":10,\"pause\":true,"
                        + "\"postgresql\":{\"parameters\":{\"max_connections\":100}},\"x_custom\":\"kept\"}", 2),
                ClusterKey.LEADER, new DcsEntry("node1", 30),
                ClusterKey.STATUS, new DcsEntry("{\"optime\":67108960,\"slots\":{\"node2\":67108960}}", 31),
                ClusterKey.SYNC, new DcsEntry("{\"leader\":\"node1\",\"sync_standby\":\"node2\"}", 12),
                ClusterKey.HISTORY, new DcsEntry("[[1,25165984,\"no recovery target specified\",\"2024-05-01T10:00:00.123456+00:00\",\"node1\"]]", 9),
                ClusterKey.FAILOVER, new DcsEntry("{\"leader\":\"node1\",\"member\":\"node2\",\"scheduled_at\":\"2026-11-26T13:00:00+01:00\"}", 40)),
                Map.of("node2", new DcsEntry("{\"conn_url\":\"postgres://10.0.0.2:5432/postgres\",\"api_url\":\"http://10.0.0.2:8008/patroni\","
                                + "\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\",\"xlog_location\":67108000,"
                                + "\"replication_state\":\"streaming\",\"timeline\":2}", 34),
                        "node1", new DcsEntry("{\"conn_url\":\"postgres://10.0.0.1:5432/postgres\",\"api_url\":\"http://10.0.0.1:8008/patroni\","
                                + "\"state\":\"running\",\"role\":\"master\",\"version\":\"3.0.2\",\"xlog_location\":67108960,\"timeline\":2}", 33),
                        "garbage", new DcsEntry("{not json", 3)));
    }

    @Test
    void showsEveryKeyOfPatronisLayout() {
        ClusterView c = ClusterView.of(patroniCluster());
        assertThat(c.initialize()).contains("7301234567890123456");
        assertThat(c.leader()).contains("node1");
        assertThat(c.isLeader("node1")).isTrue();
        assertThat(c.isLeader("node2")).isFalse();
        assertThat(c.leaderOptime()).contains(Lsn.of(67108960));
        assertThat(c.syncStandbys()).containsExactly("node2");
        assertThat(c.paused()).isTrue();
        assertThat(c.failover()).hasValueSatisfying(f -> {
            assertThat(f.leader()).contains("node1");
            assertThat(f.candidate()).contains("node2");
            assertThat(f.scheduledAt()).contains(OffsetDateTime.parse("2026-11-26T13:00:00+01:00"));
        });
        assertThat(c.history()).singleElement().satisfies(h -> {
            assertThat(h.timeline()).isEqualTo(1);
            assertThat(h.lsn()).isEqualTo(Lsn.of(25165984));
            assertThat(h.reason()).isEqualTo("no recovery target specified");
            assertThat(h.timestamp()).contains("2024-05-01T10:00:00.123456+00:00");
            assertThat(h.newLeader()).contains("node1");
        });
        assertThat(c.dynamicConfig()).isEqualTo("{\"ttl\":30,\"loop_wait\":10,\"pause\":true,"
                + "\"postgresql\":{\"parameters\":{\"max_connections\":100}},\"x_custom\":\"kept\"}");
    }

    @Test
    void membersComeInNameOrderAndAValueThatCannotBeReadIsLeftOut() {
        ClusterView c = ClusterView.of(patroniCluster());
        assertThat(c.members()).containsOnlyKeys("node1", "node2");
        assertThat(c.members().keySet()).containsExactly("node1", "node2");
        ClusterView.Member primary = c.leaderMember().orElseThrow();
        assertThat(primary.name()).isEqualTo("node1");
        assertThat(primary.role()).as("'master' reads as primary").isEqualTo("primary");
        assertThat(primary.walPosition()).isEqualTo(Lsn.of(67108960));
        ClusterView.Member replica = c.member("node2").orElseThrow();
        assertThat(replica.connUrl()).isEqualTo("postgres://10.0.0.2:5432/postgres");
        assertThat(replica.apiUrl()).contains("http://10.0.0.2:8008/patroni");
        assertThat(replica.isRunning()).isTrue();
        assertThat(replica.replicationState()).contains("streaming");
        assertThat(replica.timeline()).isEqualTo(2);
        assertThat(c.member("garbage")).isEmpty();
    }

    @Test
    void anEmptyStoreIsAnEmptyCluster() {
        ClusterView c = ClusterView.of(ClusterSnapshot.EMPTY);
        assertThat(c.initialize()).isEmpty();
        assertThat(c.leader()).isEmpty();
        assertThat(c.leaderMember()).isEmpty();
        assertThat(c.leaderOptime()).isEmpty();
        assertThat(c.members()).isEmpty();
        assertThat(c.syncStandbys()).isEmpty();
        assertThat(c.paused()).isFalse();
        assertThat(c.failover()).isEmpty();
        assertThat(c.history()).isEmpty();
        assertThat(c.dynamicConfig()).isEqualTo("{}");
    }

    @Test
    void aConfigThatIsNotAJsonObjectReadsAsEmpty() {
        ClusterView c = ClusterView.of(new ClusterSnapshot(1, Map.of(ClusterKey.CONFIG, new DcsEntry("[1,2]", 1)), Map.of()));
        assertThat(c.dynamicConfig()).isEqualTo("{}");
        assertThat(c.paused()).isFalse();
    }

    @Test
    void theViewCannotBeChangedFromOutside() {
        ClusterView c = ClusterView.of(patroniCluster());
        assertThatThrownBy(() -> c.members().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> c.syncStandbys().add("x")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> c.history().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void dynamicConfigCheckNamesEveryValueOfTheWrongTypeAndNothingElse() {
        assertThat(DynamicConfigCheck.problems("{\"ttl\":30,\"loop_wait\":10,\"synchronous_mode\":\"on\",\"x_custom\":[1]}")).isEmpty();
        assertThat(DynamicConfigCheck.problems("{\"ttl\":\"soon\",\"maximum_lag_on_failover\":1.5,"
                + "\"postgresql\":{\"use_pg_rewind\":\"maybe\"}}"))
                .satisfiesExactly(
                        p -> assertThat(p).startsWith("ttl: expected a non-negative number of seconds"),
                        p -> assertThat(p).startsWith("maximum_lag_on_failover: expected an integer"),
                        p -> assertThat(p).startsWith("postgresql.use_pg_rewind: expected a boolean"));
        assertThatThrownBy(() -> DynamicConfigCheck.problems("[1]"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("bootstrap.dcs:");
        assertThatThrownBy(() -> DynamicConfigCheck.problems("{not json"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("bootstrap.dcs:");
    }
}
