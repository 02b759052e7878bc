package io.pgha.health;

import java.util.Map;
import java.util.Objects;

/**
 * What a health check answers, ready to write to an HTTP response.
 *
 * @param outcome     what the check found, typed
 * @param status      the HTTP status: 200 passed, 503 failed (what HAProxy's {@code httpchk} reads),
 *                    400 a malformed parameter, 404 not a health check
 * @param contentType the body's media type
 * @param body        for a passed or failed check, the node's {@code /patroni} status document (JSON);
 *                    otherwise a one-line explanation
 * @param headers     further response headers (none today; a place for {@code Cache-Control} and the like)
 */
public record HealthResponse(Outcome outcome, int status, String contentType, String body, Map<String, String> headers) {
    public HealthResponse {
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(contentType, "contentType");
        Objects.requireNonNull(body, "body");
        headers = Map.copyOf(headers);
    }

    /** The closed set of answers. */
    public enum Outcome {
        /** The node fits what the path asks for: 200. */
        PASSED,
        /** It does not: 503. */
        FAILED,
        /** A query parameter is malformed ({@code lag=ten}): 400. */
        BAD_REQUEST,
        /** The path is not one of the health checks: 404. */
        NOT_A_HEALTH_CHECK
    }

    /** Whether the check passed (status 200). */
    public boolean passed() {
        return outcome == Outcome.PASSED;
    }
}
