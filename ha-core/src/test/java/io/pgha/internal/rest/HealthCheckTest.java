package io.pgha.internal.rest;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.HaSettings;
import io.pgha.MemberTags;
import io.pgha.NodeStatus;
import io.pgha.Role;
import io.pgha.internal.decision.EffectiveConfig;
import io.pgha.internal.decision.LeaseView;
import io.pgha.internal.engine.EngineView;
import io.pgha.spi.PostgresState;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HealthCheckTest {
    private static final long TTL = 30_000_000_000L;

    private static NodeFacts facts(Role role, long sinceCycle) {
        NodeStatus status = new NodeStatus("n1", "c", role, Optional.empty(), false, Optional.of(PostgresState.uninitialized()), true,
                Optional.empty(), false, "", 3, Optional.empty());
        EngineView view = new EngineView(status, Optional.empty(), status.postgres(), LeaseView.NOT_HELD,
                EffectiveConfig.of(HaSettings.defaults()), 0, Optional.empty());
        return new NodeFacts("n1", "c", MemberTags.DEFAULT, view, false, false, false, false, false, Optional.empty(), sinceCycle,
                false, Optional.empty(), false);
    }

    @Test
    void aNodeWhoseLoopRunsIsAlive() {
        assertThat(HealthCheck.evaluate("/liveness", Map.of(), facts(Role.REPLICA, 1), TTL, 0)).isEqualTo(200);
    }

    @Test
    void aNodeThatGaveUpIsNotAliveEvenRightAfterItsLastCycle() {
        assertThat(HealthCheck.evaluate("/liveness", Map.of(), facts(Role.FAILED, 1), TTL, 0)).isEqualTo(503);
    }

    @Test
    void aNodeWhoseLoopStoppedLongerThanTwoTtlsAgoIsNotAlive() {
        assertThat(HealthCheck.evaluate("/liveness", Map.of(), facts(Role.REPLICA, 2 * TTL + 1), TTL, 0)).isEqualTo(503);
    }
}
