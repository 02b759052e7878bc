package io.pgha.postgres;

import io.pgha.spi.SynchronousStandbys;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads {@code synchronous_standby_names} back into a {@link SynchronousStandbys}. pgha writes the
 * {@code FIRST n (...)} and (quorum commit) {@code ANY n (...)} forms; a hand-written {@code a, b} or
 * {@code 2 (a, b)} is read as well, as PostgreSQL reads it: a FIRST value.
 */
final class SyncNames {
    private SyncNames() {
    }

    static SynchronousStandbys parse(String setting) {
        String s = setting == null ? "" : setting.strip();
        if (s.isEmpty()) {
            return SynchronousStandbys.NONE;
        }
        int count = 1;
        boolean any = false;
        String list = s;
        String upper = s.toUpperCase(java.util.Locale.ROOT);
        int open = s.indexOf('(');
        if (open >= 0 && s.endsWith(")")) {
            String head = upper.substring(0, open).strip();
            if (head.startsWith("FIRST")) {
                head = head.substring(5).strip();
            } else if (head.startsWith("ANY")) {
                head = head.substring(3).strip();
                any = true;
            }
            try {
                count = head.isEmpty() ? 1 : Integer.parseInt(head);
            } catch (NumberFormatException e) {
                count = 1;
            }
            list = s.substring(open + 1, s.length() - 1);
        }
        List<String> names = splitNames(list);
        if (names.isEmpty()) {
            return SynchronousStandbys.NONE;
        }
        count = Math.max(1, Math.min(count, names.size()));
        return any ? SynchronousStandbys.any(count, names) : new SynchronousStandbys(count, names);
    }

    private static List<String> splitNames(String list) {
        List<String> names = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        boolean wasQuoted = false;
        for (int i = 0; i < list.length(); i++) {
            char c = list.charAt(i);
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < list.length() && list.charAt(i + 1) == '"') {
                        cur.append('"');
                        i++;
                    } else {
                        quoted = false;
                    }
                } else {
                    cur.append(c);
                }
            } else if (c == '"') {
                quoted = true;
                wasQuoted = true;
            } else if (c == ',') {
                add(names, cur, wasQuoted);
                cur.setLength(0);
                wasQuoted = false;
            } else if (!Character.isWhitespace(c)) {
                cur.append(c);
            }
        }
        add(names, cur, wasQuoted);
        return names;
    }

    private static void add(List<String> names, StringBuilder cur, boolean quoted) {
        if (cur.length() > 0) {
            // unquoted standby names are case-insensitive identifiers in PostgreSQL: it folds them to lower case
            names.add(quoted ? cur.toString() : cur.toString().toLowerCase(java.util.Locale.ROOT));
        }
    }
}
