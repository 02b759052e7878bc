package io.pgha.spi;

import java.util.Objects;

/**
 * One row of {@code pg_stat_replication} on a primary.
 *
 * @param applicationName the standby's {@code application_name} (its member name)
 * @param state           {@code streaming}, {@code catchup}, {@code startup}, ...
 * @param syncState       {@code async}, {@code potential}, {@code sync} or {@code quorum}
 * @param flushLsn        what the standby has flushed
 * @param replayLsn       what the standby has replayed
 */
public record ReplicationConnection(String applicationName, String state, String syncState, Lsn flushLsn, Lsn replayLsn) {
    public ReplicationConnection {
        Objects.requireNonNull(applicationName, "applicationName");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(syncState, "syncState");
        Objects.requireNonNull(flushLsn, "flushLsn");
        Objects.requireNonNull(replayLsn, "replayLsn");
    }

    public boolean isStreaming() {
        return "streaming".equals(state);
    }

    /** Counted by PostgreSQL as a synchronous standby right now. */
    public boolean isSynchronous() {
        return "sync".equals(syncState) || "quorum".equals(syncState);
    }
}
