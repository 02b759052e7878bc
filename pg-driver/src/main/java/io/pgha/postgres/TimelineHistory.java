package io.pgha.postgres;

import io.pgha.spi.Lsn;

import java.util.ArrayList;
import java.util.List;

/** A timeline history file ({@code 00000002.history}): where each parent timeline ended. */
record TimelineHistory(List<Entry> entries) {

    /** Timeline {@code parent} ended at {@code switchpoint} (the next timeline starts there). */
    record Entry(int parent, Lsn switchpoint) {
    }

    TimelineHistory {
        entries = List.copyOf(entries);
    }

    static TimelineHistory parse(String text) {
        List<Entry> out = new ArrayList<>();
        for (String raw : text.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\\s+");
            if (f.length < 2) {
                continue;
            }
            try {
                out.add(new Entry(Integer.parseInt(f[0]), Lsn.parse(f[1])));
            } catch (RuntimeException e) {
                // a malformed line: skip it, as PostgreSQL's own reader is strict but we only compare
            }
        }
        return new TimelineHistory(out);
    }

    /** Where the newest timeline began: the last switchpoint; {@link Lsn#ZERO} for an empty history. */
    Lsn lastSwitchpoint() {
        return entries.isEmpty() ? Lsn.ZERO : entries.get(entries.size() - 1).switchpoint();
    }
}
