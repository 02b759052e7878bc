package io.pgha.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.internal.decision.Action;
import io.pgha.internal.decision.DemoteMode;
import io.pgha.internal.decision.NodeMemory;
import io.pgha.internal.decision.NodeMemory.DivergenceResult;
import io.pgha.internal.decision.NodeMemory.RunningAction;
import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.Lsn;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ActionOutcomeTest {
    private static final DivergenceResult CHECKED = new DivergenceResult("n2", 3, DivergenceCheck.DIVERGED, 5);
    private static final NodeMemory BUSY = NodeMemory.INITIAL
            .withAction(Optional.of(new RunningAction(new Action.Promote(), 1)))
            .withDivergence(Optional.of(CHECKED))
            .withSyncChangedAtFlush(Lsn.of(100));

    @Test
    void aSuccessfulPromotionEndsTheActionForgetsTheDivergenceCheckAndWhereSyncChanged() {
        NodeMemory m = new ActionOutcome.LongEnded(new Action.Promote(), true).applyTo(BUSY, 9);

        assertThat(m.action()).isEmpty();
        assertThat(m.divergence()).isEmpty();
        assertThat(m.syncChangedAtFlush()).isEmpty();
    }

    @Test
    void aFailedPromotionKeepsWhereSyncChanged() {
        NodeMemory m = new ActionOutcome.LongEnded(new Action.Promote(), false).applyTo(BUSY, 9);

        assertThat(m.action()).isEmpty();
        assertThat(m.divergence()).isEmpty();
        assertThat(m.syncChangedAtFlush()).contains(Lsn.of(100));
    }

    @Test
    void aFollowKeepsTheDivergenceCheck() {
        NodeMemory m = new ActionOutcome.LongEnded(new Action.Follow(Optional.empty()), true).applyTo(BUSY, 9);

        assertThat(m.action()).isEmpty();
        assertThat(m.divergence()).contains(CHECKED);
    }

    @Test
    void aDemotionForgetsTheDivergenceCheck() {
        assertThat(new ActionOutcome.LongEnded(new Action.Demote(DemoteMode.GRACEFUL), true).applyTo(BUSY, 9).divergence()).isEmpty();
    }

    @Test
    void aCloneOrRewindLeavesTheDataFollowingItsSourceAsOfWhenItIsFolded() {
        NodeMemory m = new ActionOutcome.Following("n3", 4).applyTo(NodeMemory.INITIAL, 42);

        assertThat(m.divergence()).contains(new DivergenceResult("n3", 4, DivergenceCheck.NOT_DIVERGED, 42));
    }

    @Test
    void settingSynchronousStandbysRemembersTheFlushPosition() {
        assertThat(new ActionOutcome.SyncStandbysSet(Lsn.of(7)).applyTo(NodeMemory.INITIAL, 1).syncChangedAtFlush()).contains(Lsn.of(7));
    }
}
