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
        assertThat(DynamicConfigCheck.notActedOn("{\"ttl\":30,\"primary_race_backoff\":5,\"standby_cluster\":{\"host\":\"a\"},"
                + "\"slots\":{},\"etcd\":{\"hosts\":\"x\"},\"tll\":20,\"postgresql\":{\"parameters\":{},\"parameters_replica\":{},"
                + "\"use_slot\":true}}"))
                .containsExactly("primary_race_backoff: not supported yet: a leader race starts at once",
                        "standby_cluster: not supported yet: this cluster runs as a normal cluster, its leader a primary",
                        "tll: unknown key, ignored",
                        "postgresql.parameters_replica: per-role settings are not supported yet, ignored",
                        "postgresql.use_slot: unknown key, ignored");
        assertThat(DynamicConfigCheck.notActedOn("{\"failsafe_mode\":true,\"standby_cluster\":null,\"slots\":{},\"pause\":true}"))
                .isEmpty();
    }

    @Test
    void aDocumentThatIsNotAJsonObjectIsAConfigurationErrorNamingWhichDocument() {
        assertThatThrownBy(() -> DynamicConfigCheck.problems("[1,2]")).isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("bootstrap.dcs");
        assertThatThrownBy(() -> DynamicConfigCheck.patched("{}", "not json")).isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("patch");
    }
}
