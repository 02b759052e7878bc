package io.pgha.internal.engine;

import io.pgha.HaListener;
import io.pgha.HaSettings;
import io.pgha.MemberTags;
import io.pgha.TaskScheduler;
import io.pgha.Ticker;
import io.pgha.spi.Dcs;
import io.pgha.spi.PeerClient;
import io.pgha.spi.PostgresController;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;

/** Everything the engine is built from, validated by {@code HaNode.Builder}. */
public record EngineConfig(String name, String scope, HaSettings settings, MemberTags tags, Dcs dcs,
                           PostgresController postgres, Optional<PeerClient> peerClient, Optional<String> apiUrl,
                           Ticker ticker, Clock wallClock, TaskScheduler loopScheduler, TaskScheduler guardScheduler,
                           Executor listenerExecutor, List<HaListener> listeners, Set<PlantedBug> bugs) {
    public EngineConfig {
        listeners = List.copyOf(listeners);
        bugs = Set.copyOf(bugs);
    }
}
