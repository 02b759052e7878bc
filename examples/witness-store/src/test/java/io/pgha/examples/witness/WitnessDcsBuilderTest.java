package io.pgha.examples.witness;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.ConfigurationException;
import org.junit.jupiter.api.Test;

/** The builder checks each setting when it is given, the combination at build(), and never shows the password. */
class WitnessDcsBuilderTest {
    private static final String URL = "jdbc:postgresql://127.0.0.1:5432/ha";
    private static final String SECRET = "s3cret-Witness-pw";

    @Test
    void aUrlThatIsNotPgjdbcsIsRefusedByName() {
        assertThatThrownBy(() -> WitnessDcs.builder().jdbcUrl("jdbc:mysql://h/db"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("witness.jdbc_url:");
        assertThatThrownBy(() -> WitnessDcs.builder().jdbcUrl("postgres://h/db"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("witness.jdbc_url:");
    }

    @Test
    void aPasswordInTheUrlIsRefusedWithoutBeingRepeated() {
        assertThatThrownBy(() -> WitnessDcs.builder().jdbcUrl(URL + "?user=pgha&password=" + SECRET))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("credentials")
                .hasMessageNotContaining(SECRET);
    }

    @Test
    void eachSettingCanBeGivenOnlyOnce() {
        assertThatThrownBy(() -> WitnessDcs.builder().jdbcUrl(URL).jdbcUrl(URL))
                .isInstanceOf(ConfigurationException.class).hasMessage("witness.jdbc_url: was already set");
        assertThatThrownBy(() -> WitnessDcs.builder().credentials("a", "b").credentials("a", "b"))
                .isInstanceOf(ConfigurationException.class).hasMessage("witness.username: was already set");
        assertThatThrownBy(() -> WitnessDcs.builder().schema("a").schema("a"))
                .isInstanceOf(ConfigurationException.class).hasMessage("witness.schema: was already set");
        assertThatThrownBy(() -> WitnessDcs.builder().poolSize(2).poolSize(2))
                .isInstanceOf(ConfigurationException.class).hasMessage("witness.pool_size: was already set");
    }

    @Test
    void theSchemaMustBeAPlainLowerCaseIdentifier() {
        for (String bad : new String[] {"", "Pgha", "pg-ha", "1pgha", "pgha; DROP TABLE x", "pg_catalog", "a".repeat(49)}) {
            assertThatThrownBy(() -> WitnessDcs.builder().schema(bad)).as(bad)
                    .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("witness.schema:");
        }
        assertThat(WitnessDcs.builder().schema("ha_witness_2")).isNotNull();
    }

    @Test
    void thePoolSizeIsBounded() {
        assertThatThrownBy(() -> WitnessDcs.builder().poolSize(0)).isInstanceOf(ConfigurationException.class);
        assertThatThrownBy(() -> WitnessDcs.builder().poolSize(17)).isInstanceOf(ConfigurationException.class);
    }

    @Test
    void buildNeedsAUrlAndCredentialsGivenOnce() {
        assertThatThrownBy(() -> WitnessDcs.builder().credentials("pgha", SECRET).build())
                .isInstanceOf(ConfigurationException.class).hasMessage("witness.jdbc_url: is required");
        assertThatThrownBy(() -> WitnessDcs.builder().jdbcUrl(URL).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("witness.username: is required");
        assertThatThrownBy(() -> WitnessDcs.builder().jdbcUrl(URL + "?user=other").credentials("pgha", SECRET).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("witness.username: given twice");
    }

    @Test
    void thePasswordAppearsInNoDescription() {
        WitnessDcs.Builder b = WitnessDcs.builder().jdbcUrl(URL).credentials("pgha", SECRET);
        assertThat(b.toString()).doesNotContain(SECRET).contains("pgha");
        try (WitnessDcs dcs = b.build()) {
            assertThat(dcs.toString()).doesNotContain(SECRET).contains(URL);
        }
        assertThat(new WitnessSettings(URL, "pgha", SECRET, "pgha", 2).toString()).doesNotContain(SECRET);
    }
}
