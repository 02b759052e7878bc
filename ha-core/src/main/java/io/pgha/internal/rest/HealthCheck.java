package io.pgha.internal.rest;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Patroni's health-check endpoints as one decision each: 200 when the node fits the role the path
 * asks for, 503 otherwise. HAProxy's {@code option httpchk} reads only the status line.
 */
final class HealthCheck {
    private HealthCheck() {
    }

    /** Every health-check path, aliases included: the one list the built-in server, the public API and the Spring routes use. */
    static final List<String> PATHS = List.of("/", "/primary", "/master", "/leader", "/read-write", "/replica", "/read-only",
            "/sync", "/synchronous", "/async", "/asynchronous", "/health", "/liveness", "/readiness", "/read-only-sync",
            "/read-only-synchronous", "/quorum", "/read-only-quorum", "/standby-leader", "/standby_leader");
    private static final Set<String> PATH_SET = Set.copyOf(PATHS);

    /** Whether {@code path} is a health check (as opposed to a status or action endpoint). */
    static boolean isHealthPath(String path) {
        return PATH_SET.contains(path);
    }

    /**
     * The status code for {@code path} with its query parameters.
     *
     * @throws IllegalArgumentException for a malformed parameter (the caller answers 400)
     */
    static int evaluate(String path, Map<String, String> query, NodeFacts f, long ttlNanos, long maxLag) {
        boolean ok = switch (path) {
            case "/", "/primary", "/master", "/read-write" -> f.leader();
            // Patroni: /leader answers for whoever holds the lock, the primary or a standby cluster's standby leader
            case "/leader" -> f.leader() || f.standbyLeader();
            case "/standby-leader", "/standby_leader" -> f.standbyLeader();
            case "/replica" -> replica(query, f, true);
            case "/read-only" -> f.leader() || f.standbyLeader() || replica(query, f, false);
            case "/sync", "/synchronous" -> f.syncStandby() && replica(query, f, false);
            case "/read-only-sync", "/read-only-synchronous" -> f.leader() || f.standbyLeader() || (f.syncStandby() && replica(query, f, false));
            case "/quorum" -> f.quorumStandby() && replica(query, f, false);
            case "/read-only-quorum" -> f.leader() || f.standbyLeader() || (f.quorumStandby() && replica(query, f, false));
            case "/async", "/asynchronous" -> !f.inSyncKey() && replica(query, f, false);
            case "/health" -> f.running();
            // a node that gave up (its data belongs to another cluster, ...) is not alive, whatever its last cycle
            case "/liveness" -> f.view().status().role() != io.pgha.Role.FAILED
                    && (f.paused() || f.sinceCycle() <= (f.leader() ? ttlNanos : 2 * ttlNanos));
            case "/readiness" -> f.leader() || f.standbyLeader() || (f.replica() && f.streaming()
                    && f.lag().map(l -> l <= lagParam(query).orElse(maxLag)).orElse(false));
            default -> throw new IllegalArgumentException("not a health check: " + path);
        };
        return ok ? 200 : 503;
    }

    private static boolean replica(Map<String, String> query, NodeFacts f, boolean honourNoloadbalance) {
        if (!f.running() || !f.replica() || f.standbyLeader()) {
            return false; // Patroni: the standby leader answers /standby-leader, /leader and /read-only, not /replica
        }
        if (honourNoloadbalance && f.tags().noloadbalance()) {
            return false;
        }
        Optional<Long> maxLag = lagParam(query);
        if (maxLag.isPresent() && f.lag().map(l -> l > maxLag.get()).orElse(true)) {
            return false;
        }
        String state = query.get("replication_state");
        if (state != null && !(state.equals("streaming") ? f.streaming() : !f.streaming())) {
            return false;
        }
        for (Map.Entry<String, String> e : query.entrySet()) {
            if (e.getKey().startsWith("tag_")) {
                String tag = e.getKey().substring(4);
                String value = tagValue(f, tag);
                if (value == null || !value.equalsIgnoreCase(e.getValue())) {
                    return false;
                }
            }
        }
        return true;
    }

    private static String tagValue(NodeFacts f, String tag) {
        return switch (tag) {
            case "nofailover" -> String.valueOf(f.tags().nofailover());
            case "noloadbalance" -> String.valueOf(f.tags().noloadbalance());
            case "nosync" -> String.valueOf(f.tags().nosync());
            case "clonefrom" -> String.valueOf(f.tags().clonefrom());
            case "failover_priority" -> String.valueOf(f.tags().failoverPriority());
            case "replicatefrom" -> f.tags().replicatefrom().orElse(null);
            default -> f.tags().custom().get(tag);
        };
    }

    /** {@code ?lag=} as bytes: a number, or a number with a PostgreSQL unit (B, kB, MB, GB, TB). */
    static Optional<Long> lagParam(Map<String, String> query) {
        String v = query.get("lag");
        if (v == null) {
            return Optional.empty();
        }
        return Optional.of(parseBytes(v));
    }

    static long parseBytes(String text) {
        String t = text.trim();
        int i = 0;
        while (i < t.length() && (Character.isDigit(t.charAt(i)) || t.charAt(i) == '.')) {
            i++;
        }
        if (i == 0) {
            throw new IllegalArgumentException("lag: not a size: '" + text + "'");
        }
        double n;
        try {
            n = Double.parseDouble(t.substring(0, i));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("lag: not a size: '" + text + "'");
        }
        String unit = t.substring(i).trim().toLowerCase(Locale.ROOT);
        long factor = switch (unit) {
            case "", "b" -> 1;
            case "kb", "k" -> 1024;
            case "mb", "m" -> 1024L * 1024;
            case "gb", "g" -> 1024L * 1024 * 1024;
            case "tb", "t" -> 1024L * 1024 * 1024 * 1024;
            default -> throw new IllegalArgumentException("lag: unknown unit '" + t.substring(i).trim() + "' in '" + text + "'");
        };
        return (long) (n * factor);
    }
}
