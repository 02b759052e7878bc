package io.pgha.postgres;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the server settings in {@code pgha.conf} are layered, as Patroni layers them: pgha's defaults,
 * then the cluster's dynamic {@code postgresql.parameters} (the store's {@code config} key), then the
 * member's own (the builder's {@link PgController.Builder#parameter}), which win, except for the
 * cluster-wide settings that every member must share, where the dynamic value wins. Settings pgha
 * derives itself (port, primary_conninfo, ...) never come from the dynamic configuration, and a
 * cluster-wide value Patroni would refuse (wal_level minimal, max_connections below 25, ...) is not
 * used. Each value left out is reported as a problem naming its key, never dropped silently.
 *
 * <p>Where pgha differs from Patroni: Patroni ignores a member's local value of a cluster-wide
 * setting altogether; pgha uses it when the dynamic configuration does not set that setting, so an
 * embedder without a dynamic configuration can still size a small server. The agent keeps Patroni's
 * rule and drops such local values with a warning.
 */
final class ServerParameters {
    /** Settings every member must share (Patroni's command-line options); the dynamic value wins. */
    static final Map<String, Predicate<String>> CLUSTER_WIDE;
    /**
     * Settings a hot standby needs at least as high as its primary had; pg_control records the
     * primary's values, and a standby started below them stops at once.
     */
    static final Map<String, String> CONTROL_DATA_LABELS = Map.of(
            "max_connections", "max_connections setting",
            "max_worker_processes", "max_worker_processes setting",
            "max_wal_senders", "max_wal_senders setting",
            "max_prepared_transactions", "max_prepared_xacts setting",
            "max_locks_per_transaction", "max_locks_per_xact setting");
    /** Settings pgha derives from the builder or from the server's role; never taken from a parameter map. */
    static final Set<String> OWNED = Set.of("port", "listen_addresses", "unix_socket_directories", "cluster_name",
            "primary_conninfo", "primary_slot_name", "recovery_target_timeline", "synchronous_standby_names", "hot_standby",
            "data_directory", "config_file", "hba_file", "ident_file", "include", "include_if_exists", "include_dir",
            "restore_command", "recovery_target", "recovery_target_lsn", "recovery_target_name", "recovery_target_time",
            "recovery_target_xid", ManagedFiles.UPSTREAM_MEMBER, ManagedFiles.UPSTREAM_URL);
    private static final Pattern SIZE = Pattern.compile("\\s*(\\d+)\\s*(kB|MB|GB|TB)?\\s*");

    static {
        Map<String, Predicate<String>> m = new LinkedHashMap<>();
        m.put("wal_level", v -> Set.of("hot_standby", "replica", "logical").contains(v.toLowerCase(Locale.ROOT)));
        m.put("hot_standby", v -> Boolean.TRUE.equals(bool(v)));
        m.put("max_connections", atLeast(25));
        m.put("max_wal_senders", atLeast(3));
        m.put("wal_keep_size", v -> megabytes(v).map(mb -> mb >= 16).orElse(false));
        m.put("max_prepared_transactions", atLeast(0));
        m.put("max_locks_per_transaction", atLeast(32));
        m.put("track_commit_timestamp", v -> bool(v) != null);
        m.put("max_replication_slots", atLeast(4));
        m.put("max_worker_processes", atLeast(2));
        m.put("wal_log_hints", v -> bool(v) != null);
        CLUSTER_WIDE = Map.copyOf(m);
    }

    /**
     * What to write, what was left out (each problem names its key and why), and the settings a
     * standby takes from pg_control above what is configured (name to the configured value).
     */
    record Layered(Map<String, String> values, List<String> problems, Map<String, String> raisedFrom) {
    }

    private ServerParameters() {
    }

    /**
     * @param defaults    pgha's own settings, lowest
     * @param dynamic     the cluster's {@code postgresql.parameters}
     * @param local       the member's own settings
     * @param owned       names pgha derives itself; never taken from {@code dynamic}
     * @param controlData for a standby, pg_control's values by label ({@link #CONTROL_DATA_LABELS}); empty otherwise
     */
    static Layered layer(Map<String, String> defaults, Map<String, String> dynamic, Map<String, String> local, Set<String> owned,
                         Map<String, String> controlData) {
        Map<String, String> out = new LinkedHashMap<>(defaults);
        List<String> problems = new ArrayList<>();
        Set<String> taken = new java.util.HashSet<>();
        dynamic.forEach((k, v) -> {
            String key = "postgresql.parameters." + k;
            Predicate<String> valid = CLUSTER_WIDE.get(k);
            if (owned.contains(k)) {
                if (v.equals(out.get(k))) {
                    return; // what pgha sets anyway (hot_standby: on)
                }
                problems.add(key + ": managed by pgha, not taken from the dynamic configuration");
            } else if (v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0) {
                problems.add(key + ": a value cannot contain a line break");
            } else if (valid != null && !safeTest(valid, v)) {
                problems.add(key + ": '" + v + "' is not allowed for a setting every member shares (as in Patroni); "
                        + (out.containsKey(k) ? "pgha keeps " + out.get(k) : "PostgreSQL's default stays"));
            } else {
                out.put(k, v);
                taken.add(k);
            }
        });
        local.forEach((k, v) -> {
            if (!CLUSTER_WIDE.containsKey(k) || !taken.contains(k)) {
                out.put(k, v);
            }
        });
        Map<String, String> raised = new LinkedHashMap<>();
        CONTROL_DATA_LABELS.forEach((name, label) -> {
            Optional<Long> recorded = Optional.ofNullable(controlData.get(label)).flatMap(ServerParameters::integer);
            Optional<Long> configured = Optional.ofNullable(out.get(name)).flatMap(ServerParameters::integer);
            if (recorded.isPresent() && configured.isPresent() && recorded.get() > configured.get()) {
                // the standby must start: it takes the primary's value until a restart after the primary's own
                raised.put(name, out.get(name));
                out.put(name, Long.toString(recorded.get()));
            }
        });
        return new Layered(out, problems, raised);
    }

    private static boolean safeTest(Predicate<String> p, String v) {
        try {
            return p.test(v.trim());
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static Predicate<String> atLeast(long min) {
        return v -> integer(v).map(n -> n >= min).orElse(false);
    }

    static Optional<Long> integer(String v) {
        try {
            return Optional.of(Long.parseLong(v.trim()));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** A size in PostgreSQL's units; a bare number is megabytes (wal_keep_size's unit). */
    static Optional<Long> megabytes(String v) {
        Matcher m = SIZE.matcher(v);
        if (!m.matches()) {
            return Optional.empty();
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "MB" : m.group(2);
        return Optional.of(switch (unit) {
            case "kB" -> n / 1024;
            case "GB" -> n * 1024;
            case "TB" -> n * 1024 * 1024;
            default -> n;
        });
    }

    private static Boolean bool(String v) {
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "on", "true", "yes", "1" -> Boolean.TRUE;
            case "off", "false", "no", "0" -> Boolean.FALSE;
            default -> null;
        };
    }
}
