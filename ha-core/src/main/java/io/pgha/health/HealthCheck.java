package io.pgha.health;

import io.pgha.HaNode;
import io.pgha.internal.InternalAccess;
import io.pgha.internal.rest.HealthEndpoint;
import java.util.List;
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
 * <tr><td>{@code /sync} {@code /async}</td><td>a replica in (or not in) the sync key</td></tr>
 * <tr><td>{@code /read-only-sync}</td><td>the leader or a replica in the sync key</td></tr>
 * <tr><td>{@code /quorum} {@code /read-only-quorum}</td><td>a quorum-commit standby ({@code synchronous_mode: quorum}); the
 * second also the leader</td></tr>
 * <tr><td>{@code /health}</td><td>PostgreSQL runs</td></tr>
 * <tr><td>{@code /liveness}</td><td>the HA loop runs (its last cycle is recent)</td></tr>
 * <tr><td>{@code /readiness}</td><td>the leader, or a streaming replica within {@code maximum_lag_on_failover}</td></tr>
 * </table>
 */
public final class HealthCheck {
    /** Every path {@link #evaluate} answers, aliases included. */
    public static final List<String> PATHS = HealthEndpoint.paths();

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
        return HealthEndpoint.respond(InternalAccess.engine(node), request);
    }
}
