package io.pgha.internal.engine;

import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.DynamicConfig;
import io.pgha.spi.PostgresController;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the cluster's dynamic {@code postgresql.parameters} to the PostgreSQL controller whenever
 * they change (Patroni re-reads {@code config} every cycle and reloads on a change). Before the
 * cluster has a {@code config} key, the parameters of the configuration this node would bootstrap
 * with are in force, so a bootstrap starts with them. One hand-over at a time; a failed one is tried
 * again at the next cycle. Lane-confined: {@link #offer} and the completion run on the engine's lane.
 */
final class ParameterApplier {
    private static final Logger LOG = LoggerFactory.getLogger(ParameterApplier.class);

    private final String me;
    private final PostgresController postgres;
    private final Optional<DynamicConfig> bootstrapConfig;
    private final Consumer<Runnable> lane;
    private final Consumer<String> warnOnce;
    private Map<String, String> applied;
    private boolean inFlight;
    private boolean failing;

    ParameterApplier(String me, PostgresController postgres, Optional<DynamicConfig> bootstrapConfig, Consumer<Runnable> lane,
                     Consumer<String> warnOnce) {
        this.me = me;
        this.postgres = postgres;
        this.bootstrapConfig = bootstrapConfig;
        this.lane = lane;
        this.warnOnce = warnOnce;
    }

    /** The parameters in force in {@code cluster}. */
    Map<String, String> inForce(Cluster cluster) {
        DynamicConfig config = cluster.config().isPresent() ? cluster.dynamicConfig()
                : bootstrapConfig.orElse(DynamicConfig.EMPTY);
        return config.postgresqlParameters();
    }

    /** Hands {@code cluster}'s parameters over if they differ from the last ones applied. On the lane. */
    void offer(Cluster cluster) {
        Map<String, String> wanted = inForce(cluster);
        if (inFlight || wanted.equals(applied)) {
            return;
        }
        inFlight = true;
        postgres.applyParameters(wanted).whenComplete((v, e) -> lane.accept(() -> {
            inFlight = false;
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause == null) {
                if (failing) {
                    LOG.info("{}: postgresql.parameters applied again", me);
                }
                failing = false;
                applied = wanted;
            } else if (cause instanceof UnsupportedOperationException) {
                applied = wanted; // nothing will change that: say it once, not every cycle
                if (!wanted.isEmpty()) {
                    warnOnce.accept("the cluster's postgresql.parameters " + wanted.keySet() + " are not applied: "
                            + Objects.toString(cause.getMessage(), postgres.getClass().getSimpleName() + " cannot apply them"));
                }
            } else if (!failing) {
                failing = true;
                LOG.warn("{}: could not apply postgresql.parameters (tried again each cycle): {}", me, Futures.describe(cause));
            }
        }));
    }
}
