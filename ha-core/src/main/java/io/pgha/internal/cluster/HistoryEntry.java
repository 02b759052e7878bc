package io.pgha.internal.cluster;

import java.util.Optional;

/** One line of the {@code history} key: the timeline that ended, where, why, when and who took over. */
public record HistoryEntry(int timeline, long lsn, String reason, Optional<String> timestamp, Optional<String> newLeader) {
}
