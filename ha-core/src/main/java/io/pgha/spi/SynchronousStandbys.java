package io.pgha.spi;

import java.util.List;
import java.util.Objects;

/**
 * A value for {@code synchronous_standby_names}: commits wait until {@code count} of the named
 * standbys have flushed them ({@code FIRST count (names...)}). No names means asynchronous
 * replication.
 */
public record SynchronousStandbys(int count, List<String> names) {
    public static final SynchronousStandbys NONE = new SynchronousStandbys(0, List.of());

    public SynchronousStandbys {
        names = List.copyOf(Objects.requireNonNull(names, "names"));
        if (count < 0 || count > names.size()) {
            throw new IllegalArgumentException("count " + count + " outside 0.." + names.size());
        }
        if (!names.isEmpty() && count == 0) {
            throw new IllegalArgumentException("a non-empty list needs a count of at least 1");
        }
    }

    /** Every named standby must confirm each commit. */
    public static SynchronousStandbys all(List<String> names) {
        return new SynchronousStandbys(names.size(), names);
    }

    public boolean isEmpty() {
        return names.isEmpty();
    }

    /** The text PostgreSQL takes, e.g. {@code FIRST 2 ("a","b")}, or {@code ""}. */
    public String toSetting() {
        if (names.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder("FIRST ").append(count).append(" (");
        for (int i = 0; i < names.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append('"').append(names.get(i).replace("\"", "\"\"")).append('"');
        }
        return sb.append(')').toString();
    }
}
