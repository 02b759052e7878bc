package io.pgha.internal.decision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class DecisionTest {
    @Test
    void splitsTheQuickStepsFromTheLongOneThatEndsTheDecision() {
        Decision d = Decision.of("race", new Action.AcquireLock(), new Action.ClearFailover(3), new Action.Promote());

        assertThat(d.quickSteps()).containsExactly(new Action.AcquireLock(), new Action.ClearFailover(3));
        assertThat(d.longStep()).contains(new Action.Promote());
    }

    @Test
    void aDecisionOfQuickStepsHasNoLongStep() {
        Decision d = Decision.soon("renew", new Action.RenewLock());

        assertThat(d.quickSteps()).containsExactly(new Action.RenewLock());
        assertThat(d.longStep()).isEmpty();
        assertThat(Decision.nothing("idle").quickSteps()).isEmpty();
    }

    @Test
    void aLongStepMustBeTheLast() {
        assertThatThrownBy(() -> new Decision("bad", List.of(new Action.Promote(), new Action.RenewLock()), false))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
