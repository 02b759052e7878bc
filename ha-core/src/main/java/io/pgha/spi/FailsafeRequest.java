package io.pgha.spi;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a primary that cannot reach the store tells each member of the {@code failsafe} topology
 * (Patroni's {@code POST /failsafe} body): it runs on as the leader if every one of them accepts.
 *
 * @param name    the primary's member name
 * @param connUrl its PostgreSQL connection URL
 * @param apiUrl  its REST API URL, if it runs one
 * @param slots   its slots' positions, which a standby advances its copies of the permanent slots to
 */
public record FailsafeRequest(String name, String connUrl, Optional<String> apiUrl, Map<String, Long> slots) {
    public FailsafeRequest {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(connUrl, "connUrl");
        Objects.requireNonNull(apiUrl, "apiUrl");
        slots = Map.copyOf(slots);
    }
}
