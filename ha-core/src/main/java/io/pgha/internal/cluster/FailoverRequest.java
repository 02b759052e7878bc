package io.pgha.internal.cluster;

import java.time.OffsetDateTime;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code failover} key: a manual switchover ({@code leader} set) or failover (only
 * {@code candidate}), possibly scheduled.
 */
public record FailoverRequest(Optional<String> leader, Optional<String> candidate,
                              Optional<OffsetDateTime> scheduledAt, long version) {
    public FailoverRequest {
        Objects.requireNonNull(leader, "leader");
        Objects.requireNonNull(candidate, "candidate");
        Objects.requireNonNull(scheduledAt, "scheduledAt");
    }
}
