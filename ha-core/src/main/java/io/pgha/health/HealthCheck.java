package io.pgha.health;

import io.pgha.HaNode;
import io.pgha.internal.InternalAccess;
import io.pgha.internal.rest.HealthEndpoint;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Patroni's health checks for an {@link HaNode}, to mount in an application's own web server (a
 * Spring controller, a servlet, Vert.x, ...) instead of or beside pgha's built-in REST API. The
 * answers are the built-in server's: the same decision and the same {@code /patroni} document.
 *
 * <table>
 * <caption>The checks</caption>
 * <tr><td>{@code /primary} {@code /read-write} {@code /master} {@code /}</td><td>200 on the primary that holds a valid lease</td></tr>
 * <tr><td>{@code /leader}</td><td>the primary or a standby cluster's standby leader</td></tr>
 * <tr><td>{@code /standby-leader}</td><td>a standby cluster's standby leader</td></tr>
 * <tr><td>{@code /replica?lag=&replication_state=&tag_x=}</td><td>a running replica (not {@code noloadbalance}) within the lag</td></tr>
 * <tr><td>{@code /read-only}</td><td>the leader or a replica</td></tr>
 * <tr><td>{@code /sync} {@code /async} {@code /read-only-sync}</td><td>a replica in (or not in) the sync key</td></tr>
 * <tr><td>{@code /health}</td><td>PostgreSQL runs</td></tr>
 * <tr><td>{@code /liveness}</td><td>the HA loop runs (its last cycle is recent)</td></tr>
 * <tr><td>{@code /readiness}</td><td>the leader, or a streaming replica within {@code maximum_lag_on_failover}</td></tr>
 * </table>
 */
public final class HealthCheck {
    /** Every path {@link #evaluate} answers, aliases included. */
    public static final List<String> PATHS = List.of("/", "/primary", "/master", "/leader", "/read-write", "/replica", "/read-only",
            "/sync", "/synchronous", "/async", "/asynchronous", "/health", "/liveness", "/readiness", "/read-only-sync",
            "/standby-leader", "/standby_leader");

    private static final String JSON = "application/json";
    private static final String TEXT = "text/plain; charset=utf-8";

    private HealthCheck() {
    }

    /** Whether {@code path} is one of the health checks. */
    public static boolean isHealthCheck(String path) {
        return HealthEndpoint.isHealthPath(HealthRequest.of(path).path());
    }

    /**
     * Evaluates one check against the node's state now. Never throws for what a client sent: an
     * unknown path or a malformed parameter is a typed {@link HealthResponse}.
     *
     * @throws NullPointerException if an argument is null
     */
    public static HealthResponse evaluate(HaNode node, HealthRequest request) {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(request, "request");
        if (!HealthEndpoint.isHealthPath(request.path())) {
            return new HealthResponse(HealthResponse.Outcome.NOT_A_HEALTH_CHECK, 404, TEXT,
                    "not a health check: " + request.path(), Map.of());
        }
        HealthEndpoint.Answer a;
        try {
            a = HealthEndpoint.evaluate(InternalAccess.engine(node), request.path(), request.query());
        } catch (IllegalArgumentException e) {
            return new HealthResponse(HealthResponse.Outcome.BAD_REQUEST, 400, TEXT, e.getMessage(), Map.of());
        }
        return new HealthResponse(a.code() == 200 ? HealthResponse.Outcome.PASSED : HealthResponse.Outcome.FAILED, a.code(), JSON,
                a.json(), Map.of());
    }
}
