package io.pgha.internal.cluster;

import io.pgha.spi.DcsEntry;
import java.util.List;

/** The {@code history} key decoded; {@code version} is {@link DcsEntry#ABSENT} when the key does not exist. */
public record TimelineHistory(List<HistoryEntry> entries, long version) {
    public static final TimelineHistory NONE = new TimelineHistory(List.of(), DcsEntry.ABSENT);

    public TimelineHistory {
        entries = List.copyOf(entries);
    }

    /** Patroni's cluster timeline: one past the last ended timeline, 1 with no history. */
    public int clusterTimeline() {
        return entries.isEmpty() ? 1 : entries.get(entries.size() - 1).timeline() + 1;
    }
}
