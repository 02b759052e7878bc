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
