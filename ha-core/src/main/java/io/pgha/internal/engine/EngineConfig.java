package io.pgha.internal.engine;

import io.pgha.HaListener;
import io.pgha.HaSettings;
import io.pgha.MemberTags;
import io.pgha.TaskScheduler;
import io.pgha.Ticker;
import io.pgha.internal.decision.PlantedBug;
import io.pgha.spi.Dcs;
import io.pgha.spi.PeerClient;
import io.pgha.spi.PostgresController;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;

/**
 * Everything the engine is built from, validated by {@code HaNode.Builder}. Three schedulers keep
 * three duties apart in production: the loop (which calls the store and PostgreSQL), the lease
 * heartbeat (which calls the store), and the guard (which only runs the fence timer, so nothing a
 * store does can delay it).
 */
public record EngineConfig(String name, String scope, HaSettings settings, MemberTags tags, Dcs dcs,
                           PostgresController postgres, Optional<PeerClient> peerClient, Optional<String> apiUrl,
                           Ticker ticker, Clock wallClock, TaskScheduler loopScheduler, TaskScheduler guardScheduler,
                           TaskScheduler leaseScheduler,
                           Executor listenerExecutor, List<HaListener> listeners, Set<PlantedBug> bugs,
                           Optional<com.fasterxml.jackson.databind.node.ObjectNode> initialConfig,
                           Optional<io.pgha.spi.Watchdog> watchdog, io.pgha.WatchdogMode watchdogMode,
                           java.time.Duration watchdogSafetyMargin) {
    public EngineConfig {
        listeners = List.copyOf(listeners);
        bugs = Set.copyOf(bugs);
    }
}
