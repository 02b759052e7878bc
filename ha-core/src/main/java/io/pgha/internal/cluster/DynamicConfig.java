package io.pgha.internal.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.SynchronousMode;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The cluster-wide dynamic configuration ({@code config} key) in Patroni's JSON. The raw document
 * is kept whole (so {@code PATCH /config} can merge into it and unknown keys survive); the typed
 * getters read the keys the engine uses and collect a {@link #problems() problem} for any value of
 * the wrong type instead of failing.
 */
public final class DynamicConfig {
    public static final DynamicConfig EMPTY = new DynamicConfig(JsonNodeFactory.instance.objectNode());

    private final ObjectNode root;
    private final List<String> problems = new ArrayList<>();

    public DynamicConfig(ObjectNode root) {
        this.root = root.deepCopy();
    }

    /** A deep copy of the raw document. */
    public ObjectNode toJson() {
        return root.deepCopy();
    }

    public Optional<Duration> ttl() {
        return seconds("ttl");
    }

    public Optional<Duration> loopWait() {
        return seconds("loop_wait");
    }

    public Optional<Duration> retryTimeout() {
        return seconds("retry_timeout");
    }

    public OptionalLong maximumLagOnFailover() {
        return longValue(root.get("maximum_lag_on_failover"), "maximum_lag_on_failover");
    }

    /**
     * {@code maximum_lag_on_syncnode}: a standby further behind the most advanced one (the primary
     * when only one streams) is not chosen as synchronous; {@code <= 0} (Patroni's default -1): no limit.
     */
    public OptionalLong maximumLagOnSyncnode() {
        OptionalLong v = longValue(root.get("maximum_lag_on_syncnode"), "maximum_lag_on_syncnode");
        if (v.isPresent() && v.getAsLong() < -1) {
            problems.add("maximum_lag_on_syncnode: must be >= -1, got " + v.getAsLong() + "; read as -1");
            return OptionalLong.of(-1);
        }
        return v;
    }

    public Optional<Duration> primaryStartTimeout() {
        Optional<Duration> v = seconds("primary_start_timeout");
        return v.isPresent() ? v : seconds("master_start_timeout");
    }

    public Optional<Boolean> paused() {
        return bool(root.get("pause"), "pause");
    }

    public Optional<Boolean> checkTimeline() {
        return bool(root.get("check_timeline"), "check_timeline");
    }

    public Optional<Boolean> usePgRewind() {
        JsonNode pg = root.get("postgresql");
        return pg == null || !pg.isObject() ? Optional.empty() : bool(pg.get("use_pg_rewind"), "postgresql.use_pg_rewind");
    }

    public OptionalInt synchronousNodeCount() {
        OptionalLong v = longValue(root.get("synchronous_node_count"), "synchronous_node_count");
        return v.isPresent() ? OptionalInt.of((int) v.getAsLong()) : OptionalInt.empty();
    }

    /**
     * {@code synchronous_mode} ({@code true/false/"on"/"off"/"quorum"}) combined with
     * {@code synchronous_mode_strict}.
     */
    public Optional<SynchronousMode> synchronousMode() {
        JsonNode mode = root.get("synchronous_mode");
        if (mode == null || mode.isNull()) {
            return Optional.empty();
        }
        boolean quorum = mode.isTextual() && mode.asText().trim().equalsIgnoreCase("quorum");
        Optional<Boolean> on = quorum ? Optional.of(true) : bool(mode, "synchronous_mode");
        if (on.isEmpty()) {
            return Optional.empty();
        }
        boolean strict = on.get() && bool(root.get("synchronous_mode_strict"), "synchronous_mode_strict").orElse(false);
        return Optional.of(SynchronousMode.of(on.get(), quorum, strict));
    }

    /**
     * {@code failsafe_mode}: a primary that cannot reach the store runs on while every member of
     * the {@code failsafe} topology confirms it (Patroni's default: off).
     */
    public Optional<Boolean> failsafeMode() {
        return bool(root.get("failsafe_mode"), "failsafe_mode");
    }

    /**
     * {@code standby_cluster}: the cluster replicates from a remote primary (Patroni's standby
     * cluster); empty when the section is absent or sets none of {@code host}, {@code port},
     * {@code restore_command}. A value of the wrong shape is a problem naming its key, and the
     * section is then not in force (a node does not act on half a section).
     */
    public Optional<StandbyCluster> standbyCluster() {
        try {
            return StandbyCluster.parse(root.get("standby_cluster"));
        } catch (io.pgha.ConfigurationException e) {
            problems.add(e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Why the {@code standby_cluster} section cannot be read, when it is there but of the wrong
     * shape (empty when it is absent or good). A node must then neither promote nor bootstrap a
     * normal cluster: the operator asked for a standby cluster.
     */
    public Optional<String> standbyClusterProblem() {
        try {
            StandbyCluster.parse(root.get("standby_cluster"));
            return Optional.empty();
        } catch (io.pgha.ConfigurationException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** {@code postgresql.use_slots}: members stream through physical slots, which pgha manages (Patroni's default: on). */
    public Optional<Boolean> useSlots() {
        JsonNode pg = root.get("postgresql");
        return pg == null || !pg.isObject() ? Optional.empty() : bool(pg.get("use_slots"), "postgresql.use_slots");
    }

    /**
     * {@code member_slots_ttl}: how long the slot of a member that left is kept (Patroni: 30 min); a
     * number of seconds or a string with a unit ({@code 30min}, {@code 1h}, {@code 90s}, {@code 0}).
     */
    public Optional<Duration> memberSlotsTtl() {
        JsonNode n = root.get("member_slots_ttl");
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (n.isNumber()) {
            return seconds("member_slots_ttl");
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\s*(\\d+)\\s*(ms|s|min|h|d)?\\s*").matcher(n.asText());
        if (!n.isTextual() || !m.matches()) {
            problems.add("member_slots_ttl: expected a duration (seconds, or with a unit: ms, s, min, h, d), got " + n);
            return Optional.empty();
        }
        long v = Long.parseLong(m.group(1));
        return Optional.of(switch (m.group(2) == null ? "s" : m.group(2)) {
            case "ms" -> Duration.ofMillis(v);
            case "min" -> Duration.ofMinutes(v);
            case "h" -> Duration.ofHours(v);
            case "d" -> Duration.ofDays(v);
            default -> Duration.ofSeconds(v);
        });
    }

    /**
     * {@code slots}: the permanent slots by name, a physical one as an empty {@link Optional}, a
     * logical one with its database and plugin. An entry of the wrong shape is a problem naming it.
     */
    public java.util.Map<String, Optional<io.pgha.spi.SlotPlan.LogicalSlot>> permanentSlots() {
        java.util.Map<String, Optional<io.pgha.spi.SlotPlan.LogicalSlot>> out = new java.util.TreeMap<>();
        JsonNode slots = root.get("slots");
        if (slots == null || slots.isNull()) {
            return out;
        }
        if (!slots.isObject()) {
            problems.add("slots: expected a mapping of slot names, got " + slots);
            return out;
        }
        slots.fields().forEachRemaining(e -> {
            String key = "slots." + e.getKey();
            JsonNode v = e.getValue();
            if (!e.getKey().matches("[a-z0-9_]{1,63}")) {
                problems.add(key + ": a slot name is 1 to 63 of a-z, 0-9 and _");
                return;
            }
            String type = v != null && v.isObject() ? v.path("type").asText("physical") : "";
            if (type.equals("physical")) {
                out.put(e.getKey(), Optional.empty());
            } else if (type.equals("logical") && v.path("database").isTextual() && v.path("plugin").isTextual()) {
                out.put(e.getKey(), Optional.of(new io.pgha.spi.SlotPlan.LogicalSlot(v.get("database").asText(), v.get("plugin").asText())));
            } else {
                problems.add(key + ": expected {type: physical} or {type: logical, database: ..., plugin: ...}, got " + v);
            }
        });
        return out;
    }

    /** {@code ignore_slots}: the rules of slots pgha never touches. */
    public List<io.pgha.spi.SlotPlan.SlotMatcher> ignoreSlots() {
        List<io.pgha.spi.SlotPlan.SlotMatcher> out = new ArrayList<>();
        JsonNode rules = root.get("ignore_slots");
        if (rules == null || rules.isNull()) {
            return out;
        }
        if (!rules.isArray()) {
            problems.add("ignore_slots: expected a list of {name, type, database, plugin} rules, got " + rules);
            return out;
        }
        for (JsonNode r : rules) {
            if (!r.isObject() || r.isEmpty()) {
                problems.add("ignore_slots: a rule is a mapping of name, type, database and/or plugin, got " + r);
                continue;
            }
            out.add(new io.pgha.spi.SlotPlan.SlotMatcher(text(r, "name"), text(r, "type"), text(r, "database"), text(r, "plugin")));
        }
        return out;
    }

    private static Optional<String> text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v.asText());
    }

    /**
     * {@code postgresql.parameters} as PostgreSQL setting strings: text as it is, numbers in plain
     * notation, booleans as {@code on}/{@code off}; a {@code null} value is left out (Patroni: the
     * setting returns to its default). An object or array is a problem naming its key.
     */
    public java.util.Map<String, String> postgresqlParameters() {
        return settingsObject("parameters");
    }

    /** {@code postgresql.recovery_conf}, read like {@link #postgresqlParameters()}. */
    public java.util.Map<String, String> recoveryConf() {
        return settingsObject("recovery_conf");
    }

    private java.util.Map<String, String> settingsObject(String key) {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        JsonNode pg = root.get("postgresql");
        if (pg == null || pg.isNull()) {
            return out;
        }
        if (!pg.isObject()) {
            problems.add("postgresql: expected an object, got " + pg);
            return out;
        }
        JsonNode params = pg.get(key);
        if (params == null || params.isNull()) {
            return out;
        }
        if (!params.isObject()) {
            problems.add("postgresql." + key + ": expected an object, got " + params);
            return out;
        }
        for (var f : params.properties()) {
            JsonNode v = f.getValue();
            if (v.isNull()) {
                continue;
            }
            if (v.isTextual()) {
                out.put(f.getKey(), v.textValue());
            } else if (v.isBoolean()) {
                out.put(f.getKey(), v.booleanValue() ? "on" : "off");
            } else if (v.isNumber()) {
                out.put(f.getKey(), v.decimalValue().stripTrailingZeros().toPlainString());
            } else {
                problems.add("postgresql." + key + "." + f.getKey() + ": expected a string, number or boolean, got " + v);
            }
        }
        return out;
    }

    /** {@code postgresql.pg_hba}: its lines, if the cluster sets them (a non-list is a problem naming the key). */
    public Optional<List<String>> pgHba() {
        return lines("pg_hba");
    }

    /** {@code postgresql.pg_ident}: its lines, if the cluster sets them. */
    public Optional<List<String>> pgIdent() {
        return lines("pg_ident");
    }

    private Optional<List<String>> lines(String key) {
        JsonNode pg = root.get("postgresql");
        if (pg == null || !pg.isObject()) {
            return Optional.empty();
        }
        JsonNode n = pg.get(key);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        List<String> out = new ArrayList<>();
        if (n.isArray()) {
            for (JsonNode line : n) {
                if (!line.isTextual() || line.textValue().indexOf('\n') >= 0) {
                    problems.add("postgresql." + key + ": expected a list of one-line strings, got " + n);
                    return Optional.empty();
                }
                out.add(line.textValue());
            }
            return Optional.of(out);
        }
        problems.add("postgresql." + key + ": expected a list of lines, got " + n);
        return Optional.empty();
    }

    /**
     * Every value of the wrong type among the keys the engine reads, each naming its key, in a
     * fixed order; empty when the document is good. Unlike {@link #problems()} this does not depend
     * on which getters ran.
     */
    public List<String> validate() {
        DynamicConfig fresh = new DynamicConfig(root);
        fresh.ttl();
        fresh.loopWait();
        fresh.retryTimeout();
        fresh.maximumLagOnFailover();
        fresh.primaryStartTimeout();
        fresh.paused();
        fresh.synchronousMode();
        fresh.synchronousNodeCount();
        fresh.usePgRewind();
        fresh.checkTimeline();
        fresh.postgresqlParameters();
        fresh.pgHba();
        fresh.pgIdent();
        fresh.recoveryConf();
        fresh.useSlots();
        fresh.failsafeMode();
        fresh.standbyCluster();
        fresh.memberSlotsTtl();
        fresh.permanentSlots();
        fresh.ignoreSlots();
        return fresh.problems();
    }

    /**
     * This document with {@code patch} applied the way Patroni's {@code PATCH /config} does:
     * objects merge recursively, {@code null} deletes a key, anything else replaces. The one patch
     * operation of pgha: the REST API and {@code pghactl} both use it.
     */
    public DynamicConfig patched(JsonNode patch) {
        ObjectNode merged = root.deepCopy();
        mergeInto(merged, patch);
        return new DynamicConfig(merged);
    }

    private static void mergeInto(ObjectNode target, JsonNode patch) {
        for (var f : patch.properties()) {
            JsonNode v = f.getValue();
            if (v.isNull()) {
                target.remove(f.getKey());
            } else if (v.isObject() && target.get(f.getKey()) instanceof ObjectNode inner) {
                mergeInto(inner, v);
            } else {
                target.set(f.getKey(), v.deepCopy());
            }
        }
    }

    /** The top-level keys a node acts on. */
    private static final java.util.Set<String> ACTED_ON = java.util.Set.of("ttl", "loop_wait", "retry_timeout",
            "maximum_lag_on_failover", "primary_start_timeout", "master_start_timeout", "pause", "synchronous_mode",
            "synchronous_mode_strict", "synchronous_node_count", "check_timeline", "postgresql", "slots", "ignore_slots",
            "member_slots_ttl", "failsafe_mode", "standby_cluster", "maximum_lag_on_syncnode");
    /** The {@code postgresql} keys a node acts on ({@code use_slots} is read when the agent starts). */
    private static final java.util.Set<String> POSTGRESQL_ACTED_ON = java.util.Set.of("use_pg_rewind", "use_slots", "parameters",
            "pg_hba", "pg_ident", "recovery_conf");
    /** Patroni's dynamic keys pgha does not act on yet, with what happens instead. */
    private static final java.util.Map<String, String> NOT_YET = java.util.Map.of(
            "max_timelines_history", "not supported yet: the whole timeline history is kept",
            "primary_stop_timeout", "not supported yet: a primary's stop waits for its shutdown",
            "master_stop_timeout", "not supported yet: a primary's stop waits for its shutdown",
            "primary_race_backoff", "not supported yet: a leader race starts at once");
    /** Keys a store section may leave in {@code bootstrap.dcs} (the book chapter's file does): read by the agent, not the engine. */
    private static final java.util.Set<String> STORE_SECTIONS = java.util.Set.of("etcd", "etcd3", "zookeeper", "consul",
            "exhibitor", "kubernetes", "raft");

    /**
     * The keys in this document a node does not act on, each as {@code "key: what happens instead"}:
     * Patroni's keys pgha does not support yet, and keys neither knows (a misspelling, most often).
     * A node logs each once; the agent lists them at start. Empty when every key is acted on.
     */
    public List<String> notActedOn() {
        List<String> out = new ArrayList<>();
        root.fieldNames().forEachRemaining(k -> {
            JsonNode v = root.get(k);
            if (ACTED_ON.contains(k) || STORE_SECTIONS.contains(k) || v == null || v.isNull()) {
                return;
            }
            if (NOT_YET.containsKey(k)) {
                boolean off = (v.isBoolean() && !v.booleanValue()) || (v.isContainerNode() && v.isEmpty());
                if (!off) {
                    out.add(k + ": " + NOT_YET.get(k));
                }
            } else {
                out.add(k + ": unknown key, ignored");
            }
        });
        JsonNode standby = root.get("standby_cluster");
        if (standby != null && standby.isObject()) {
            standby.fieldNames().forEachRemaining(k -> {
                if (!StandbyCluster.KEYS.contains(k)) {
                    out.add("standby_cluster." + k + ": unknown key, ignored");
                }
            });
            if (!standby.isEmpty() && standbyCluster().isEmpty() && problems.stream().noneMatch(p -> p.startsWith("standby_cluster"))) {
                out.add("standby_cluster: sets none of host, port and restore_command: this is not a standby cluster");
            }
        }
        JsonNode pg = root.get("postgresql");
        if (pg != null && pg.isObject()) {
            pg.fieldNames().forEachRemaining(k -> {
                if (!POSTGRESQL_ACTED_ON.contains(k)) {
                    out.add("postgresql." + k + ": " + (k.startsWith("parameters_") || k.startsWith("pg_hba_") || k.startsWith("pg_ident_")
                            ? "per-role settings are not supported yet, ignored" : "unknown key, ignored"));
                }
            });
        }
        return out;
    }

    /** Values that had the wrong type and were ignored, each naming its key. */
    public List<String> problems() {
        return List.copyOf(problems);
    }

    private Optional<Duration> seconds(String key) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        BigDecimal d = null;
        if (n.isNumber()) {
            d = n.decimalValue();
        } else if (n.isTextual()) {
            try {
                d = new BigDecimal(n.asText().trim());
            } catch (NumberFormatException e) {
                d = null;
            }
        }
        if (d == null || d.signum() < 0) {
            problems.add(key + ": expected a non-negative number of seconds, got " + n);
            return Optional.empty();
        }
        return Optional.of(Duration.ofNanos(d.movePointRight(9).longValue()));
    }

    private OptionalLong longValue(JsonNode n, String key) {
        if (n == null || n.isNull()) {
            return OptionalLong.empty();
        }
        if (n.canConvertToLong() && n.isIntegralNumber()) {
            return OptionalLong.of(n.longValue());
        }
        if (n.isTextual()) {
            try {
                return OptionalLong.of(Long.parseLong(n.asText().trim()));
            } catch (NumberFormatException e) {
                // fall through to the problem below
            }
        }
        problems.add(key + ": expected an integer, got " + n);
        return OptionalLong.empty();
    }

    private Optional<Boolean> bool(JsonNode n, String key) {
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (n.isBoolean()) {
            return Optional.of(n.booleanValue());
        }
        if (n.isTextual()) {
            switch (n.asText().trim().toLowerCase(java.util.Locale.ROOT)) {
                case "on", "true", "yes", "1" -> {
                    return Optional.of(true);
                }
                case "off", "false", "no", "0" -> {
                    return Optional.of(false);
                }
                default -> {
                }
            }
        }
        problems.add(key + ": expected a boolean, got " + n);
        return Optional.empty();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DynamicConfig other && root.equals(other.root);
    }

    @Override
    public int hashCode() {
        return root.hashCode();
    }

    @Override
    public String toString() {
        return root.toString();
    }
}
