package io.pgha.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ServerParametersTest {
    private static final Map<String, String> DEFAULTS = Map.of("wal_level", "replica", "max_wal_senders", "10",
            "wal_keep_size", "128MB");
    private static final Set<String> OWNED = Set.of("port", "primary_conninfo");

    @Test
    void aDynamicValueOverridesADefaultAndALocalValueOverridesADynamicOne() {
        var l = ServerParameters.layer(DEFAULTS, Map.of("work_mem", "64MB", "max_wal_senders", "20"), Map.of("work_mem", "8MB"),
                OWNED, Map.of());
        assertThat(l.values()).containsEntry("work_mem", "8MB").containsEntry("max_wal_senders", "20");
        assertThat(l.problems()).isEmpty();
    }

    @Test
    void forASettingEveryMemberSharesTheDynamicValueWinsOverTheLocalOne() {
        var l = ServerParameters.layer(DEFAULTS, Map.of("max_connections", "200"), Map.of("max_connections", "30"), OWNED, Map.of());
        assertThat(l.values()).containsEntry("max_connections", "200");
    }

    @Test
    void aLocalValueOfASharedSettingIsUsedWhenTheDynamicConfigurationIsSilent() {
        var l = ServerParameters.layer(DEFAULTS, Map.of(), Map.of("max_connections", "30"), OWNED, Map.of());
        assertThat(l.values()).containsEntry("max_connections", "30");
    }

    @Test
    void settingsPghaDerivesAndValuesPatroniRefusesAreLeftOutAndReportedByKey() {
        var l = ServerParameters.layer(DEFAULTS, Map.of("port", "1", "wal_level", "minimal", "max_connections", "10",
                "wal_keep_size", "8MB", "hot_standby", "off"), Map.of(), OWNED, Map.of());
        assertThat(l.values()).containsEntry("wal_level", "replica").containsEntry("wal_keep_size", "128MB")
                .doesNotContainKeys("port", "max_connections", "hot_standby");
        assertThat(l.problems()).hasSize(5).anyMatch(p -> p.startsWith("postgresql.parameters.port: managed by pgha"))
                .anyMatch(p -> p.startsWith("postgresql.parameters.wal_level: 'minimal' is not allowed"))
                .anyMatch(p -> p.startsWith("postgresql.parameters.max_connections: '10' is not allowed"));
    }

    @Test
    void aStandbyKeepsAtLeastThePrimarysValuesThatPgControlRecorded() {
        var l = ServerParameters.layer(DEFAULTS, Map.of("max_connections", "100"), Map.of(), OWNED,
                Map.of("max_connections setting", "200", "max_wal_senders setting", "5"));
        assertThat(l.values()).containsEntry("max_connections", "200").containsEntry("max_wal_senders", "10");
    }

    @Test
    void sizesAreReadInPostgresqlUnits() {
        assertThat(ServerParameters.megabytes("1GB")).contains(1024L);
        assertThat(ServerParameters.megabytes("64")).contains(64L);
        assertThat(ServerParameters.megabytes("2048kB")).contains(2L);
        assertThat(ServerParameters.megabytes("lots")).isEmpty();
    }
}
