package io.pgha.internal.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgha.ConfigurationException;
import io.pgha.spi.Upstream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Patroni's {@code standby_cluster} section of the dynamic configuration: the cluster replicates
 * from a remote primary. Its leader is a <em>standby leader</em> that streams from {@code host}
 * and {@code port} and is never promoted; the other members cascade from it.
 *
 * <p>As in Patroni ({@code global_config.is_standby_cluster}), the section is in force only when it
 * sets {@code host}, {@code port} or {@code restore_command}. {@code host} may list several hosts
 * separated by commas (and {@code port} one port for all or one per host): then the standby leader
 * connects with {@code target_session_attrs=read-write}, so it follows whichever of them is the
 * remote primary, as Patroni does.
 *
 * @param host                   the remote primary's host(s), comma-separated
 * @param port                   its port(s): one for all hosts, or one per host
 * @param primarySlotName        the slot on the remote primary to stream through (created there by its operator)
 * @param createReplicaMethods   how the standby leader's data is first created (Patroni's; pgha runs {@code basebackup})
 * @param restoreCommand         {@code restore_command} for every member of the standby cluster
 * @param archiveCleanupCommand  {@code archive_cleanup_command} for every member
 * @param recoveryMinApplyDelay  {@code recovery_min_apply_delay} for the standby leader
 */
public record StandbyCluster(Optional<String> host, Optional<String> port, Optional<String> primarySlotName,
                             List<String> createReplicaMethods, Optional<String> restoreCommand,
                             Optional<String> archiveCleanupCommand, Optional<String> recoveryMinApplyDelay) {
    /** The keys Patroni reads in {@code standby_cluster}. */
    public static final List<String> KEYS = List.of("host", "port", "primary_slot_name", "create_replica_methods",
            "restore_command", "archive_cleanup_command", "recovery_min_apply_delay");
    /** The member name a remote primary goes by in logs and in {@code pgha.conf} (Patroni: {@code remote_member:<uuid>}). */
    public static final String REMOTE_MEMBER = "remote_member";

    public StandbyCluster {
        Objects.requireNonNull(host);
        Objects.requireNonNull(port);
        Objects.requireNonNull(primarySlotName);
        createReplicaMethods = List.copyOf(createReplicaMethods);
        Objects.requireNonNull(restoreCommand);
        Objects.requireNonNull(archiveCleanupCommand);
        Objects.requireNonNull(recoveryMinApplyDelay);
    }

    /**
     * Reads the section. Empty when it is absent, {@code null}, or sets none of {@code host},
     * {@code port} and {@code restore_command} (not a standby cluster, as in Patroni).
     *
     * @throws ConfigurationException naming the key ({@code standby_cluster.port}, ...) for a value of the wrong shape
     */
    public static Optional<StandbyCluster> parse(JsonNode n) {
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (!n.isObject()) {
            throw new ConfigurationException("standby_cluster", "expected a mapping of " + String.join(", ", KEYS) + ", got " + n);
        }
        Optional<String> host = text(n, "host");
        host.ifPresent(h -> {
            for (String one : h.split(",", -1)) {
                if (!one.trim().matches("[A-Za-z0-9._:\\-\\[\\]%/]+")) {
                    throw new ConfigurationException("standby_cluster.host", "expected a host name or address (several separated by commas), got '"
                            + h + "'");
                }
            }
        });
        Optional<String> port = portValue(n.get("port"));
        if (host.isPresent() && port.isPresent()) {
            int hosts = host.get().split(",").length;
            int ports = port.get().split(",").length;
            if (ports != 1 && ports != hosts) {
                throw new ConfigurationException("standby_cluster.port", "give one port, or one per host (" + hosts + " hosts), got '"
                        + port.get() + "'");
            }
        }
        Optional<String> slot = text(n, "primary_slot_name");
        slot.ifPresent(s -> {
            if (!s.matches("[a-z0-9_]{1,63}")) {
                throw new ConfigurationException("standby_cluster.primary_slot_name", "a slot name is 1 to 63 of a-z, 0-9 and _, got '"
                        + s + "'");
            }
        });
        List<String> methods = new ArrayList<>();
        JsonNode m = n.get("create_replica_methods");
        if (m != null && !m.isNull()) {
            if (!m.isArray()) {
                throw new ConfigurationException("standby_cluster.create_replica_methods", "expected a list of method names, got " + m);
            }
            for (JsonNode x : m) {
                if (!x.isTextual() || x.textValue().isBlank()) {
                    throw new ConfigurationException("standby_cluster.create_replica_methods", "expected a list of method names, got " + m);
                }
                methods.add(x.textValue());
            }
        }
        Optional<String> restore = text(n, "restore_command");
        Optional<String> cleanup = text(n, "archive_cleanup_command");
        Optional<String> delay = Optional.empty();
        JsonNode d = n.get("recovery_min_apply_delay");
        if (d != null && !d.isNull()) {
            if (d.isIntegralNumber() && d.longValue() >= 0) {
                delay = Optional.of(d.longValue() + "ms"); // PostgreSQL's unit for a bare number
            } else if (d.isTextual() && d.textValue().trim().matches("\\d+\\s*(ms|s|min|h|d)?")) {
                delay = Optional.of(d.textValue().trim());
            } else {
                throw new ConfigurationException("standby_cluster.recovery_min_apply_delay",
                        "expected a non-negative duration (milliseconds, or with a unit: ms, s, min, h, d), got " + d);
            }
        }
        if (host.isEmpty() && port.isEmpty() && restore.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new StandbyCluster(host, port, slot, methods, restore, cleanup, delay));
    }

    private static Optional<String> text(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw new ConfigurationException("standby_cluster." + key, "expected a string, got " + v);
        }
        if (v.textValue().indexOf('\n') >= 0 || v.textValue().indexOf('\r') >= 0) {
            throw new ConfigurationException("standby_cluster." + key, "a value cannot contain a line break");
        }
        return v.textValue().isBlank() ? Optional.empty() : Optional.of(v.textValue().trim());
    }

    private static Optional<String> portValue(JsonNode v) {
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        String text = v.isIntegralNumber() ? Long.toString(v.longValue()) : v.isTextual() ? v.textValue().trim() : null;
        if (text != null && !text.isEmpty()) {
            boolean ok = true;
            for (String p : text.split(",", -1)) {
                ok &= p.trim().matches("\\d{1,5}") && Integer.parseInt(p.trim()) >= 1 && Integer.parseInt(p.trim()) <= 65535;
            }
            if (ok) {
                return Optional.of(text.replace(" ", ""));
            }
        }
        throw new ConfigurationException("standby_cluster.port", "expected a port 1-65535 (or one per host, separated by commas), got " + v);
    }

    /** Whether the standby leader streams from the remote primary (not only restores from an archive). */
    public boolean streams() {
        return host.isPresent() || port.isPresent();
    }

    /**
     * The remote primary as an upstream for the standby leader: its address as a {@code conn_url}
     * ({@code postgres://h1:p1,h2:p2/postgres} for several hosts), the slot to stream through, and
     * the recovery settings of the section. Without {@code host} and {@code port} (an archive-only
     * standby cluster) the URL is empty and the standby leader only restores from the archive.
     */
    public Upstream remoteUpstream() {
        String url = "";
        if (streams()) {
            String[] hosts = host.orElse("localhost").split(",");
            String[] ports = port.orElse("5432").split(",");
            StringBuilder sb = new StringBuilder("postgres://");
            for (int i = 0; i < hosts.length; i++) {
                String h = hosts[i].trim();
                if (h.contains(":") && !h.startsWith("[")) {
                    h = "[" + h + "]";
                }
                sb.append(i == 0 ? "" : ",").append(h).append(':').append(ports.length == 1 ? ports[0] : ports[i]);
            }
            url = sb.append("/postgres").toString();
        }
        Map<String, String> recovery = new TreeMap<>(cascadeRecovery());
        recoveryMinApplyDelay.ifPresent(d -> recovery.put("recovery_min_apply_delay", d));
        return Upstream.remote(REMOTE_MEMBER, url, primarySlotName, recovery);
    }

    /** What every member of the standby cluster restores with: {@code restore_command}, {@code archive_cleanup_command}. */
    public Map<String, String> cascadeRecovery() {
        Map<String, String> out = new TreeMap<>();
        restoreCommand.ifPresent(c -> out.put("restore_command", c));
        archiveCleanupCommand.ifPresent(c -> out.put("archive_cleanup_command", c));
        return out;
    }

    /** Where the standby leader replicates from, for logs: {@code host:port} or the archive. */
    public String describe() {
        if (!streams()) {
            return "the archive (restore_command)";
        }
        String[] hosts = host.orElse("localhost").split(",");
        String[] ports = port.orElse("5432").split(",");
        List<String> pairs = new ArrayList<>();
        for (int i = 0; i < hosts.length; i++) {
            pairs.add(hosts[i].trim() + ":" + (ports.length == 1 ? ports[0] : ports[i]));
        }
        return "remote primary " + (pairs.size() == 1 ? pairs.get(0) : "(the writable one of) " + String.join(", ", pairs));
    }
}
