package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgha.PghaException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;

/**
 * Rows printed as patronictl prints them ({@code print_output}): a pretty table, tab-separated values,
 * JSON or YAML, with Python's renderings of values ({@code None}, {@code True}) so a script written
 * against patronictl reads the same text.
 */
final class Output {
    private Output() {
    }

    /** patronictl's {@code -f/--format} values, and {@code topology}: a pretty table of a replication tree. */
    enum Format {
        PRETTY, TSV, JSON, YAML, TOPOLOGY;

        /** pretty, tsv, json, yaml (or yml). */
        static Format parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "pretty" -> PRETTY;
                case "tsv" -> TSV;
                case "json" -> JSON;
                case "yaml", "yml" -> YAML;
                default -> throw new PghaException("--format must be one of pretty, tsv, json, yaml; got '" + s + "'");
            };
        }

        boolean isTable() {
            return this == PRETTY || this == TOPOLOGY;
        }
    }

    /**
     * The rows in {@code fmt}.
     *
     * @param columns      the column names; null when there are none (patronictl then names them Field 1, ...)
     * @param rightAligned names of the columns aligned right in a table
     * @param header       the title over a table; when set, json and yaml leave out empty values, and a
     *                     first column {@code Cluster} appears only in tsv
     * @param delimiter    between tsv values
     */
    static String format(List<String> columns, List<List<Object>> rows, Set<String> rightAligned, Format fmt, String header,
                         String delimiter) {
        boolean titled = header != null && !header.isEmpty();
        StringBuilder sb = new StringBuilder();
        if (fmt == Format.JSON || fmt == Format.YAML) {
            List<Object> elements = new ArrayList<>();
            for (List<Object> r : rows) {
                Map<String, Object> e = new LinkedHashMap<>();
                for (int i = 0; columns != null && i < Math.min(columns.size(), r.size()); i++) {
                    Object v = plain(r.get(i));
                    if (!titled || !str(v).isEmpty()) {
                        e.put(columns.get(i), v);
                    }
                }
                elements.add(e);
            }
            sb.append(fmt == Format.JSON ? json(elements) + "\n" : yaml(elements, false));
            return sb.toString();
        }
        List<String> cols = columns == null ? null : new ArrayList<>(columns);
        List<List<Object>> body = new ArrayList<>();
        rows.forEach(r -> body.add(new ArrayList<>(r)));
        boolean listCluster = titled && cols != null && !cols.isEmpty() && cols.get(0).equals("Cluster");
        if (listCluster && cols.contains("Tags")) {
            int i = cols.indexOf("Tags");
            for (List<Object> r : body) {
                Object tags = plain(r.get(i));
                if (tags instanceof Map<?, ?> m && !m.isEmpty()) {
                    r.set(i, yaml(tags, fmt != Format.PRETTY).strip());
                }
            }
        }
        if (listCluster && fmt != Format.TSV) {
            cols = cols.subList(1, cols.size());
            body.replaceAll(r -> r.subList(1, r.size()));
        }
        if (fmt == Format.TSV) {
            if (cols != null) {
                sb.append(String.join(delimiter, cols)).append('\n');
            }
            for (List<Object> r : body) {
                List<String> cells = new ArrayList<>();
                r.forEach(v -> cells.add(str(v)));
                sb.append(String.join(delimiter, cells)).append('\n');
            }
            return sb.toString();
        }
        if (cols == null) {
            cols = new ArrayList<>();
            int n = body.isEmpty() ? 0 : body.get(0).size();
            for (int i = 1; i <= n; i++) {
                cols.add("Field " + i);
            }
        }
        List<Boolean> right = new ArrayList<>();
        cols.forEach(c -> right.add(rightAligned.contains(c)));
        Table t = new Table(cols, right);
        for (List<Object> r : body) {
            List<String> cells = new ArrayList<>();
            r.forEach(v -> cells.add(str(v)));
            t.add(cells);
        }
        return t.render(titled ? header : null);
    }

    /** A value as Python's {@code str()} shows it. */
    static String str(Object v) {
        Object p = plain(v);
        if (p == null) {
            return "None";
        }
        if (p instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (p instanceof Map<?, ?> || p instanceof List<?>) {
            return json(p);
        }
        return p.toString();
    }

    /** A value as Python's {@code json.dumps} writes it: {@code ", "} and {@code ": "} between items, non-ASCII escaped. */
    static String json(Object v) {
        StringBuilder sb = new StringBuilder();
        writeJson(sb, plain(v));
        return sb.toString();
    }

    private static void writeJson(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "true" : "false");
        } else if (v instanceof Number n) {
            sb.append(n);
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                writeString(sb, String.valueOf(e.getKey()));
                sb.append(": ");
                writeJson(sb, e.getValue());
            }
            sb.append('}');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                writeJson(sb, l.get(i));
            }
            sb.append(']');
        } else {
            writeString(sb, v.toString());
        }
    }

    private static void writeString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /**
     * A value as PyYAML's {@code safe_dump} writes it (what patronictl prints): keys sorted, block
     * style unless {@code flow}, lines up to 200 characters.
     */
    static String yaml(Object v, boolean flow) {
        DumpSettings settings = DumpSettings.builder().setDefaultFlowStyle(flow ? FlowStyle.FLOW : FlowStyle.BLOCK)
                .setWidth(200).build();
        return new Dump(settings).dumpToString(sorted(plain(v)));
    }

    private static Object sorted(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> t = new TreeMap<>();
            m.forEach((k, x) -> t.put(String.valueOf(k), sorted(x)));
            return t;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            l.forEach(x -> out.add(sorted(x)));
            return out;
        }
        return v;
    }

    /** JSON trees as maps, lists and scalars; anything else as it is. */
    static Object plain(Object v) {
        if (v instanceof JsonNode n) {
            return Ctl.JSON.convertValue(n, Object.class);
        }
        return v;
    }
}
