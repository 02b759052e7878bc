package io.pgha.internal.cluster;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.MemberTags;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.Lsn;
import io.pgha.spi.PendingSetting;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads and writes the values of Patroni's DCS layout. Decoding never throws: an entry that cannot
 * be decoded is left out of the {@link Cluster} and described in {@link Cluster#warnings()}, so one
 * corrupt or foreign value cannot stop the HA loop.
 */
public final class ClusterCodec {
    public static final ObjectMapper JSON = new ObjectMapper();
    /** Published as the member entry's {@code version}: {@link io.pgha.PghaVersion#current()}. */
    public static final String VERSION = io.pgha.PghaVersion.current();

    private ClusterCodec() {
    }

    public static Cluster decode(ClusterSnapshot s) {
        List<String> warnings = new ArrayList<>();

        Optional<DcsEntry> init = s.get(ClusterKey.INITIALIZE);
        Optional<String> initialize = init.map(e -> e.value().trim());
        long initializeVersion = init.map(DcsEntry::version).orElse(DcsEntry.ABSENT);

        // A config key that cannot be read counts as present and empty, as in Patroni: the members run
        // on their own settings and nobody rewrites it each cycle; an operator replaces it
        Optional<ConfigEntry> config = s.get(ClusterKey.CONFIG).map(e -> {
            JsonNode n = parse(e.value(), "config", warnings, "; every member runs on its own settings until it is"
                    + " replaced (pghactl edit-config)");
            if (n == null) {
                return new ConfigEntry(DynamicConfig.EMPTY, e.version());
            }
            if (!n.isObject()) {
                warnings.add("config: expected a JSON object; every member runs on its own settings until it is replaced"
                        + " (pghactl edit-config)");
                return new ConfigEntry(DynamicConfig.EMPTY, e.version());
            }
            return new ConfigEntry(new DynamicConfig((ObjectNode) n), e.version());
        });

        Optional<DcsEntry> leaderEntry = s.get(ClusterKey.LEADER);
        Optional<String> leader = leaderEntry.map(e -> e.value().trim()).filter(v -> !v.isEmpty());
        long leaderVersion = leaderEntry.map(DcsEntry::version).orElse(DcsEntry.ABSENT);

        Map<String, Member> members = new LinkedHashMap<>();
        for (Map.Entry<String, DcsEntry> m : s.members().entrySet()) {
            decodeMember(m.getKey(), m.getValue(), warnings).ifPresent(mem -> members.put(mem.name(), mem));
        }

        Optional<FailoverRequest> failover = s.get(ClusterKey.FAILOVER).flatMap(e -> decodeFailover(e, warnings));
        Optional<SyncState> sync = s.get(ClusterKey.SYNC).flatMap(e -> decodeSync(e, warnings));
        TimelineHistory history = s.get(ClusterKey.HISTORY).map(e -> decodeHistory(e, warnings)).orElse(TimelineHistory.NONE);
        OptionalLong optime = s.get(ClusterKey.STATUS).map(e -> decodeOptime(e, warnings)).orElse(OptionalLong.empty());
        Map<String, Long> slots = s.get(ClusterKey.STATUS).map(ClusterCodec::decodeStatusSlots).orElse(Map.of());

        Optional<FailsafeTopology> failsafe = s.get(ClusterKey.FAILSAFE).flatMap(e -> decodeFailsafe(e, warnings));

        return new Cluster(s.revision(), initialize, initializeVersion, config, leader, leaderVersion, members, failover, sync,
                history, optime, slots, failsafe, warnings);
    }

    // ---------------------------------------------------------------- members

    static Optional<Member> decodeMember(String name, DcsEntry e, List<String> warnings) {
        JsonNode n = parse(e.value(), "members/" + name, warnings);
        if (n == null) {
            return Optional.empty();
        }
        if (!n.isObject()) {
            warnings.add("members/" + name + ": expected a JSON object, skipped");
            return Optional.empty();
        }
        try {
            String role = text(n, "role").orElse("uninitialized");
            if ("master".equals(role)) {
                role = "primary";
            }
            return Optional.of(new Member(name,
                    text(n, "conn_url").orElse(""),
                    text(n, "api_url"),
                    text(n, "state").orElse("unknown"),
                    role,
                    lsn(n.get("xlog_location")),
                    lsn(n.get("receive_lsn")),
                    lsn(n.get("replay_lsn")),
                    n.path("timeline").asInt(0),
                    decodeTags(n.get("tags")),
                    text(n, "replication_state"),
                    e.version(),
                    decodePending(n),
                    decodeSchedule(n.path("scheduled_restart").get("schedule"))));
        } catch (RuntimeException ex) {
            warnings.add("members/" + name + ": " + ex.getMessage() + ", skipped");
            return Optional.empty();
        }
    }

    private static Optional<OffsetDateTime> decodeSchedule(JsonNode n) {
        if (n == null || !n.isTextual()) {
            return Optional.empty();
        }
        try {
            return Optional.of(OffsetDateTime.parse(n.asText()));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** Patroni's {@code pending_restart_reason}; a bare {@code pending_restart: true} names no setting. */
    static List<PendingSetting> decodePending(JsonNode n) {
        if (!truthy(n.get("pending_restart"))) {
            return List.of();
        }
        List<PendingSetting> out = new ArrayList<>();
        JsonNode reasons = n.get("pending_restart_reason");
        if (reasons != null && reasons.isObject()) {
            for (Map.Entry<String, JsonNode> f : reasons.properties()) {
                out.add(new PendingSetting(f.getKey(), f.getValue().path("old_value").asText(""),
                        f.getValue().path("new_value").asText("")));
            }
        }
        if (out.isEmpty()) {
            out.add(new PendingSetting("", "", ""));
        }
        return out;
    }

    static MemberTags decodeTags(JsonNode t) {
        if (t == null || !t.isObject()) {
            return MemberTags.DEFAULT;
        }
        boolean nofailover = truthy(t.get("nofailover"));
        int priority = t.has("failover_priority") ? Math.max(0, t.get("failover_priority").asInt(1)) : 1;
        Map<String, String> custom = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> f : t.properties()) {
            switch (f.getKey()) {
                case "nofailover", "failover_priority", "nosync", "noloadbalance", "clonefrom", "replicatefrom" -> {
                }
                default -> custom.put(f.getKey(), f.getValue().isTextual() ? f.getValue().asText() : f.getValue().toString());
            }
        }
        Optional<String> replicatefrom = Optional.ofNullable(t.get("replicatefrom")).filter(JsonNode::isTextual).map(JsonNode::asText);
        return new MemberTags(nofailover, priority, truthy(t.get("nosync")), truthy(t.get("noloadbalance")),
                truthy(t.get("clonefrom")), replicatefrom, custom);
    }

    public static String encodeMember(Member m) {
        ObjectNode n = JSON.createObjectNode();
        n.put("conn_url", m.connUrl());
        m.apiUrl().ifPresent(u -> n.put("api_url", u));
        n.put("state", m.state());
        n.put("role", m.role());
        n.put("version", VERSION);
        n.put("xlog_location", m.xlogLocation().value());
        if (!m.receiveLsn().isZero()) {
            n.put("receive_lsn", m.receiveLsn().value());
        }
        if (!m.replayLsn().isZero()) {
            n.put("replay_lsn", m.replayLsn().value());
        }
        m.replicationState().ifPresent(r -> n.put("replication_state", r));
        if (m.timeline() > 0) {
            n.put("timeline", m.timeline());
        }
        ObjectNode tags = encodeTags(m.tags());
        if (!tags.isEmpty()) {
            n.set("tags", tags);
        }
        m.scheduledRestart().ifPresent(t -> n.putObject("scheduled_restart").put("schedule", t.toString()));
        if (!m.pendingRestart().isEmpty()) {
            n.put("pending_restart", true);
            ObjectNode reasons = n.putObject("pending_restart_reason");
            m.pendingRestart().stream().filter(p -> !p.name().isEmpty()).forEach(p ->
                    reasons.putObject(p.name()).put("old_value", p.currentValue()).put("new_value", p.newValue()));
        }
        return n.toString();
    }

    static ObjectNode encodeTags(MemberTags t) {
        ObjectNode n = JSON.createObjectNode();
        if (t.nofailover()) {
            n.put("nofailover", true);
        }
        if (t.failoverPriority() != 1) {
            n.put("failover_priority", t.failoverPriority());
        }
        if (t.nosync()) {
            n.put("nosync", true);
        }
        if (t.noloadbalance()) {
            n.put("noloadbalance", true);
        }
        if (t.clonefrom()) {
            n.put("clonefrom", true);
        }
        t.replicatefrom().ifPresent(r -> n.put("replicatefrom", r));
        t.custom().forEach(n::put);
        return n;
    }

    // ---------------------------------------------------------------- failover

    static Optional<FailoverRequest> decodeFailover(DcsEntry e, List<String> warnings) {
        String v = e.value().trim();
        if (v.isEmpty()) {
            return Optional.of(new FailoverRequest(Optional.empty(), Optional.empty(), Optional.empty(), e.version()));
        }
        if (!v.startsWith("{")) {
            // Patroni's legacy "leader:member" form
            int colon = v.indexOf(':');
            Optional<String> leader = colon < 0 ? Optional.of(v) : Optional.of(v.substring(0, colon)).filter(s -> !s.isEmpty());
            Optional<String> member = colon < 0 ? Optional.empty() : Optional.of(v.substring(colon + 1)).filter(s -> !s.isEmpty());
            return Optional.of(new FailoverRequest(leader, member, Optional.empty(), e.version()));
        }
        JsonNode n = parse(v, "failover", warnings);
        if (n == null || !n.isObject()) {
            if (n != null) {
                warnings.add("failover: expected a JSON object, ignored");
            }
            return Optional.empty();
        }
        Optional<OffsetDateTime> at = Optional.empty();
        Optional<String> when = text(n, "scheduled_at");
        if (when.isPresent()) {
            try {
                at = Optional.of(OffsetDateTime.parse(when.get()));
            } catch (DateTimeParseException ex) {
                warnings.add("failover: scheduled_at '" + when.get() + "' is not an ISO-8601 time with an offset, ignored");
                return Optional.empty();
            }
        }
        return Optional.of(new FailoverRequest(text(n, "leader"), text(n, "member"), at, e.version()));
    }

    public static String encodeFailover(Optional<String> leader, Optional<String> candidate, Optional<OffsetDateTime> at) {
        ObjectNode n = JSON.createObjectNode();
        leader.ifPresent(l -> n.put("leader", l));
        candidate.ifPresent(c -> n.put("member", c));
        at.ifPresent(t -> n.put("scheduled_at", t.toString()));
        return n.toString();
    }

    // ---------------------------------------------------------------- sync

    static Optional<SyncState> decodeSync(DcsEntry e, List<String> warnings) {
        JsonNode n = parse(e.value(), "sync", warnings);
        if (n == null || !n.isObject()) {
            if (n != null) {
                warnings.add("sync: expected a JSON object, ignored");
            }
            return Optional.empty();
        }
        Set<String> standbys = new TreeSet<>();
        JsonNode s = n.get("sync_standby");
        if (s != null && s.isTextual()) {
            for (String part : s.asText().split(",")) {
                if (!part.isBlank()) {
                    standbys.add(part.trim());
                }
            }
        } else if (s != null && s.isArray()) {
            s.forEach(x -> standbys.add(x.asText()));
        }
        // Patroni's SyncState.from_node: int(quorum) when the key names a leader, else 0
        int quorum = 0;
        JsonNode q = n.get("quorum");
        if (q != null && (q.isIntegralNumber() || q.isTextual())) {
            try {
                quorum = Math.max(0, Integer.parseInt(q.asText().trim()));
            } catch (NumberFormatException bad) {
                warnings.add("sync: quorum '" + q.asText() + "' is not a number, read as 0");
            }
        }
        return Optional.of(new SyncState(text(n, "leader"), standbys, quorum, e.version()));
    }

    public static String encodeSync(String leader, Set<String> standbys) {
        return encodeSync(leader, standbys, 0);
    }

    /** The {@code sync} key as Patroni writes it: {@code {"leader": .., "quorum": q, "sync_standby": "a,b" | null}}. */
    public static String encodeSync(String leader, Set<String> standbys, int quorum) {
        ObjectNode n = JSON.createObjectNode();
        n.put("leader", leader);
        n.put("quorum", quorum);
        if (standbys.isEmpty()) {
            n.putNull("sync_standby");
        } else {
            n.put("sync_standby", String.join(",", new TreeSet<>(standbys)));
        }
        return n.toString();
    }

    // ---------------------------------------------------------------- history

    static TimelineHistory decodeHistory(DcsEntry e, List<String> warnings) {
        JsonNode n = parse(e.value(), "history", warnings);
        if (n == null || !n.isArray()) {
            if (n != null) {
                warnings.add("history: expected a JSON list, ignored");
            }
            return new TimelineHistory(List.of(), e.version());
        }
        List<HistoryEntry> entries = new ArrayList<>();
        for (JsonNode line : n) {
            if (!line.isArray() || line.size() < 2 || !line.get(0).canConvertToInt()) {
                warnings.add("history: skipped a malformed line " + line);
                continue;
            }
            entries.add(new HistoryEntry(line.get(0).asInt(), line.get(1).asLong(),
                    line.size() > 2 ? line.get(2).asText() : "",
                    line.size() > 3 && !line.get(3).isNull() ? Optional.of(line.get(3).asText()) : Optional.empty(),
                    line.size() > 4 && !line.get(4).isNull() ? Optional.of(line.get(4).asText()) : Optional.empty()));
        }
        return new TimelineHistory(entries, e.version());
    }

    public static String encodeHistory(List<HistoryEntry> entries) {
        ArrayNode a = JSON.createArrayNode();
        for (HistoryEntry h : entries) {
            ArrayNode line = a.addArray();
            line.add(h.timeline());
            line.add(h.lsn());
            line.add(h.reason());
            h.timestamp().ifPresentOrElse(line::add, line::addNull);
            h.newLeader().ifPresent(line::add);
        }
        return a.toString();
    }

    // ---------------------------------------------------------------- status

    static OptionalLong decodeOptime(DcsEntry e, List<String> warnings) {
        String v = e.value().trim();
        if (!v.startsWith("{")) {
            try {
                return OptionalLong.of(Long.parseLong(v));
            } catch (NumberFormatException ex) {
                warnings.add("status: not JSON and not an LSN number, ignored");
                return OptionalLong.empty();
            }
        }
        JsonNode n = parse(v, "status", warnings);
        if (n == null || !n.path("optime").canConvertToLong()) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(n.get("optime").asLong());
    }

    public static String encodeStatus(Lsn optime) {
        return encodeStatus(optime, Map.of(), List.of());
    }

    /**
     * Patroni's {@code status}: the leader's WAL position, its slots' positions (which replicas
     * advance their copies of the permanent slots to) and the member slots it retains.
     */
    public static String encodeStatus(Lsn optime, Map<String, Long> slots, List<String> retainSlots) {
        ObjectNode n = JSON.createObjectNode();
        n.put("optime", optime.value());
        ObjectNode s = n.putObject("slots");
        new java.util.TreeMap<>(slots).forEach(s::put);
        if (!retainSlots.isEmpty()) {
            com.fasterxml.jackson.databind.node.ArrayNode r = n.putArray("retain_slots");
            retainSlots.stream().sorted().forEach(r::add);
        }
        return n.toString();
    }

    /** {@code failsafe}: {@code {name: api_url}}; anything else is named in a warning and left out. */
    static Optional<FailsafeTopology> decodeFailsafe(DcsEntry e, List<String> warnings) {
        JsonNode n = parse(e.value(), "failsafe", warnings);
        if (n == null) {
            return Optional.empty();
        }
        if (!n.isObject()) {
            warnings.add("failsafe: expected a JSON object of member names and api_urls, ignored");
            return Optional.empty();
        }
        Map<String, String> members = new java.util.TreeMap<>();
        n.fields().forEachRemaining(f -> {
            if (f.getValue().isTextual()) {
                members.put(f.getKey(), f.getValue().asText());
            }
        });
        return Optional.of(new FailsafeTopology(members, e.version()));
    }

    /** The {@code failsafe} key's value: member name to {@code api_url}, sorted. */
    public static String encodeFailsafe(Map<String, String> members) {
        ObjectNode n = JSON.createObjectNode();
        new java.util.TreeMap<>(members).forEach(n::put);
        return n.toString();
    }

    /** {@code status.slots}: name to position; anything else there is left out (a warning names bad status JSON already). */
    static Map<String, Long> decodeStatusSlots(DcsEntry e) {
        String v = e.value().trim();
        if (!v.startsWith("{")) {
            return Map.of();
        }
        try {
            JsonNode slots = JSON.readTree(v).path("slots");
            Map<String, Long> out = new java.util.TreeMap<>();
            slots.fields().forEachRemaining(f -> {
                if (f.getValue().canConvertToLong()) {
                    out.put(f.getKey(), f.getValue().asLong());
                }
            });
            return out;
        } catch (com.fasterxml.jackson.core.JsonProcessingException ex) {
            return Map.of();
        }
    }

    // ---------------------------------------------------------------- helpers

    private static JsonNode parse(String value, String what, List<String> warnings) {
        return parse(value, what, warnings, ", skipped");
    }

    private static JsonNode parse(String value, String what, List<String> warnings, String consequence) {
        try {
            return JSON.readTree(value);
        } catch (JsonProcessingException e) {
            warnings.add(what + ": not valid JSON (" + e.getOriginalMessage() + ")" + consequence);
            return null;
        }
    }

    private static Optional<String> text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v.asText());
    }

    private static Lsn lsn(JsonNode n) {
        if (n == null || n.isNull()) {
            return Lsn.ZERO;
        }
        if (n.isIntegralNumber()) {
            return Lsn.of(n.asLong());
        }
        if (n.isTextual()) {
            String t = n.asText();
            return t.contains("/") ? Lsn.parse(t) : Lsn.of(Long.parseLong(t));
        }
        throw new IllegalArgumentException("not an LSN: " + n);
    }

    private static boolean truthy(JsonNode n) {
        if (n == null || n.isNull()) {
            return false;
        }
        if (n.isBoolean()) {
            return n.booleanValue();
        }
        String t = n.asText().trim().toLowerCase(java.util.Locale.ROOT);
        return t.equals("true") || t.equals("on") || t.equals("yes") || t.equals("1");
    }
}
