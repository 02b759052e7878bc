package io.pgha.internal.decision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Patroni's restart filters, row by row: who restarts and why not. */
class RestartRequestTest {
    private static RestartRequest request(String role, Integer version, boolean pending) {
        return new RestartRequest(Optional.empty(), Optional.ofNullable(role),
                version == null ? OptionalInt.empty() : OptionalInt.of(version), pending, Duration.ofSeconds(60));
    }

    @Test
    void withoutFiltersEveryMemberRestarts() {
        assertThat(request(null, null, false).mismatch("replica", 150018, false)).isEmpty();
        assertThat(request("any", null, false).mismatch("primary", 150018, false)).isEmpty();
    }

    @Test
    void aRoleFilterRestartsOnlyThatRole() {
        assertThat(request("primary", null, false).mismatch("replica", 150018, false)).contains("host role mismatch");
        assertThat(request("replica", null, false).mismatch("primary", 150018, false)).contains("host role mismatch");
        assertThat(request("primary", null, false).mismatch("primary", 150018, false)).isEmpty();
    }

    @Test
    void aVersionFilterRestartsOnlyAnOlderServer() {
        assertThat(request(null, 150019, false).mismatch("replica", 150018, false)).isEmpty();
        assertThat(request(null, 150018, false).mismatch("replica", 150018, false)).contains("postgres version mismatch");
    }

    @Test
    void thePendingFilterRestartsOnlyAServerWaitingForOne() {
        assertThat(request(null, null, true).mismatch("replica", 150018, false)).contains("pending restart flag is not set");
        assertThat(request(null, null, true).mismatch("replica", 150018, true)).isEmpty();
    }

    @Test
    void versionsReadAsServerVersionNum() {
        assertThat(RestartRequest.versionNumber("15.18")).isEqualTo(150018);
        assertThat(RestartRequest.versionNumber("9.6.24")).isEqualTo(90624);
        assertThat(RestartRequest.versionNumber("16")).isEqualTo(160000);
        assertThatThrownBy(() -> RestartRequest.versionNumber("fifteen")).hasMessageContaining("first.major.minor");
    }
}
