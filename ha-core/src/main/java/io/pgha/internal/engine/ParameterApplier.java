package io.pgha.internal.engine;

import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.DynamicConfig;
import io.pgha.spi.PostgresController;
import io.pgha.spi.ServerSettings;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the cluster's dynamic PostgreSQL settings ({@code postgresql.parameters}, {@code pg_hba},
 * {@code pg_ident}) to the PostgreSQL controller whenever they change (Patroni re-reads {@code config} every cycle and reloads on a change). Before the
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
    private ServerSettings applied;
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

    /** The settings in force in {@code cluster}. */
    ServerSettings inForce(Cluster cluster) {
        DynamicConfig config = cluster.config().isPresent() ? cluster.dynamicConfig()
                : bootstrapConfig.orElse(DynamicConfig.EMPTY);
        return new ServerSettings(config.postgresqlParameters(), config.pgHba(), config.pgIdent(), config.recoveryConf());
    }

    /** Hands {@code cluster}'s parameters over if they differ from the last ones applied. On the lane. */
    void offer(Cluster cluster) {
        ServerSettings wanted = inForce(cluster);
        if (inFlight || wanted.equals(applied)) {
            return;
        }
        inFlight = true;
        postgres.applySettings(wanted).whenComplete((v, e) -> lane.accept(() -> {
            inFlight = false;
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause == null) {
                if (failing) {
                    LOG.info("{}: the cluster's postgresql settings applied again", me);
                }
                failing = false;
                applied = wanted;
            } else if (cause instanceof UnsupportedOperationException) {
                applied = wanted; // nothing will change that: say it once, not every cycle
                if (!wanted.isEmpty()) {
                    warnOnce.accept("the cluster's postgresql settings (" + describe(wanted) + ") are not applied: "
                            + Objects.toString(cause.getMessage(), postgres.getClass().getSimpleName() + " cannot apply them"));
                }
            } else if (!failing) {
                failing = true;
                LOG.warn("{}: could not apply the cluster's postgresql settings (tried again each cycle): {}", me,
                        Futures.describe(cause));
            }
        }));
    }

    private static String describe(ServerSettings s) {
        StringBuilder sb = new StringBuilder();
        if (!s.parameters().isEmpty()) {
            sb.append("parameters ").append(s.parameters().keySet());
        }
        s.pgHba().ifPresent(x -> sb.append(sb.length() > 0 ? ", " : "").append("pg_hba"));
        s.pgIdent().ifPresent(x -> sb.append(sb.length() > 0 ? ", " : "").append("pg_ident"));
        if (!s.recoveryConf().isEmpty()) {
            sb.append(sb.length() > 0 ? ", " : "").append("recovery_conf ").append(s.recoveryConf().keySet());
        }
        return sb.toString();
    }
}
