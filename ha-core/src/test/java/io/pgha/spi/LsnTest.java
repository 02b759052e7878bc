package io.pgha.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.PghaException;
import org.junit.jupiter.api.Test;

class LsnTest {
    @Test
    void parsesAndPrintsPostgresTextForm() {
        Lsn l = Lsn.parse("16/B374D848");
        assertThat(l.value()).isEqualTo(0x16B374D848L);
        assertThat(l).hasToString("16/B374D848");
        assertThat(Lsn.parse("0/0")).isEqualTo(Lsn.ZERO);
    }

    @Test
    void comparesAsUnsigned() {
        assertThat(Lsn.of(-1).compareTo(Lsn.of(1))).isPositive();
        assertThat(Lsn.max(Lsn.of(5), Lsn.of(9))).isEqualTo(Lsn.of(9));
        assertThat(Lsn.of(9).minus(Lsn.of(5))).isEqualTo(4);
    }

    @Test
    void rejectsTextThatIsNotAnLsnNamingIt() {
        assertThatThrownBy(() -> Lsn.parse("12345")).isInstanceOf(PghaException.class).hasMessageContaining("'12345'");
        assertThatThrownBy(() -> Lsn.parse("G/1")).isInstanceOf(PghaException.class);
        assertThatThrownBy(() -> Lsn.parse("1FFFFFFFF/0")).isInstanceOf(PghaException.class);
    }

    @Test
    void synchronousStandbysFormatsFirstNWithQuotedNames() {
        assertThat(SynchronousStandbys.all(java.util.List.of("a", "b\"c")).toSetting()).isEqualTo("FIRST 2 (\"a\",\"b\"\"c\")");
        assertThat(SynchronousStandbys.NONE.toSetting()).isEmpty();
        assertThatThrownBy(() -> new SynchronousStandbys(3, java.util.List.of("a"))).isInstanceOf(IllegalArgumentException.class);
    }
}
