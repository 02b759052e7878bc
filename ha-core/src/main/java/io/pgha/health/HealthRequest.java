package io.pgha.health;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One health-check request: the path as Patroni names it ({@code /primary}, {@code /replica}, ...)
 * and its query parameters ({@code lag}, {@code replication_state}, {@code tag_<name>}).
 *
 * @param path  the check's path, with its leading slash; a trailing slash is ignored
 * @param query the decoded query parameters (the first value of a repeated parameter)
 */
public record HealthRequest(String path, Map<String, String> query) {
    public HealthRequest {
        Objects.requireNonNull(path, "path");
        query = Map.copyOf(Objects.requireNonNull(query, "query"));
        if (path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        if (!path.startsWith("/")) {
            path = "/" + path;
        }
    }

    /** A request without query parameters. */
    public static HealthRequest of(String path) {
        return new HealthRequest(path, Map.of());
    }

    /**
     * A request from a path and a raw (still percent-encoded) query string such as
     * {@code lag=10MB&replication_state=streaming}; a repeated parameter counts with its first value, as in Patroni.
     *
     * @throws IllegalArgumentException if the query string is not valid percent-encoding (the client's mistake: answer 400)
     */
    public static HealthRequest of(String path, String rawQuery) {
        Map<String, String> q = new LinkedHashMap<>();
        if (rawQuery != null && !rawQuery.isEmpty()) {
            for (String pair : rawQuery.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                q.putIfAbsent(k, v);
            }
        }
        return new HealthRequest(path, q);
    }
}
