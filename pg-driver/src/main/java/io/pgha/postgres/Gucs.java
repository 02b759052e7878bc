package io.pgha.postgres;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Quoting for postgresql.conf values and libpq connection strings, and a reader for the lines pgha writes. */
final class Gucs {
    private static final Pattern LINE = Pattern.compile("^\\s*([A-Za-z_][A-Za-z0-9_.]*)\\s*=\\s*'((?:[^'\\\\]|''|\\\\.)*)'\\s*(#.*)?$");

    private Gucs() {
    }

    /** A postgresql.conf string literal: {@code 'it''s'}; backslashes doubled (the file lexer reads C escapes). */
    static String quote(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    /** A libpq conninfo value, quoted only when it must be. */
    static String conninfoValue(String value) {
        if (!value.isEmpty() && value.chars().noneMatch(c -> c == ' ' || c == '\'' || c == '\\' || c == '\t' || c == '\n')) {
            return value;
        }
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** The {@code name = 'value'} lines of a file pgha wrote, unquoted. Other lines are skipped. */
    static Map<String, String> readQuoted(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            Matcher m = LINE.matcher(line);
            if (m.matches()) {
                out.put(m.group(1), unquote(m.group(2)));
            }
        }
        return out;
    }

    private static String unquote(String body) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c == '\\' && i + 1 < body.length()) {
                sb.append(body.charAt(++i));
            } else if (c == '\'' && i + 1 < body.length() && body.charAt(i + 1) == '\'') {
                sb.append('\'');
                i++;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
