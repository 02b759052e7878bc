package io.pgha.agent.config;

import io.pgha.ConfigurationException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.constructor.StandardConstructor;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.ReaderException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;

/**
 * A configuration file as a mutable mapping, with where each key came from: {@code file:line:column} of the key
 * in the file, or the {@code PATRONI_*} environment variable that set it. A YAML syntax error fails with one
 * {@link ConfigurationException} naming the file, line and column.
 */
final class YamlDocument {
    private final Map<String, Object> root;
    private final Map<String, String> origin = new HashMap<>();

    private YamlDocument(Map<String, Object> root) {
        this.root = root;
    }

    @SuppressWarnings("unchecked")
    static YamlDocument parse(String yaml, String source) {
        LoadSettings settings = LoadSettings.builder().setLabel(source).build();
        Optional<Node> node;
        Object doc;
        try {
            node = new Compose(settings).composeString(yaml);
            doc = new StandardConstructor(settings).constructSingleDocument(node);
        } catch (MarkedYamlEngineException e) {
            throw new ConfigurationException("config", syntaxError(source, e));
        } catch (ReaderException e) {
            throw new ConfigurationException("config", position(source, yaml, e.getPosition()) + ": not valid YAML: "
                    + firstLine(e.getMessage()) + String.format(" (U+%04X)", e.getCodePoint()));
        } catch (YamlEngineException e) {
            throw new ConfigurationException("config", source + ": not valid YAML: " + firstLine(e.getMessage()));
        }
        if (!(doc instanceof Map<?, ?> m)) {
            throw new ConfigurationException("config", source + " must be a YAML mapping"
                    + (doc == null ? " (it is empty)" : ", not " + (doc instanceof java.util.List ? "a list" : "a single value")));
        }
        YamlDocument d = new YamlDocument(new LinkedHashMap<>((Map<String, Object>) m));
        d.walk(node.orElseThrow(), "", 0);
        return d;
    }

    Map<String, Object> root() {
        return root;
    }

    /** Applies Patroni's environment variables ({@link PatroniKeys#ENVIRONMENT}) found in {@code env} over the file. */
    @SuppressWarnings("unchecked")
    YamlDocument applyEnvironment(Map<String, String> env) {
        for (Map.Entry<String, String> e : PatroniKeys.ENVIRONMENT.entrySet()) {
            String value = env.get(e.getKey());
            if (value == null || value.isBlank()) {
                continue;
            }
            String[] path = e.getValue().split("\\.");
            Map<String, Object> node = root;
            for (int i = 0; i < path.length - 1; i++) {
                Object next = node.get(path[i]);
                if (!(next instanceof Map)) {
                    next = new LinkedHashMap<String, Object>();
                    node.put(path[i], next);
                } else {
                    next = new LinkedHashMap<>((Map<String, Object>) next); // the constructed maps may be shared by aliases
                    node.put(path[i], next);
                }
                node = (Map<String, Object>) next;
            }
            node.put(path[path.length - 1], value);
            origin.put(e.getValue(), "from " + e.getKey());
        }
        return this;
    }

    /** Where {@code dottedKey} was set ({@code "at patroni.yml:12:3"}, {@code "from PATRONI_NAME"}), if known. */
    Optional<String> origin(String dottedKey) {
        return Optional.ofNullable(origin.get(dottedKey));
    }

    /** The same error with where its key was set appended, when the key is in the file or the environment. */
    ConfigurationException located(ConfigurationException e) {
        Optional<String> where = origin(e.setting());
        String message = e.getMessage();
        if (where.isEmpty() || message.endsWith("(" + where.get() + ")")) {
            return e;
        }
        String rule = message.substring(Math.min(message.length(), e.setting().length() + 2));
        ConfigurationException located = new ConfigurationException(e.setting(), rule + " (" + where.get() + ")");
        located.setStackTrace(e.getStackTrace());
        return located;
    }

    private void walk(Node n, String path, int depth) {
        if (depth > 32 || !(n instanceof MappingNode m)) {
            return;
        }
        for (NodeTuple t : m.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k) {
                String p = path.isEmpty() ? k.getValue() : path + "." + k.getValue();
                k.getStartMark().ifPresent(mark -> origin.putIfAbsent(p, "at " + at(mark)));
                walk(t.getValueNode(), p, depth + 1);
            }
        }
    }

    private static String at(Mark m) {
        return m.getName() + ":" + (m.getLine() + 1) + ":" + (m.getColumn() + 1);
    }

    private static String syntaxError(String source, MarkedYamlEngineException e) {
        String where = e.getProblemMark().map(YamlDocument::at)
                .or(() -> e.getContextMark().map(YamlDocument::at)).orElse(source);
        StringBuilder sb = new StringBuilder(where).append(": not valid YAML: ")
                .append(firstLine(e.getProblem() == null ? e.getMessage() : e.getProblem()));
        String context = e.getContext();
        if (context != null && !context.isBlank() && e.getContextMark().isPresent()) {
            Mark c = e.getContextMark().get();
            sb.append(" (").append(context.trim()).append(" that starts at line ").append(c.getLine() + 1)
                    .append(", column ").append(c.getColumn() + 1).append(')');
        }
        return sb.toString();
    }

    /** {@code source:line:column} of the {@code codePoint}-th code point of {@code text}. */
    private static String position(String source, String text, int codePoint) {
        int line = 1;
        int column = 1;
        int i = 0;
        int seen = 0;
        while (i < text.length() && seen < codePoint) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            seen++;
            if (cp == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        return source + ":" + line + ":" + column;
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("").trim();
    }
}
