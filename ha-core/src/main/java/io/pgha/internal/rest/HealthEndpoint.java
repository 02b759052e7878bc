package io.pgha.internal.rest;

import io.pgha.health.HealthRequest;
import io.pgha.health.HealthResponse;
import io.pgha.internal.engine.HaEngine;
import java.util.List;
import java.util.Map;

/**
 * Patroni's health checks answered as a {@link HealthResponse}, callable from outside this package:
 * the built-in {@code RestServer} and the public {@link io.pgha.health.HealthCheck} facade both answer
 * through {@link #respond}, so an application's own web server and pgha's server decide with the same
 * code ({@link HealthCheck#evaluate}, {@link NodeFacts}, {@link StatusDocuments#patroni}). Not for applications.
 */
public final class HealthEndpoint {
    private static final String JSON = "application/json";
    private static final String TEXT = "text/plain; charset=utf-8";

    private HealthEndpoint() {
    }

    /** Every health-check path, aliases included. */
    public static List<String> paths() {
        return HealthCheck.PATHS;
    }

    /** Whether {@code path} (without a trailing slash) is one of Patroni's health checks. */
    public static boolean isHealthPath(String path) {
        return HealthCheck.isHealthPath(path);
    }

    /**
     * Evaluates one check against the engine's state now: 200 or 503 with the {@code /patroni}
     * document, 400 for a malformed parameter, 404 for a path that is not a check. Never throws for
     * what a client sent.
     */
    public static HealthResponse respond(HaEngine engine, HealthRequest request) {
        if (!HealthCheck.isHealthPath(request.path())) {
            return new HealthResponse(HealthResponse.Outcome.NOT_A_HEALTH_CHECK, 404, TEXT, "not a health check: " + request.path(),
                    Map.of());
        }
        NodeFacts f = NodeFacts.of(engine);
        int code;
        try {
            code = HealthCheck.evaluate(request.path(), request.query(), f, f.view().config().ttlNanos(),
                    f.view().config().settings().maximumLagOnFailover());
        } catch (IllegalArgumentException e) {
            return new HealthResponse(HealthResponse.Outcome.BAD_REQUEST, 400, TEXT, e.getMessage(), Map.of());
        }
        return new HealthResponse(code == 200 ? HealthResponse.Outcome.PASSED : HealthResponse.Outcome.FAILED, code, JSON,
                StatusDocuments.patroni(f).toString(), Map.of());
    }
}
