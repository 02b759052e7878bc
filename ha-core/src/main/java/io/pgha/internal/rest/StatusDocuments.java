package io.pgha.internal.rest;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.cluster.HistoryEntry;
import io.pgha.internal.cluster.Member;
import io.pgha.internal.decision.RestartRequest;
import io.pgha.spi.PostgresState;
import io.pgha.spi.ReplicationConnection;
import java.net.URI;
import java.util.Locale;
import java.util.Optional;

/** The JSON and text documents of the REST API, in Patroni's field names. */
final class StatusDocuments {
    private StatusDocuments() {
    }

    /** {@code GET /patroni} (and the body of every health check). */
    static ObjectNode patroni(NodeFacts f) {
        ObjectNode n = ClusterCodec.JSON.createObjectNode();
        Optional<PostgresState> pg = f.pg();
        n.put("state", pg.map(p -> switch (p.runState()) {
            case RUNNING -> "running";
            case STARTING -> "starting";
            case STOPPED -> "stopped";
            case CRASHED -> "crashed";
            case UNINITIALIZED -> "uninitialized";
        }).orElse("unknown"));
        pg.filter(PostgresState::isRunning).flatMap(p -> p.times().postmasterStart())
                .ifPresent(t -> n.put("postmaster_start_time", t.toString()));
        n.put("role", role(f));
        pg.filter(p -> p.serverVersion() > 0).ifPresent(p -> n.put("server_version", p.serverVersion()));
        pg.filter(PostgresState::isRunning).ifPresent(p -> {
            ObjectNode xlog = n.putObject("xlog");
            if (p.inRecovery()) {
                xlog.put("received_location", p.receiveLsn().value());
                xlog.put("replayed_location", p.replayLsn().value());
                if (p.times().lastReplayed().isPresent()) {
                    xlog.put("replayed_timestamp", p.times().lastReplayed().get().toString());
                } else {
                    xlog.putNull("replayed_timestamp");
                }
                xlog.put("paused", p.times().replayPaused());
            } else {
                xlog.put("location", p.writeLsn().value());
            }
            if (p.timeline() > 0) {
                n.put("timeline", p.timeline());
            }
            if (!p.replication().isEmpty()) {
                ArrayNode rows = n.putArray("replication");
                for (ReplicationConnection r : p.replication()) {
                    ObjectNode row = rows.addObject();
                    row.put("application_name", r.applicationName());
                    row.put("state", r.state());
                    row.put("sync_state", r.syncState());
                    row.put("flush_lsn", r.flushLsn().toString());
                    row.put("replay_lsn", r.replayLsn().toString());
                }
            }
            if (p.inRecovery()) {
                n.put("replication_state", p.streaming() ? "streaming" : "in archive recovery");
            }
            if (!p.pendingRestart().isEmpty()) {
                n.put("pending_restart", true);
                ObjectNode reasons = n.putObject("pending_restart_reason");
                p.pendingRestart().forEach(r -> reasons.putObject(r.name()).put("old_value", r.currentValue())
                        .put("new_value", r.newValue()));
            }
        });
        if (f.cluster().map(c -> !c.hasLeader()).orElse(false)) {
            n.put("cluster_unlocked", true);
        }
        if (f.failsafeActive()) {
            n.put("failsafe_mode_is_active", true);
        }
        f.view().status().dcsLastSeen().ifPresent(t -> n.put("dcs_last_seen", t.getEpochSecond()));
        pg.flatMap(PostgresState::systemId).ifPresent(id -> n.put("database_system_identifier", id));
        ObjectNode tags = tagsOf(f);
        if (!tags.isEmpty()) {
            n.set("tags", tags);
        }
        if (f.paused()) {
            n.put("pause", true);
        }
        if (f.replica() && f.inSyncKey()) {
            n.put(f.quorumMode() ? "quorum_standby" : "sync_standby", true);
        }
        // not in Patroni's document: which fences stop this server's writes when the lease runs out
        ObjectNode fence = n.putObject("write_fence");
        fence.put("in_process", true);
        f.view().status().externalFence().ifPresentOrElse(d -> fence.put("external", d), () -> fence.putNull("external"));
        ObjectNode patroni = n.putObject("patroni");
        patroni.put("version", ClusterCodec.VERSION);
        patroni.put("scope", f.scope());
        patroni.put("name", f.name());
        return n;
    }

    /** The restart scheduled on this member, as {@code GET /patroni} shows it (health checks do not). */
    static void addScheduledRestart(ObjectNode doc, RestartRequest r) {
        ObjectNode sr = doc.putObject("scheduled_restart");
        sr.put("schedule", r.schedule().orElseThrow().toString());
        r.role().ifPresent(x -> sr.put("role", x));
        r.postgresVersion().ifPresent(v -> sr.put("postgres_version", v));
        if (r.onlyIfPending()) {
            sr.put("restart_pending", true);
        }
    }

    private static ObjectNode tagsOf(NodeFacts f) {
        ObjectNode t = ClusterCodec.JSON.createObjectNode();
        if (f.tags().nofailover()) {
            t.put("nofailover", true);
        }
        if (f.tags().failoverPriority() != 1) {
            t.put("failover_priority", f.tags().failoverPriority());
        }
        if (f.tags().nosync()) {
            t.put("nosync", true);
        }
        if (f.tags().noloadbalance()) {
            t.put("noloadbalance", true);
        }
        if (f.tags().clonefrom()) {
            t.put("clonefrom", true);
        }
        f.tags().replicatefrom().ifPresent(r -> t.put("replicatefrom", r));
        f.tags().custom().forEach(t::put);
        return t;
    }

    static String role(NodeFacts f) {
        Optional<PostgresState> pg = f.pg();
        if (pg.isEmpty()) {
            return "unknown";
        }
        return switch (f.view().status().role()) {
            case PRIMARY -> "primary";
            case REPLICA -> "replica";
            case STANDBY_LEADER -> "standby_leader";
            case DEMOTING -> "demoted";
            case UNINITIALIZED -> "uninitialized";
            default -> pg.get().inRecovery() ? "replica" : "primary";
        };
    }

    /** {@code GET /cluster}: every member as the store last showed it. */
    static ObjectNode cluster(Cluster c) {
        ObjectNode n = ClusterCodec.JSON.createObjectNode();
        ArrayNode members = n.putArray("members");
        long leaderLsn = c.leaderOptime().orElse(c.leaderMember().map(m -> m.xlogLocation().value()).orElse(0L));
        c.members().values().stream().sorted(java.util.Comparator.comparing(Member::name)).forEach(m -> {
            ObjectNode o = members.addObject();
            o.put("name", m.name());
            boolean isLeader = c.isLeader(m.name());
            boolean sync = c.sync().map(s -> s.standbys().contains(m.name())).orElse(false);
            String syncRole = c.dynamicConfig().synchronousMode().map(io.pgha.SynchronousMode::quorum).orElse(false)
                    ? "quorum_standby" : "sync_standby";
            o.put("role", isLeader ? (m.role().equals("standby_leader") ? "standby_leader" : "leader")
                    : sync ? syncRole : m.role().equals("primary") ? "primary" : "replica");
            o.put("state", isLeader || !"running".equals(m.state()) ? m.state()
                    : m.replicationState().orElse("running"));
            m.apiUrl().ifPresent(u -> o.put("api_url", u));
            hostPort(m.connUrl()).ifPresent(hp -> {
                o.put("host", hp[0]);
                if (!hp[1].isEmpty()) {
                    o.put("port", Integer.parseInt(hp[1]));
                }
            });
            if (m.timeline() > 0) {
                o.put("timeline", m.timeline());
            }
            if (!isLeader) {
                if (leaderLsn > 0 && "running".equals(m.state())) {
                    o.put("lag", Math.max(0, leaderLsn - m.xlogLocation().value()));
                } else {
                    o.put("lag", "unknown");
                }
            }
            if (!m.pendingRestart().isEmpty()) {
                o.put("pending_restart", true);
            }
            ObjectNode tags = ClusterCodec.JSON.createObjectNode();
            if (m.tags().nofailover()) {
                tags.put("nofailover", true);
            }
            m.tags().custom().forEach(tags::put);
            if (!tags.isEmpty()) {
                o.set("tags", tags);
            }
        });
        if (c.dynamicConfig().paused().orElse(false)) {
            n.put("pause", true);
        }
        c.failover().filter(fo -> fo.scheduledAt().isPresent()).ifPresent(fo -> {
            ObjectNode s = n.putObject("scheduled_switchover");
            s.put("at", fo.scheduledAt().get().toString());
            fo.leader().ifPresent(l -> s.put("from", l));
            fo.candidate().ifPresent(t -> s.put("to", t));
        });
        return n;
    }

    private static Optional<String[]> hostPort(String connUrl) {
        try {
            URI u = new URI(connUrl);
            if (u.getHost() == null) {
                return Optional.empty();
            }
            return Optional.of(new String[] {u.getHost(), u.getPort() > 0 ? String.valueOf(u.getPort()) : ""});
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    /** {@code GET /history}. */
    static ArrayNode history(Cluster c) {
        ArrayNode a = ClusterCodec.JSON.createArrayNode();
        for (HistoryEntry h : c.history().entries()) {
            ArrayNode line = a.addArray();
            line.add(h.timeline());
            line.add(h.lsn());
            line.add(h.reason());
            h.timestamp().ifPresentOrElse(line::add, line::addNull);
            h.newLeader().ifPresentOrElse(line::add, line::addNull);
        }
        return a;
    }

    /**
     * A version in Patroni's {@code patroni_version} encoding, {@code major*10000 + minor*100 + patch}:
     * {@code 0.1.0-SNAPSHOT} is 100, {@code 1.2.3} is 10203; a part that is not a number counts 0.
     */
    static int patroniEncoding(String version) {
        String[] parts = version.split("[-+]", 2)[0].split("\\.");
        int v = 0;
        for (int i = 0; i < 3; i++) {
            int n = 0;
            if (i < parts.length) {
                try {
                    n = Math.min(99, Integer.parseInt(parts[i]));
                } catch (NumberFormatException e) {
                    n = 0;
                }
            }
            v = v * 100 + n;
        }
        return v;
    }

    /** {@code GET /metrics}: Patroni's gauges in the Prometheus text format. */
    static String metrics(NodeFacts f) {
        StringBuilder sb = new StringBuilder();
        String labels = "{scope=\"" + escape(f.scope()) + "\",name=\"" + escape(f.name()) + "\"}";
        Optional<PostgresState> pg = f.pg();
        boolean running = f.running();
        gauge(sb, "patroni_version", "pgha version in Patroni's encoding (major*10000 + minor*100 + patch).", labels,
                patroniEncoding(ClusterCodec.VERSION));
        gauge(sb, "patroni_postgres_running", "Value is 1 if Postgres is running, 0 otherwise.", labels, running ? 1 : 0);
        gauge(sb, "patroni_postmaster_start_time", "Epoch seconds since Postgres started (0: unknown).", labels,
                pg.filter(PostgresState::isRunning).flatMap(p -> p.times().postmasterStart()).map(StatusDocuments::epochSeconds).orElse(0.0));
        gauge(sb, "patroni_primary", "Value is 1 if this node is the leader, 0 otherwise.", labels, f.leader() ? 1 : 0);
        gauge(sb, "patroni_xlog_location", "Current location of the Postgres transaction log, 0 if this node is not the leader.", labels,
                f.leader() ? pg.map(p -> p.writeLsn().value()).orElse(0L) : 0);
        gauge(sb, "patroni_standby_leader", "Value is 1 if this node is the standby_leader, 0 otherwise.", labels,
                f.standbyLeader() ? 1 : 0);
        gauge(sb, "patroni_replica", "Value is 1 if this node is a replica, 0 otherwise.", labels, f.replica() ? 1 : 0);
        gauge(sb, "patroni_sync_standby", "Value is 1 if this node is a sync standby, 0 otherwise.", labels,
                f.replica() && f.syncStandby() ? 1 : 0);
        gauge(sb, "patroni_quorum_standby", "Value is 1 if this node is a quorum standby, 0 otherwise.", labels,
                f.replica() && f.quorumStandby() ? 1 : 0);
        gauge(sb, "patroni_xlog_received_location", "Current location of the received Postgres transaction log, 0 if this node is not a replica.",
                labels, f.replica() ? pg.map(p -> p.receiveLsn().value()).orElse(0L) : 0);
        gauge(sb, "patroni_xlog_replayed_location", "Current location of the replayed Postgres transaction log, 0 if this node is not a replica.",
                labels, f.replica() ? pg.map(p -> p.replayLsn().value()).orElse(0L) : 0);
        gauge(sb, "patroni_xlog_replayed_timestamp", "Current timestamp of the replayed Postgres transaction log, 0 if null.", labels,
                pg.filter(PostgresState::isRunningReplica).flatMap(p -> p.times().lastReplayed()).map(StatusDocuments::epochSeconds).orElse(0.0));
        gauge(sb, "patroni_xlog_paused", "Value is 1 if the Postgres xlog is paused, 0 otherwise.", labels,
                pg.filter(PostgresState::isRunningReplica).map(p -> p.times().replayPaused() ? 1 : 0).orElse(0));
        gauge(sb, "patroni_postgres_streaming", "Value is 1 if Postgres is streaming, 0 otherwise.", labels, f.streaming() ? 1 : 0);
        gauge(sb, "patroni_postgres_in_archive_recovery", "Value is 1 if Postgres is replicating from archive, 0 otherwise.", labels,
                f.replica() && !f.streaming() ? 1 : 0);
        gauge(sb, "patroni_postgres_server_version", "Version of Postgres (if running), 0 otherwise.", labels,
                running ? pg.map(PostgresState::serverVersion).orElse(0) : 0);
        gauge(sb, "patroni_cluster_unlocked", "Value is 1 if the cluster is unlocked, 0 if locked.", labels,
                f.cluster().map(c -> c.hasLeader() ? 0 : 1).orElse(0));
        gauge(sb, "pgha_external_fence", "Value is 1 if an out-of-process fence stops Postgres writes when this JVM freezes past its lease, 0 otherwise.",
                labels, f.view().status().externalFence().isPresent() ? 1 : 0);
        gauge(sb, "patroni_failsafe_mode_is_active", "Value is 1 if failsafe mode is active, 0 if inactive.", labels,
                f.failsafeActive() ? 1 : 0);
        gauge(sb, "patroni_postgres_timeline", "Postgres timeline of this node (if running), 0 otherwise.", labels,
                running ? pg.map(PostgresState::timeline).orElse(0) : 0);
        gauge(sb, "patroni_dcs_last_seen", "Epoch timestamp when DCS was last contacted successfully.", labels,
                f.view().status().dcsLastSeen().map(java.time.Instant::getEpochSecond).orElse(0L));
        gauge(sb, "patroni_pending_restart", "Value is 1 if the node needs a restart, 0 otherwise.", labels,
                running && !pg.map(PostgresState::pendingRestart).orElse(java.util.List.of()).isEmpty() ? 1 : 0);
        gauge(sb, "patroni_is_paused", "Value is 1 if auto failover is disabled, 0 otherwise.", labels, f.paused() ? 1 : 0);
        return sb.toString();
    }

    private static void gauge(StringBuilder sb, String name, String help, String labels, long value) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(" gauge\n");
        sb.append(name).append(labels).append(' ').append(String.format(Locale.ROOT, "%d", value)).append('\n');
    }

    /** Patroni writes times as epoch seconds with a fraction. */
    private static void gauge(StringBuilder sb, String name, String help, String labels, double value) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(" gauge\n");
        sb.append(name).append(labels).append(' ').append(String.format(Locale.ROOT, "%.3f", value)).append('\n');
    }

    private static double epochSeconds(java.time.Instant t) {
        return t.getEpochSecond() + t.getNano() / 1e9;
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
