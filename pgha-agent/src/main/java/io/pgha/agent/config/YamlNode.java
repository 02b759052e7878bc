package io.pgha.agent.config;

import io.pgha.ConfigurationException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A mapping of a YAML document with its dotted path, which remembers the keys that were read so
 * the ones nobody read can be reported by name. Every conversion error names the key.
 */
final class YamlNode {
    private final String path;
    private final Map<String, Object> map;
    private final Set<String> read = new TreeSet<>();
    private final List<YamlNode> children = new ArrayList<>();

    YamlNode(String path, Map<?, ?> map) {
        this.path = path;
        Map<String, Object> m = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            m.put(String.valueOf(e.getKey()), e.getValue());
        }
        this.map = m;
    }

    String key(String k) {
        return path.isEmpty() ? k : path + "." + k;
    }

    boolean has(String k) {
        return map.containsKey(k) && map.get(k) != null;
    }

    /** Marks a key as read without converting it (a key we accept and ignore on purpose). */
    void touch(String k) {
        read.add(k);
    }

    Object raw(String k) {
        read.add(k);
        return map.get(k);
    }

    Optional<String> optString(String k) {
        Object v = raw(k);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof Map || v instanceof List) {
            throw new ConfigurationException(key(k), "expected a single value, got " + describe(v));
        }
        return Optional.of(String.valueOf(v));
    }

    String string(String k) {
        return optString(k).filter(s -> !s.isBlank()).orElseThrow(() -> new ConfigurationException(key(k), "is required"));
    }

    /** A file path; an empty value counts as unset (Patroni: "not specified or left empty"). */
    Optional<java.nio.file.Path> optPath(String k) {
        return optString(k).filter(s -> !s.isBlank()).map(java.nio.file.Path::of);
    }

    Optional<Secret> optSecret(String k) {
        return optString(k).map(Secret::new);
    }

    Optional<Long> optLong(String k) {
        Object v = raw(k);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof Number n && !(v instanceof Double) && !(v instanceof Float)) {
            return Optional.of(n.longValue());
        }
        try {
            return Optional.of(Long.parseLong(String.valueOf(v).trim()));
        } catch (NumberFormatException e) {
            throw new ConfigurationException(key(k), "expected an integer, got '" + v + "'");
        }
    }

    Optional<Double> optNumber(String k) {
        Object v = raw(k);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof Number n) {
            return Optional.of(n.doubleValue());
        }
        try {
            return Optional.of(Double.parseDouble(String.valueOf(v).trim()));
        } catch (NumberFormatException e) {
            throw new ConfigurationException(key(k), "expected a number, got '" + v + "'");
        }
    }

    Optional<Boolean> optBool(String k) {
        Object v = raw(k);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof Boolean b) {
            return Optional.of(b);
        }
        return switch (String.valueOf(v).trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "on", "yes", "1" -> Optional.of(true);
            case "false", "off", "no", "0" -> Optional.of(false);
            default -> throw new ConfigurationException(key(k), "expected true or false, got '" + v + "'");
        };
    }

    Optional<YamlNode> optObject(String k) {
        Object v = raw(k);
        if (v == null) {
            return Optional.empty();
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw new ConfigurationException(key(k), "expected a mapping, got " + describe(v));
        }
        YamlNode child = new YamlNode(key(k), m);
        children.add(child);
        return Optional.of(child);
    }

    /** A list of scalars, also accepting one comma-separated string (Patroni accepts both for hosts). */
    List<String> stringList(String k) {
        Object v = raw(k);
        if (v == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (v instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map || o instanceof List) {
                    throw new ConfigurationException(key(k), "expected a list of values, got an item " + describe(o));
                }
                out.add(String.valueOf(o).trim());
            }
        } else if (v instanceof Map) {
            throw new ConfigurationException(key(k), "expected a list, got a mapping");
        } else {
            for (String s : String.valueOf(v).split(",")) {
                if (!s.isBlank()) {
                    out.add(s.trim());
                }
            }
        }
        return out;
    }

    List<Object> list(String k) {
        Object v = raw(k);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> l)) {
            throw new ConfigurationException(key(k), "expected a list, got " + describe(v));
        }
        return new ArrayList<>(l);
    }

    Map<String, Object> rawMap() {
        return map;
    }

    /**
     * Fails on the first key that is not in {@code known} (the keys Patroni knows in this section), naming it with
     * its full path and the closest known key. Known keys nobody reads stay in {@link #unread()}.
     */
    void requireKnownKeys(Set<String> known) {
        for (String k : map.keySet()) {
            if (!known.contains(k)) {
                String hint = closest(k, known).map(s -> " (did you mean " + key(s) + "?)").orElse("");
                throw new ConfigurationException(key(k), "unknown key" + hint);
            }
        }
    }

    /** The candidate nearest to {@code word} by edit distance, if it is near enough to be a likely typo. */
    static Optional<String> closest(String word, Set<String> candidates) {
        String w = normalize(word);
        int limit = w.length() <= 4 ? 1 : w.length() <= 8 ? 2 : 3;
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String c : new TreeSet<>(candidates)) {
            int d = distance(w, normalize(c));
            if (d < bestDistance) {
                best = c;
                bestDistance = d;
            }
        }
        if (bestDistance <= limit) {
            return Optional.ofNullable(best);
        }
        // etcd3.certfile for etcd3.cert, ctl.authentication.user for ctl.authentication.username
        return new TreeSet<>(candidates).stream()
                .filter(c -> Math.min(c.length(), w.length()) >= 3 && (w.startsWith(normalize(c)) || normalize(c).startsWith(w)))
                .min(java.util.Comparator.comparingInt(c -> Math.abs(c.length() - w.length())));
    }

    private static String normalize(String s) {
        return s.toLowerCase(java.util.Locale.ROOT).replace('-', '_');
    }

    /** Edit distance counting insertions, deletions, substitutions and swaps of neighbours as one each. */
    private static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    /** Keys present but never read, here and below, as dotted paths. */
    List<String> unread() {
        List<String> out = new ArrayList<>();
        for (String k : map.keySet()) {
            if (!read.contains(k)) {
                out.add(key(k));
            }
        }
        for (YamlNode c : children) {
            out.addAll(c.unread());
        }
        return out;
    }

    private static String describe(Object v) {
        return v instanceof Map ? "a mapping" : v instanceof List ? "a list" : "'" + v + "'";
    }
}
