package io.pgha.internal.rest;

import io.pgha.internal.engine.HaEngine;
import java.util.Map;

/**
 * The built-in REST server's health-check branch, callable from outside this package: the public
 * {@link io.pgha.health.HealthCheck} facade answers through it, so an application's own web server
 * and pgha's server decide with the same code ({@link HealthCheck#evaluate}, {@link NodeFacts},
 * {@link StatusDocuments#patroni}). Not for applications.
 */
public final class HealthEndpoint {
    private HealthEndpoint() {
    }

    /** What one health check answered: its code and the {@code /patroni} document as JSON. */
    public record Answer(int code, String json) {
    }

    /** Whether {@code path} (without a trailing slash) is one of Patroni's health checks. */
    public static boolean isHealthPath(String path) {
        return HealthCheck.isHealthPath(path);
    }

    /**
     * Evaluates a health check as {@code RestServer} does for a GET.
     *
     * @throws IllegalArgumentException for a malformed query parameter (the server answers 400)
     */
    public static Answer evaluate(HaEngine engine, String path, Map<String, String> query) {
        NodeFacts f = NodeFacts.of(engine);
        int code = HealthCheck.evaluate(path, query, f, f.view().config().ttlNanos(), f.view().config().settings().maximumLagOnFailover());
        return new Answer(code, StatusDocuments.patroni(f).toString());
    }
}
