package io.pgha.internal.decision;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.HaSettings;
import io.pgha.SynchronousMode;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.cluster.DynamicConfig;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class EffectiveConfigTest {
    private static DynamicConfig dynamic(String json) throws Exception {
        return new DynamicConfig((ObjectNode) ClusterCodec.JSON.readTree(json));
    }

    @Test
    void theClusterConfigurationOverridesTheNodesOwnSettings() throws Exception {
        EffectiveConfig c = EffectiveConfig.merge(HaSettings.defaults(), dynamic(
                "{\"loop_wait\":5,\"retry_timeout\":\"7\",\"maximum_lag_on_failover\":2048,\"synchronous_mode\":\"on\","
                        + "\"synchronous_mode_strict\":true,\"synchronous_node_count\":2,\"pause\":true,\"master_start_timeout\":60}"));
        assertThat(c.settings().loopWait()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.settings().retryTimeout()).isEqualTo(Duration.ofSeconds(7));
        assertThat(c.settings().maximumLagOnFailover()).isEqualTo(2048);
        assertThat(c.settings().synchronousMode()).isEqualTo(SynchronousMode.STRICT);
        assertThat(c.settings().synchronousNodeCount()).isEqualTo(2);
        assertThat(c.settings().primaryStartTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.paused()).isTrue();
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void synchronousModeIsIgnoredInAStandbyClusterWithAWarning() throws Exception {
        EffectiveConfig c = EffectiveConfig.merge(HaSettings.defaults(), dynamic(
                "{\"synchronous_mode\":true,\"standby_cluster\":{\"host\":\"10.9.0.1\",\"port\":5432}}"));
        assertThat(c.isStandbyCluster()).isTrue();
        assertThat(c.standbyCluster().orElseThrow().remoteUpstream().connectionUrl()).isEqualTo("postgres://10.9.0.1:5432/postgres");
        assertThat(c.syncMode()).isEqualTo(SynchronousMode.OFF);
        assertThat(c.warnings()).containsExactly(EffectiveConfig.SYNC_IGNORED_IN_STANDBY_CLUSTER);
    }

    @Test
    void aStandbyClusterSectionOfTheWrongShapeIsNotActedOnAndNamedByItsKey() throws Exception {
        EffectiveConfig c = EffectiveConfig.merge(HaSettings.defaults(), dynamic(
                "{\"synchronous_mode\":true,\"standby_cluster\":{\"host\":\"10.9.0.1\",\"port\":\"five\"}}"));
        assertThat(c.isStandbyCluster()).isFalse();
        assertThat(c.syncMode()).isEqualTo(SynchronousMode.ON);
        assertThat(c.warnings()).singleElement().satisfies(w -> assertThat(w).startsWith("standby_cluster.port: expected a port"));
    }

    @Test
    void severalRemoteHostsMakeOneMultiHostUrlWithAPortEachOrOneForAll() throws Exception {
        assertThat(EffectiveConfig.merge(HaSettings.defaults(), dynamic(
                "{\"standby_cluster\":{\"host\":\"a, b\",\"port\":\"5432,5433\"}}")).standbyCluster().orElseThrow()
                .remoteUpstream().connectionUrl()).isEqualTo("postgres://a:5432,b:5433/postgres");
        assertThat(EffectiveConfig.merge(HaSettings.defaults(), dynamic(
                "{\"standby_cluster\":{\"host\":\"a,b\",\"port\":6432}}")).standbyCluster().orElseThrow()
                .remoteUpstream().connectionUrl()).isEqualTo("postgres://a:6432,b:6432/postgres");
        assertThat(EffectiveConfig.merge(HaSettings.defaults(), dynamic(
                "{\"standby_cluster\":{\"host\":\"a, b\",\"port\":\"5432,5433\"}}")).standbyCluster().orElseThrow().describe())
                .isEqualTo("remote primary (the writable one of) a:5432, b:5433");
    }

    @Test
    void synchronousModeQuorumIsReadWithItsStrictVariantAndWithoutAWarning() throws Exception {
        assertThat(EffectiveConfig.merge(HaSettings.defaults(), dynamic("{\"synchronous_mode\":\"quorum\"}")).settings().synchronousMode())
                .isEqualTo(SynchronousMode.QUORUM);
        EffectiveConfig strict = EffectiveConfig.merge(HaSettings.defaults(),
                dynamic("{\"synchronous_mode\":\"Quorum\",\"synchronous_mode_strict\":true,\"synchronous_node_count\":2}"));
        assertThat(strict.settings().synchronousMode()).isEqualTo(SynchronousMode.QUORUM_STRICT);
        assertThat(strict.settings().synchronousNodeCount()).isEqualTo(2);
        assertThat(strict.warnings()).isEmpty();
        assertThat(EffectiveConfig.merge(HaSettings.defaults(), dynamic("{\"synchronous_mode\":\"quorom\"}")).warnings())
                .anySatisfy(w -> assertThat(w).contains("synchronous_mode"));
    }

    @Test
    void anUnsafeCombinationIsAdjustedLikePatroniWithAWarning() throws Exception {
        EffectiveConfig c = EffectiveConfig.merge(HaSettings.defaults(), dynamic("{\"loop_wait\":20,\"retry_timeout\":10}"));
        assertThat(c.settings().loopWait()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.warnings()).anySatisfy(w -> assertThat(w).contains("loop_wait lowered to 10000ms"));
    }

    @Test
    void theLeaseKeepsTheNodesTtlAndSaysSo() throws Exception {
        EffectiveConfig c = EffectiveConfig.merge(HaSettings.defaults(), dynamic("{\"ttl\":60}"));
        assertThat(c.settings().ttl()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.warnings()).anySatisfy(w -> assertThat(w).contains("ttl 60000ms in the dynamic configuration differs"));
    }

    @Test
    void valuesOfTheWrongTypeAreIgnoredByName() throws Exception {
        EffectiveConfig c = EffectiveConfig.merge(HaSettings.defaults(), dynamic("{\"loop_wait\":\"soon\",\"pause\":\"maybe\"}"));
        assertThat(c.settings().loopWait()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.paused()).isFalse();
        assertThat(c.warnings()).anySatisfy(w -> assertThat(w).startsWith("loop_wait: expected a non-negative number"))
                .anySatisfy(w -> assertThat(w).startsWith("pause: expected a boolean"));
    }
}
