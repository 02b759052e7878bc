package io.pgha.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The node logs a decision's reason when the condition changes, not when only its details do. */
class NodeReportConditionTest {
    @Test
    void aStoreOutageWhoseCauseAndTimeLeftChangeEachCycleIsOneCondition() {
        assertThat(NodeReport.condition("DCS is not accessible (etcd at [127.0.0.1:2379] did not answer within retry_timeout (1000 ms)); "
                + "staying primary while the lease is certainly valid (2312 ms left)"))
                .isEqualTo(NodeReport.condition("DCS is not accessible (the store did not answer within retry_timeout); "
                        + "staying primary while the lease is certainly valid (1311 ms left)"));
    }

    @Test
    void anotherDecisionIsAnotherCondition() {
        assertThat(NodeReport.condition("DCS is not accessible (refused) and the lease may have expired: demoting"))
                .isNotEqualTo(NodeReport.condition("DCS is not accessible (refused); staying primary while the lease is certainly valid (2 ms left)"))
                .isEqualTo("DCS is not accessible  and the lease may have expired: demoting");
    }

    @Test
    void aNewLeaderNamedInParenthesesIsAChange() {
        assertThat(NodeReport.condition("no action. I am (n1), a secondary, and following a leader ('n2')"))
                .isNotEqualTo(NodeReport.condition("no action. I am (n1), a secondary, and following a leader ('n3')"));
    }
}
