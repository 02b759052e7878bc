package io.pgha.spi;

import java.util.List;
import java.util.Objects;

/**
 * A value for {@code synchronous_standby_names}: commits wait until {@code count} of the named
 * standbys have flushed them, the first {@code count} by priority ({@code FIRST count (names...)})
 * or any {@code count} ({@code ANY count (names...)}, quorum commit). No names means asynchronous
 * replication.
 */
public record SynchronousStandbys(int count, List<String> names, Method method) {
    public static final SynchronousStandbys NONE = new SynchronousStandbys(0, List.of());

    /** How PostgreSQL picks the standbys a commit waits for. */
    public enum Method {
        /** {@code FIRST n (...)}: the first {@code n} connected standbys in list order. */
        FIRST,
        /** {@code ANY n (...)}: any {@code n} of the listed standbys (quorum commit). */
        ANY
    }

    public SynchronousStandbys {
        names = List.copyOf(Objects.requireNonNull(names, "names"));
        Objects.requireNonNull(method, "method");
        if (count < 0 || count > names.size()) {
            throw new IllegalArgumentException("count " + count + " outside 0.." + names.size());
        }
        if (!names.isEmpty() && count == 0) {
            throw new IllegalArgumentException("a non-empty list needs a count of at least 1");
        }
    }

    /** {@code FIRST count (names...)}. */
    public SynchronousStandbys(int count, List<String> names) {
        this(count, names, Method.FIRST);
    }

    /** Every named standby must confirm each commit. */
    public static SynchronousStandbys all(List<String> names) {
        return new SynchronousStandbys(names.size(), names);
    }

    /** {@code ANY count (names...)}: any {@code count} of the named standbys confirm each commit. */
    public static SynchronousStandbys any(int count, List<String> names) {
        return new SynchronousStandbys(count, names, Method.ANY);
    }

    public boolean isEmpty() {
        return names.isEmpty();
    }

    /** Quorum commit: {@code ANY n (...)}. */
    public boolean isQuorum() {
        return method == Method.ANY && !names.isEmpty();
    }

    /** The text PostgreSQL takes, e.g. {@code FIRST 2 ("a","b")} or {@code ANY 1 ("a","b")}, or {@code ""}. */
    public String toSetting() {
        if (names.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder(method.name()).append(' ').append(count).append(" (");
        for (int i = 0; i < names.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append('"').append(names.get(i).replace("\"", "\"\"")).append('"');
        }
        return sb.append(')').toString();
    }
}
