package io.pgha.internal.engine;

import io.pgha.internal.decision.Action;
import io.pgha.internal.decision.NodeMemory;
import io.pgha.internal.decision.NodeMemory.DivergenceResult;
import io.pgha.internal.decision.NodeMemory.RunningAction;
import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.Lsn;
import java.util.Optional;

/**
 * What an action leaves for the node to remember. Actions return these instead of writing the
 * node's memory themselves; the loop folds each one into {@link NodeMemory} on its lane.
 */
sealed interface ActionOutcome {
    /** The memory after this outcome; {@code now} is the ticker time it is folded at. */
    NodeMemory applyTo(NodeMemory m, long now);

    /** {@code synchronous_standby_names} took effect when the primary had flushed up to {@code flushedAt}. */
    record SyncStandbysSet(Lsn flushedAt) implements ActionOutcome {
        @Override
        public NodeMemory applyTo(NodeMemory m, long now) {
            return m.withSyncChangedAtFlush(flushedAt);
        }
    }

    /** A divergence check finished (a check that failed says {@link DivergenceCheck#UNKNOWN}). */
    record DivergenceChecked(DivergenceResult result) implements ActionOutcome {
        @Override
        public NodeMemory applyTo(NodeMemory m, long now) {
            return m.withDivergence(Optional.of(result));
        }
    }

    /**
     * The local data was just cloned or rewound from {@code upstream} (which published
     * {@code upstreamTimeline}) and follows it: not diverged, as of now.
     */
    record Following(String upstream, int upstreamTimeline) implements ActionOutcome {
        @Override
        public NodeMemory applyTo(NodeMemory m, long now) {
            return m.withDivergence(Optional.of(new DivergenceResult(upstream, upstreamTimeline, DivergenceCheck.NOT_DIVERGED, now)));
        }
    }

    /** A long action started in the async slot. */
    record LongStarted(RunningAction running) implements ActionOutcome {
        @Override
        public NodeMemory applyTo(NodeMemory m, long now) {
            return m.withAction(Optional.of(running));
        }
    }

    /**
     * A long action ended, well or not. After anything that changes what the local PostgreSQL is
     * (a promotion, a demotion, a start, a new cluster, a removed data directory) an earlier
     * divergence check no longer holds; a promotion starts a tenure in which where
     * {@code synchronous_standby_names} took effect is unknown until it is set again.
     */
    record LongEnded(Action.LongRunning action, boolean succeeded) implements ActionOutcome {
        @Override
        public NodeMemory applyTo(NodeMemory m, long now) {
            NodeMemory next = m.withAction(Optional.empty());
            if (action instanceof Action.Promote || action instanceof Action.Demote || action instanceof Action.StartPostgres
                    || action instanceof Action.Bootstrap || action instanceof Action.Reinitialize) {
                next = next.withDivergence(Optional.empty());
            }
            if (action instanceof Action.Promote && succeeded) {
                next = next.withSyncChangeUnknown();
            }
            return next;
        }
    }

    /** The long action in the slot, if any, was cancelled. */
    record LongCancelled() implements ActionOutcome {
        @Override
        public NodeMemory applyTo(NodeMemory m, long now) {
            return m.withAction(Optional.empty());
        }
    }
}
