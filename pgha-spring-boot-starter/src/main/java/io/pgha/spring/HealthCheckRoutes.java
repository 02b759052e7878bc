package io.pgha.spring;

import io.pgha.HaNode;
import io.pgha.health.HealthCheck;
import io.pgha.health.HealthRequest;
import io.pgha.health.HealthResponse;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.web.servlet.function.RequestPredicates;
import org.springframework.web.servlet.function.RouterFunction;
import org.springframework.web.servlet.function.RouterFunctions;
import org.springframework.web.servlet.function.ServerRequest;
import org.springframework.web.servlet.function.ServerResponse;

/**
 * Patroni's health checks in the application's own Spring MVC server, under a base path:
 * {@code GET}, {@code HEAD} and {@code OPTIONS} (HAProxy's {@code option httpchk OPTIONS /primary})
 * of {@code <base>/primary}, {@code <base>/replica?lag=10MB}, ... answer 200 or 503 with the node's
 * status document, through {@link HealthCheck} — the built-in REST server's logic.
 */
public final class HealthCheckRoutes {
    private HealthCheckRoutes() {
    }

    /** The router for {@code node}'s checks under {@code basePath} (e.g. {@code /pgha}, or {@code ""} for the root). */
    public static RouterFunction<ServerResponse> routes(HaNode node, String basePath) {
        String base = normalize(basePath);
        RouterFunctions.Builder b = RouterFunctions.route();
        for (String path : HealthCheck.PATHS) {
            String mounted = base + (path.equals("/") ? "" : path);
            if (mounted.isEmpty()) {
                mounted = "/";
            }
            b.route(RequestPredicates.path(mounted).and(RequestPredicates.method(HttpMethod.GET)
                    .or(RequestPredicates.method(HttpMethod.HEAD)).or(RequestPredicates.method(HttpMethod.OPTIONS))),
                    request -> answer(node, path, request));
        }
        return b.build();
    }

    private static ServerResponse answer(HaNode node, String path, ServerRequest request) {
        HealthResponse r = HealthCheck.evaluate(node, HealthRequest.of(path, request.uri().getRawQuery()));
        ServerResponse.BodyBuilder out = ServerResponse.status(r.status()).contentType(MediaType.parseMediaType(r.contentType()));
        r.headers().forEach(out::header);
        return out.body(r.body());
    }

    static String normalize(String basePath) {
        if (basePath == null || basePath.isBlank() || basePath.equals("/")) {
            return "";
        }
        String b = basePath.startsWith("/") ? basePath : "/" + basePath;
        return b.endsWith("/") ? b.substring(0, b.length() - 1) : b;
    }
}
