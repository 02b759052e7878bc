package io.pgha.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PostgresStateBuilderTest {

    @Test
    void aBuiltStateEqualsTheOneTheCanonicalConstructorMakes() {
        Upstream up = new Upstream("n2", "postgres://n2:5432/postgres");
        PostgresState built = PostgresState.builder(RunState.RUNNING).inRecovery(true).systemId(Optional.of("7001"))
                .timeline(3).receiveLsn(Lsn.of(900)).replayLsn(Lsn.of(800)).upstream(Optional.of(up)).streaming(true)
                .timelineStart(Lsn.of(500)).serverVersion(150018).build();
        PostgresState constructed = new PostgresState(RunState.RUNNING, true, Optional.of("7001"), 3, Lsn.ZERO, Lsn.ZERO,
                Lsn.of(900), Lsn.of(800), Optional.of(up), true, List.of(), SynchronousStandbys.NONE, Lsn.of(500), 150018, List.of());
        assertThat(built).isEqualTo(constructed);
        assertThat(built.walPosition()).isEqualTo(Lsn.of(900));
    }

    @Test
    void theDefaultsAreThoseOfAnUninitializedNode() {
        assertThat(PostgresState.builder(RunState.UNINITIALIZED).build()).isEqualTo(PostgresState.uninitialized());
    }

    @Test
    void toBuilderChangesOnlyWhatIsSet() {
        PostgresState s = PostgresState.builder(RunState.RUNNING).systemId(Optional.of("7001")).timeline(2).writeLsn(Lsn.of(64)).build();
        PostgresState t = s.toBuilder().timeline(4).build();
        assertThat(t.timeline()).isEqualTo(4);
        assertThat(t.toBuilder().timeline(2).build()).isEqualTo(s);
    }

    @Test
    void eachSetterRejectsWhatNoServerHasAndBuildRejectsImpossibleCombinations() {
        assertThatThrownBy(() -> PostgresState.builder(RunState.RUNNING).timeline(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("timeline");
        assertThatThrownBy(() -> PostgresState.builder(RunState.RUNNING).writeLsn(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("writeLsn");
        assertThatThrownBy(() -> PostgresState.builder(RunState.RUNNING).systemId(Optional.of("1")).streaming(true).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("upstream");
        assertThatThrownBy(() -> PostgresState.builder(RunState.RUNNING).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("system identifier");
    }
}
