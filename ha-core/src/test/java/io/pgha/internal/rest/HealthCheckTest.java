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

    /** A running streaming standby that holds the lock of a standby cluster, or (when not {@code standbyLeader}) an ordinary replica. */
    private static NodeFacts standby(boolean standbyLeader) {
        NodeFacts f = facts(standbyLeader ? Role.STANDBY_LEADER : Role.REPLICA, 1);
        return new NodeFacts("n1", "c", MemberTags.DEFAULT, f.view(), true, false, true, true, false, Optional.of(0L), 1,
                false, Optional.empty(), false, standbyLeader);
    }

    @Test
    void theStandbyLeaderAnswersAsTheStandbyLeaderAndTheLeaderButNeverAsAPrimaryOrAReplica() {
        NodeFacts f = standby(true);
        for (String path : new String[] {"/standby-leader", "/standby_leader", "/leader", "/read-only", "/health", "/read-only-sync"}) {
            assertThat(HealthCheck.evaluate(path, Map.of(), f, TTL, 0)).as(path).isEqualTo(200);
        }
        for (String path : new String[] {"/", "/primary", "/master", "/read-write", "/replica", "/async", "/sync"}) {
            assertThat(HealthCheck.evaluate(path, Map.of(), f, TTL, 0)).as(path).isEqualTo(503);
        }
    }

    @Test
    void aCascadingReplicaOfAStandbyClusterIsAReplicaAndNotTheStandbyLeader() {
        NodeFacts f = standby(false);
        assertThat(HealthCheck.evaluate("/replica", Map.of(), f, TTL, 0)).isEqualTo(200);
        assertThat(HealthCheck.evaluate("/standby-leader", Map.of(), f, TTL, 0)).isEqualTo(503);
        assertThat(HealthCheck.evaluate("/leader", Map.of(), f, TTL, 0)).isEqualTo(503);
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
