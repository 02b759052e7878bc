package io.pgha.internal.engine;

import io.pgha.NodeStatus;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.decision.EffectiveConfig;
import io.pgha.internal.decision.LeaseView;
import io.pgha.spi.PostgresState;
import java.util.Objects;
import java.util.Optional;

/**
 * What the engine knew at the end of its last cycle, for readers outside the loop (the REST API):
 * immutable, published atomically.
 *
 * @param cluster     the last cluster read (kept while the store is unreachable)
 * @param lastCycleAt ticker time the last cycle finished
 * @param actionRunning the long action in progress, described
 */
public record EngineView(NodeStatus status, Optional<Cluster> cluster, Optional<PostgresState> postgres, LeaseView lease,
                         EffectiveConfig config, long lastCycleAt, Optional<String> actionRunning) {
    public EngineView {
        Objects.requireNonNull(status);
        Objects.requireNonNull(cluster);
        Objects.requireNonNull(postgres);
        Objects.requireNonNull(lease);
        Objects.requireNonNull(config);
        Objects.requireNonNull(actionRunning);
    }
}
