package io.pgha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DynamicConfigCheckTest {

    @Test
    void aPatchMergesObjectsRecursivelyDeletesNullKeysAndReplacesTheRestAsPatroniDoes() {
        String current = "{\"ttl\":30,\"pause\":true,\"postgresql\":{\"parameters\":{\"max_connections\":100,\"work_mem\":\"4MB\"}}}";
        String patch = "{\"ttl\":20,\"pause\":null,\"postgresql\":{\"parameters\":{\"work_mem\":\"8MB\"}},\"tags\":[1]}";

        assertThat(DynamicConfigCheck.patched(current, patch)).isEqualTo(
                "{\"ttl\":20,\"postgresql\":{\"parameters\":{\"max_connections\":100,\"work_mem\":\"8MB\"}},\"tags\":[1]}");
    }

    @Test
    void problemsNameEachKeyWithAWrongTypeInAFixedOrder() {
        assertThat(DynamicConfigCheck.problems("{\"check_timeline\":\"maybe\",\"ttl\":\"soon\",\"pause\":3}"))
                .hasSize(3)
                .satisfies(p -> assertThat(p.get(0)).startsWith("ttl:"))
                .satisfies(p -> assertThat(p.get(1)).startsWith("pause:"))
                .satisfies(p -> assertThat(p.get(2)).startsWith("check_timeline:"));
        assertThat(DynamicConfigCheck.problems("{\"ttl\":30,\"loop_wait\":10,\"unknown_key\":\"kept\"}")).isEmpty();
    }

    @Test
    void keysANodeDoesNotActOnAreNamedWithWhatHappensInsteadAndSwitchedOffOnesAreNot() {
        assertThat(DynamicConfigCheck.notActedOn("{\"ttl\":30,\"primary_race_backoff\":5,\"standby_cluster\":{\"host\":\"a\",\"hots\":1},"
                + "\"slots\":{},\"etcd\":{\"hosts\":\"x\"},\"tll\":20,\"postgresql\":{\"parameters\":{},\"parameters_replica\":{},"
                + "\"use_slot\":true}}"))
                .containsExactly("primary_race_backoff: not supported yet: a leader race starts at once",
                        "tll: unknown key, ignored",
                        "standby_cluster.hots: unknown key, ignored",
                        "postgresql.parameters_replica: per-role settings are not supported yet, ignored",
                        "postgresql.use_slot: unknown key, ignored");
        assertThat(DynamicConfigCheck.notActedOn("{\"failsafe_mode\":true,\"standby_cluster\":null,\"slots\":{},\"pause\":true}"))
                .isEmpty();
    }

    @Test
    void aStandbyClusterSectionOfTheWrongShapeIsAProblemNamingItsKey() {
        assertThat(DynamicConfigCheck.problems("{\"standby_cluster\":{\"host\":\"10.0.0.1\",\"port\":\"54x\"}}"))
                .singleElement().satisfies(p -> assertThat(p).startsWith("standby_cluster.port: expected a port"));
        assertThat(DynamicConfigCheck.problems("{\"standby_cluster\":{\"host\":\"a,b,c\",\"port\":\"1,2\"}}"))
                .singleElement().satisfies(p -> assertThat(p).startsWith("standby_cluster.port: give one port, or one per host"));
        assertThat(DynamicConfigCheck.problems("{\"standby_cluster\":{\"host\":\"a\",\"primary_slot_name\":\"Bad-Slot\"}}"))
                .singleElement().satisfies(p -> assertThat(p).startsWith("standby_cluster.primary_slot_name:"));
        assertThat(DynamicConfigCheck.problems("{\"standby_cluster\":{\"host\":\"a\",\"recovery_min_apply_delay\":\"soon\"}}"))
                .singleElement().satisfies(p -> assertThat(p).startsWith("standby_cluster.recovery_min_apply_delay:"));
        assertThat(DynamicConfigCheck.problems("{\"standby_cluster\":{\"host\":\"a\",\"create_replica_methods\":\"basebackup\"}}"))
                .singleElement().satisfies(p -> assertThat(p).startsWith("standby_cluster.create_replica_methods:"));
        assertThat(DynamicConfigCheck.problems("{\"standby_cluster\":[1]}"))
                .singleElement().satisfies(p -> assertThat(p).startsWith("standby_cluster: expected a mapping"));
        assertThat(DynamicConfigCheck.problems("{\"standby_cluster\":{\"host\":\"10.0.0.1,10.0.0.2\",\"port\":5432,"
                + "\"primary_slot_name\":\"dr\",\"restore_command\":\"cp %f %p\",\"recovery_min_apply_delay\":300}}")).isEmpty();
    }

    @Test
    void aStandbyClusterSectionWithoutHostPortOrRestoreCommandIsNamedAsNotMakingAStandbyCluster() {
        assertThat(DynamicConfigCheck.notActedOn("{\"standby_cluster\":{\"primary_slot_name\":\"dr\"}}"))
                .containsExactly("standby_cluster: sets none of host, port and restore_command: this is not a standby cluster");
    }

    @Test
    void aDocumentThatIsNotAJsonObjectIsAConfigurationErrorNamingWhichDocument() {
        assertThatThrownBy(() -> DynamicConfigCheck.problems("[1,2]")).isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("bootstrap.dcs");
        assertThatThrownBy(() -> DynamicConfigCheck.patched("{}", "not json")).isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("patch");
    }
}
