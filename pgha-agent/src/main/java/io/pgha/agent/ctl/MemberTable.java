package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ClusterView;
import io.pgha.ClusterView.Member;
import io.pgha.agent.ctl.Output.Format;
import io.pgha.spi.Lsn;
import java.net.URI;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The members of a cluster as {@code patronictl list} and {@code topology} print them
 * ({@code output_members} over {@code cluster_as_json}): the columns Cluster, Member, Host, Role,
 * State, TL, Receive LSN, Receive Lag, Replay LSN, Replay Lag, then Pending restart, Pending restart
 * reason, Scheduled restart and Tags when {@code extended} or when some member has a value for
 * them; the footer lines (maintenance mode, a scheduled switchover) under a table.
 */
final class MemberTable {
    static final List<String> COLUMNS = List.of("Cluster", "Member", "Host", "Role", "State", "TL", "Receive LSN", "Receive Lag",
            "Replay LSN", "Replay Lag");
    private static final List<String> OPTIONAL_COLUMNS = List.of("Pending restart", "Pending restart reason", "Scheduled restart",
            "Tags");
    private static final Set<String> RIGHT = Set.of("Group", "Receive LSN", "Replay LSN", "Lag", "TL");
    private static final long MB = 1024 * 1024;

    private MemberTable() {
    }

    /** The members of {@code c} in {@code fmt}, with the footer lines when it is a table. */
    static String render(ClusterState c, boolean extended, Format fmt) {
        List<Map<String, Object>> members = membersAsJson(c);
        List<String> columns = new ArrayList<>(COLUMNS);
        List<Map<String, Object>> withHost = members.stream().filter(m -> m.containsKey("host")).toList();
        for (String col : OPTIONAL_COLUMNS) {
            if (extended || withHost.stream().anyMatch(m -> truthy(m.get(key(col))))) {
                columns.add(col);
            }
        }
        // host:port when some member is on another port than 5432, or two share a host
        boolean appendPort = withHost.stream().anyMatch(m -> m.containsKey("port") && ((Integer) m.get("port")) != 5432)
                || new HashSet<>(withHost.stream().map(m -> m.get("host")).toList()).size() < withHost.size();

        List<List<Object>> rows = new ArrayList<>();
        for (Map<String, Object> member : fmt == Format.TOPOLOGY ? topologySort(members) : members) {
            Map<String, Object> m = new LinkedHashMap<>(member);
            String reasons = pendingReasons(m.get("pending_restart_reason"), fmt.isTable());
            Object receiveLag = m.getOrDefault("receive_lag", "");
            Object replayLag = m.getOrDefault("replay_lag", "");
            Object receiveLsn = m.getOrDefault("receive_lsn", "");
            Object replayLsn = m.getOrDefault("replay_lsn", "");
            Object lsn = m.getOrDefault("lsn", "");
            // members that publish only xlog_location (older Patroni): its position counts as received or replayed
            if ("unknown".equals(receiveLsn) && "unknown".equals(replayLsn) && !"".equals(lsn) && !"unknown".equals(lsn)) {
                Object lag = m.getOrDefault("lag", "");
                if ("streaming".equals(m.get("state"))) {
                    receiveLag = lag;
                    receiveLsn = lsn;
                } else {
                    replayLag = lag;
                    replayLsn = lsn;
                }
            }
            m.put("cluster", c.scope());
            m.put("member", m.get("name"));
            m.put("host", m.getOrDefault("host", ""));
            m.put("tl", m.getOrDefault("timeline", ""));
            m.put("role", title(((String) m.get("role")).replace('_', ' ')));
            m.put("receive_lag", megabytes(receiveLag));
            m.put("replay_lag", megabytes(replayLag));
            m.put("receive_lsn", receiveLsn);
            m.put("replay_lsn", replayLsn);
            m.put("pending_restart", truthy(m.get("pending_restart")) ? "*" : "");
            m.put("pending_restart_reason", reasons);
            if (appendPort && !"".equals(m.get("host")) && m.get("port") != null) {
                m.put("host", m.get("host") + ":" + m.get("port"));
            }
            if (m.get("scheduled_restart") instanceof JsonNode s) {
                String value = s.path("schedule").asText("");
                if (s.hasNonNull("postgres_version")) {
                    value += " if version < " + s.get("postgres_version").asText();
                }
                m.put("scheduled_restart", value);
            }
            List<Object> row = new ArrayList<>();
            for (String col : columns) {
                row.add(m.getOrDefault(key(col), ""));
            }
            rows.add(row);
        }
        String initialize = c.view().initialize().map(i -> i.isEmpty() ? "initializing" : i).orElse("uninitialized");
        String title = "Cluster: " + c.scope() + " (" + initialize + ")";
        if (fmt.isTable()) {
            columns.set(columns.indexOf("Receive Lag"), "Lag");
            columns.set(columns.indexOf("Replay Lag"), "Lag");
        }
        StringBuilder sb = new StringBuilder(Output.format(columns, rows, RIGHT, fmt, title, "\t"));
        if (fmt.isTable()) {
            List<String> info = serviceInfo(c.view());
            if (!info.isEmpty()) {
                sb.append(' ').append(String.join("\n ", info)).append('\n');
            }
        }
        return sb.toString();
    }

    /**
     * Each member as {@code cluster_as_json} describes it: name, role (leader, standby_leader,
     * sync_standby, quorum_standby, replica), state, api_url, host, port, and what the entry holds of
     * timeline, pending_restart, pending_restart_reason, scheduled_restart and tags; for a member that
     * is not the leader, receive_lsn/receive_lag, replay_lsn/replay_lag and lsn/lag against the
     * leader's last position (unknown when the member published none). Name order.
     */
    static List<Map<String, Object>> membersAsJson(ClusterState c) {
        ClusterView v = c.view();
        long clusterLsn = v.leaderOptime().or(() -> v.leaderMember().map(Member::walPosition)).map(Lsn::value).orElse(0L);
        boolean sync = c.isSynchronousMode();
        String syncRole = c.isQuorumCommitMode() ? "quorum_standby" : "sync_standby";
        List<Map<String, Object>> out = new ArrayList<>();
        for (Member m : v.members().values()) {
            ObjectNode data = c.entry(m.name());
            boolean leader = v.isLeader(m.name());
            String role = leader ? (c.isStandbyCluster() ? "standby_leader" : "leader")
                    : sync && v.syncStandbys().contains(m.name()) ? syncRole : "replica";
            String state = !role.equals("leader") && m.replicationState().filter(s -> !s.isEmpty()).isPresent()
                    ? m.replicationState().get() : data.path("state").asText("");
            Map<String, Object> member = new LinkedHashMap<>();
            member.put("name", m.name());
            member.put("role", role);
            member.put("state", state);
            member.put("api_url", m.apiUrl().orElse(null));
            hostAndPort(m.connUrl()).ifPresent(hp -> {
                member.put("host", hp.host());
                member.put("port", hp.port());
            });
            for (String k : List.of("timeline", "pending_restart_reason", "scheduled_restart", "tags")) {
                if (data.has(k)) {
                    JsonNode n = data.get(k);
                    member.put(k, n.isValueNode() ? Output.plain(n) : n);
                }
            }
            if (m.isPendingRestart()) {
                member.put("pending_restart", true);
            }
            if (!leader) {
                for (String location : List.of("receive_", "replay_", "")) {
                    long lsn = data.path(location.isEmpty() ? "xlog_location" : location + "lsn").asLong(0);
                    if (lsn == 0) {
                        member.put(location + "lsn", "unknown");
                        member.put(location + "lag", "unknown");
                    } else {
                        member.put(location + "lag", clusterLsn >= lsn ? clusterLsn - lsn : 0L);
                        member.put(location + "lsn", formatLsn(lsn));
                    }
                }
            }
            out.add(member);
        }
        return out;
    }

    /**
     * The members as a replication tree ({@code topology_sort}): the leader, then its replicas named
     * {@code + name}, each followed by the replicas that replicate from it ({@code replicatefrom} tag),
     * indented two more spaces per level.
     */
    static List<Map<String, Object>> topologySort(List<Map<String, Object>> members) {
        Map<String, List<Map<String, Object>>> topology = new HashMap<>();
        Map<String, Object> leader = members.stream().filter(m -> ((String) m.get("role")).endsWith("leader")).findFirst()
                .orElseGet(() -> {
                    Map<String, Object> none = new HashMap<>();
                    none.put("name", null);
                    return none;
                });
        Set<String> replicas = new HashSet<>();
        members.stream().filter(m -> !((String) m.get("role")).endsWith("leader")).forEach(m -> replicas.add((String) m.get("name")));
        for (Map<String, Object> m : members) {
            if (!((String) m.get("role")).endsWith("leader")) {
                String parent = m.get("tags") instanceof JsonNode t && t.path("replicatefrom").isTextual()
                        ? t.get("replicatefrom").asText() : null;
                if (parent == null || parent.isEmpty() || parent.equals(m.get("name")) || !replicas.contains(parent)) {
                    parent = (String) leader.get("name");
                }
                topology.computeIfAbsent(parent, k -> new ArrayList<>()).add(m);
            }
        }
        List<Map<String, Object>> out = new ArrayList<>();
        generateTopology(0, leader, topology, out);
        return out;
    }

    private static void generateTopology(int level, Map<String, Object> member, Map<String, List<Map<String, Object>>> topology,
                                         List<Map<String, Object>> out) {
        String name = (String) member.get("name");
        List<Map<String, Object>> children = topology.getOrDefault(name, List.of());
        Map<String, Object> m = new LinkedHashMap<>(member);
        if (level > 0) {
            m.put("name", " ".repeat((level - 1) * 2) + "+ " + name);
        }
        if (m.get("name") != null && !((String) m.get("name")).isEmpty()) {
            out.add(m);
        }
        for (Map<String, Object> child : children) {
            generateTopology(level + 1, child, topology, out);
        }
    }

    /** The lines under a table: maintenance mode, a scheduled switchover. */
    static List<String> serviceInfo(ClusterView c) {
        List<String> info = new ArrayList<>();
        if (c.paused()) {
            info.add("Maintenance mode: on");
        }
        c.failover().filter(f -> f.scheduledAt().isPresent()).ifPresent(f -> {
            StringBuilder sb = new StringBuilder("Switchover scheduled at: ").append(isoformat(f.scheduledAt().get()));
            f.leader().ifPresent(l -> sb.append('\n').append(String.format("%24s: %s", "from", l)));
            f.candidate().ifPresent(t -> sb.append('\n').append(String.format("%24s: %s", "to", t)));
            info.add(sb.toString());
        });
        return info;
    }

    /** Python's {@code datetime.isoformat()}: seconds always, microseconds when not zero, {@code +00:00} for UTC. */
    static String isoformat(OffsetDateTime t) {
        StringBuilder sb = new StringBuilder(t.toLocalDateTime().withNano(0).toString());
        if (t.getSecond() == 0 && sb.length() == 16) {
            sb.append(":00");
        }
        int micros = t.getNano() / 1000;
        if (micros != 0) {
            sb.append(String.format(".%06d", micros));
        }
        int offset = t.getOffset().getTotalSeconds();
        sb.append(offset < 0 ? '-' : '+').append(String.format("%02d:%02d", Math.abs(offset) / 3600, Math.abs(offset) / 60 % 60));
        return sb.toString();
    }

    /** {@code 0/40004E8}, as PostgreSQL writes a position. */
    static String formatLsn(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase(java.util.Locale.ROOT) + "/"
                + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase(java.util.Locale.ROOT);
    }

    /** Host and port of a {@code postgres://host:port/db} address; 5432 when it names no port. */
    static java.util.Optional<HostPort> hostAndPort(String connUrl) {
        try {
            URI u = new URI(connUrl);
            if (u.getHost() == null || u.getHost().isEmpty()) {
                return java.util.Optional.empty();
            }
            return java.util.Optional.of(new HostPort(u.getHost(), u.getPort() > 0 ? u.getPort() : 5432));
        } catch (Exception e) {
            return java.util.Optional.empty();
        }
    }

    /** A member's PostgreSQL address. */
    record HostPort(String host, int port) {
    }

    private static String pendingReasons(Object reasons, boolean hideLong) {
        if (!(reasons instanceof JsonNode r) || !r.isObject()) {
            return "";
        }
        List<String> lines = new ArrayList<>();
        r.properties().forEach(e -> {
            String full = e.getKey() + ": " + e.getValue().path("old_value").asText("") + "->" + e.getValue().path("new_value").asText("");
            lines.add(!hideLong || full.length() <= 50 ? full : e.getKey() + ": [hidden - too long]");
        });
        return String.join("\n", lines);
    }

    /** A lag in bytes as whole megabytes (rounded half to even, as Python's round); unknown shows as nothing. */
    private static Object megabytes(Object lag) {
        if (lag instanceof Long l) {
            return (long) Math.rint((double) l / MB);
        }
        return "unknown".equals(lag) ? "" : lag;
    }

    private static String key(String column) {
        return column.toLowerCase(java.util.Locale.ROOT).replace(' ', '_');
    }

    /** Python's truth test. */
    private static boolean truthy(Object v) {
        Object p = Output.plain(v);
        if (p == null) {
            return false;
        }
        if (p instanceof Boolean b) {
            return b;
        }
        if (p instanceof Number n) {
            return n.doubleValue() != 0;
        }
        if (p instanceof String s) {
            return !s.isEmpty();
        }
        if (p instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        if (p instanceof List<?> l) {
            return !l.isEmpty();
        }
        return true;
    }

    /** Python's {@code str.title()}: {@code sync standby} → {@code Sync Standby}. */
    private static String title(String s) {
        StringBuilder sb = new StringBuilder();
        boolean start = true;
        for (char ch : s.toCharArray()) {
            sb.append(start ? Character.toUpperCase(ch) : Character.toLowerCase(ch));
            start = !Character.isLetter(ch);
        }
        return sb.toString();
    }
}
