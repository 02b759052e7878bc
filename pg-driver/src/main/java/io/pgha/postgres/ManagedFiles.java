package io.pgha.postgres;

import io.pgha.spi.SynchronousStandbys;
import io.pgha.spi.Upstream;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import io.pgha.spi.support.WarnOnce;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files pgha owns. Server settings go to {@code pgha.conf} in the data directory, included by
 * the last line of {@code postgresql.conf}: pgha rewrites its own file freely and never touches
 * what a user put in {@code postgresql.conf} (above the include, so pgha's values win) or set with
 * ALTER SYSTEM ({@code postgresql.auto.conf} wins over both, as always in PostgreSQL).
 * {@code pgha.conf} also records the role pgha gave the server (upstream, synchronous standbys), so a
 * restarted JVM reads it back. The include is relative, so the file travels with pg_basebackup and
 * pg_rewind copies and is rewritten for the receiving member afterwards. The pass file lives outside
 * the data directory, so no copy or backup of the data carries passwords.
 */
final class ManagedFiles {
    static final String CONF = "pgha.conf";
    /** The pg_ident map that lets the JVM's and the server's users log in as a password-less superuser. */
    static final String SUPERUSER_MAP = "pgha_superuser";
    static final String UPSTREAM_MEMBER = "pgha.upstream_member";
    static final String UPSTREAM_URL = "pgha.upstream_url";
    /** A standby cluster's remote primary: {@code on} when the upstream is one. */
    static final String UPSTREAM_REMOTE = "pgha.upstream_remote";
    static final String UPSTREAM_SLOT = "pgha.upstream_slot";
    /** The recovery settings that came with the upstream, each under this prefix, so a restarted JVM reads the role back whole. */
    static final String UPSTREAM_RECOVERY = "pgha.upstream_recovery_";
    private static final Pattern INCLUDE = Pattern.compile("(?m)^\\s*include\\s*=?\\s*'pgha\\.conf'");

    /** The role pgha wants the server to have; what {@code pgha.conf} encodes beyond the fixed settings. */
    record Role(Optional<Upstream> upstream, SynchronousStandbys sync) {
        static final Role PRIMARY = new Role(Optional.empty(), SynchronousStandbys.NONE);

        Role withSync(SynchronousStandbys s) {
            return new Role(upstream, s);
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(ManagedFiles.class);

    private final PgConfig cfg;
    private final Fs fs;
    private final Path data;
    private final WarnOnce warnOnce = new WarnOnce(LOG, 256);
    /** The cluster's dynamic postgresql.parameters, as last handed over; layered under the member's own. */
    private volatile Map<String, String> dynamicParameters = Map.of();
    private volatile Optional<List<String>> dynamicHba = Optional.empty();
    private volatile Optional<List<String>> dynamicIdent = Optional.empty();
    private volatile Map<String, String> dynamicRecovery = Map.of();
    /** A restore's recovery settings (bootstrap method's recovery_conf), written only until its recovery ends. */
    private volatile Map<String, String> bootstrapRecovery = Map.of();
    /** The member's own settings: the builder's, until a re-read configuration replaces them. */
    private volatile OwnSettings own;
    /** Settings the last pgha.conf raised to pg_control's values (a standby below its primary), with the configured value. */
    private volatile Map<String, String> raisedFromConfigured = Map.of();
    /** A standby holding copies of permanent logical slots runs with hot_standby_feedback on, whatever is configured. */
    private volatile boolean enforceHotStandbyFeedback;
    /** The recovery settings a member or the cluster may give (Patroni's recovery_conf); the rest pgha sets itself. */
    static final java.util.Set<String> RECOVERY_SETTINGS = java.util.Set.of("restore_command", "archive_cleanup_command",
            "recovery_end_command", "recovery_min_apply_delay");

    ManagedFiles(PgConfig cfg, Fs fs) {
        this.cfg = cfg;
        this.fs = fs;
        this.data = cfg.dataDirectory();
        this.own = OwnSettings.of(cfg);
    }

    void setBootstrapRecovery(Map<String, String> settings) {
        this.bootstrapRecovery = Map.copyOf(settings);
    }

    OwnSettings ownSettings() {
        return own;
    }

    void setOwnSettings(OwnSettings settings) {
        this.own = settings;
    }

    Path passFile() {
        return cfg.passFile().orElse(cfg.workDirectory().resolve("pgpass"));
    }

    Path serverLog() {
        return cfg.workDirectory().resolve("postgresql.log");
    }

    /** Whether the server must run with {@code hot_standby_feedback} on (Patroni enforces it on a replica with logical slots); whether that changed. */
    boolean setEnforceHotStandbyFeedback(boolean on) {
        boolean changed = enforceHotStandbyFeedback != on;
        enforceHotStandbyFeedback = on;
        return changed;
    }

    void setDynamicParameters(Map<String, String> parameters) {
        this.dynamicParameters = Map.copyOf(parameters);
    }

    /**
     * Settings the server runs with above their configured value because pg_control demanded it
     * (Patroni reports them as pending a restart); name to the configured value.
     */
    Map<String, String> raisedFromConfigured() {
        return raisedFromConfigured;
    }

    /** The cluster's dynamic recovery_conf. */
    void setDynamicRecovery(Map<String, String> recovery) {
        this.dynamicRecovery = Map.copyOf(recovery);
    }

    /** The cluster's dynamic pg_hba and pg_ident lines, when it sets them. */
    void setDynamicAccess(Optional<List<String>> hba, Optional<List<String>> ident) {
        this.dynamicHba = hba.map(List::copyOf);
        this.dynamicIdent = ident.map(List::copyOf);
    }

    /**
     * Writes pgha.conf and pg_hba.conf and makes sure postgresql.conf includes pgha.conf; returns
     * whether pgha.conf changed.
     *
     * @param standbyControlData for a standby, pg_control's values (the primary's settings it must
     *                           match at least); empty for a primary
     */
    boolean writeServerFiles(Role role, Map<String, String> standbyControlData) {
        Path conf = data.resolve(CONF);
        String text = renderConf(role, standbyControlData);
        boolean changed;
        try {
            changed = !Files.exists(conf) || !Files.readString(conf, StandardCharsets.UTF_8).equals(text);
        } catch (IOException e) {
            changed = true;
        }
        fs.write(conf, text);
        changed |= writeIfChanged(data.resolve("pg_hba.conf"), renderHba());
        Optional<List<String>> ident = own.ident().or(() -> dynamicIdent);
        if (ident.isPresent() || !cfg.superuser().hasPassword()) {
            changed |= writeIfChanged(data.resolve("pg_ident.conf"), renderIdent());
        }
        ensureInclude();
        return changed;
    }

    String renderConf(Role role) {
        return renderConf(role, Map.of());
    }

    String renderConf(Role role, Map<String, String> standbyControlData) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("listen_addresses", cfg.listenAddresses());
        s.put("port", Integer.toString(cfg.port()));
        s.put("unix_socket_directories", cfg.serverSocketDirectories());
        s.put("cluster_name", cfg.name());
        s.put("password_encryption", "scram-sha-256");
        s.put("wal_level", "replica");
        s.put("hot_standby", "on");
        s.put("max_wal_senders", "10");
        s.put("max_replication_slots", "10");
        // pg_rewind needs the WAL since the last common checkpoint on both sides
        s.put("wal_keep_size", "128MB");
        // bounds what a slot can pin: a departed member's is kept for member_slots_ttl before pgha drops it
        s.put("max_slot_wal_keep_size", "1GB");
        // pg_rewind needs hint-bit changes WAL-logged (data checksums do that too)
        s.put("wal_log_hints", "on");
        // a standby whose stream broke retries after this (PostgreSQL's default is 5 s)
        s.put("wal_retrieve_retry_interval", "1s");
        ServerParameters.Layered layered = ServerParameters.layer(s, dynamicParameters, own.parameters(), ServerParameters.OWNED,
                standbyControlData);
        layered.problems().forEach(p -> warnOnce.warn(p, "{}: {}", cfg.name(), p));
        raisedFromConfigured = Map.copyOf(layered.raisedFrom());
        s.clear();
        s.putAll(layered.values());
        if (enforceHotStandbyFeedback) {
            // the primary holds back the catalog_xmin of the logical slots this standby copied only
            // through this standby's feedback: without it a copy may be unusable after a failover
            s.put("hot_standby_feedback", "on");
        }
        Map<String, String> recovery = new java.util.TreeMap<>(dynamicRecovery);
        recovery.putAll(own.recovery());
        recovery.forEach((k, v) -> {
            if (!RECOVERY_SETTINGS.contains(k)) {
                String p = "postgresql.recovery_conf." + k + ": pgha sets it itself (or it is no recovery setting); not written";
                warnOnce.warn(p, "{}: {}", cfg.name(), p);
            } else if (v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0) {
                String p = "postgresql.recovery_conf." + k + ": a value cannot contain a line break; not written";
                warnOnce.warn(p, "{}: {}", cfg.name(), p);
            } else {
                s.put(k, v);
            }
        });
        // a standby cluster's settings (its restore_command, the standby leader's recovery_min_apply_delay) win
        role.upstream().map(Upstream::recoverySettings).orElse(Map.of()).forEach((k, v) -> {
            if (RECOVERY_SETTINGS.contains(k) && v.indexOf('\n') < 0 && v.indexOf('\r') < 0) {
                s.put(k, v);
            }
        });
        s.put("recovery_target_timeline", "latest");
        // a point-in-time restore's targets, for its first recovery only (they go once it has ended)
        s.putAll(bootstrapRecovery);
        s.put("primary_conninfo", role.upstream().filter(u -> !u.connectionUrl().isEmpty()).map(this::primaryConninfo).orElse(""));
        s.put("primary_slot_name", role.upstream().map(this::slotOnUpstream).orElse(""));
        s.put("synchronous_standby_names", role.sync().toSetting());
        s.put(UPSTREAM_MEMBER, role.upstream().map(Upstream::member).orElse(""));
        s.put(UPSTREAM_URL, role.upstream().map(Upstream::connectionUrl).orElse(""));
        role.upstream().filter(Upstream::remote).ifPresent(u -> {
            s.put(UPSTREAM_REMOTE, "on");
            s.put(UPSTREAM_SLOT, u.primarySlotName().orElse(""));
        });
        role.upstream().map(Upstream::recoverySettings).orElse(Map.of()).forEach((k, v) -> {
            if (RECOVERY_SETTINGS.contains(k) && v.indexOf('\n') < 0 && v.indexOf('\r') < 0) {
                s.put(UPSTREAM_RECOVERY + k, v);
            }
        });

        StringBuilder sb = new StringBuilder();
        sb.append("# Written by pgha for member '").append(cfg.name()).append("'. Rewritten on every start, follow,\n")
                .append("# promote, rewind, synchronous-standby change and change of the cluster's postgresql.parameters:\n")
                .append("# edits here are lost. Put settings in the dynamic configuration (pghactl edit-config), in the\n")
                .append("# builder's parameter(), or in postgresql.conf above the include line.\n");
        s.forEach((k, v) -> sb.append(k).append(" = ").append(Gucs.quote(v)).append('\n'));
        return sb.toString();
    }

    /**
     * The slot this member streams through on {@code up}: its own (named after it) on a member of
     * this cluster when slots are used; on a standby cluster's remote primary, the
     * {@code primary_slot_name} of {@code standby_cluster} or none, as in Patroni.
     */
    String slotOnUpstream(Upstream up) {
        if (up.remote()) {
            return up.primarySlotName().orElse("");
        }
        return cfg.useReplicationSlots() ? cfg.slotName() : "";
    }

    /** No password inline: the walreceiver reads it from the pass file. */
    String primaryConninfo(Upstream up) {
        ConnUrl u = ConnUrl.parse(up.connectionUrl());
        return u.conninfoHosts()
                + " user=" + Gucs.conninfoValue(cfg.replicationUser().name())
                + " passfile=" + Gucs.conninfoValue(passFile().toString())
                + " application_name=" + Gucs.conninfoValue(cfg.name())
                + " connect_timeout=5"
                + cfg.replicationUser().ssl().conninfo(Optional.of(cfg.replicationUser().serviceName()));
    }

    /**
     * The member's own lines win, then the cluster's dynamic ones, then the bootstrap (default) ones,
     * as in Patroni. A password-less superuser's own way in comes first, so no line of the
     * operator's can shadow it.
     */
    String renderHba() {
        List<String> lines = new ArrayList<>();
        if (!cfg.superuser().hasPassword()) {
            lines.add("# pgha: the superuser has no password; pgha reaches it over the local socket (pg_ident map " + SUPERUSER_MAP + ")");
            lines.add("local   all   " + cfg.superuser().name() + "   peer map=" + SUPERUSER_MAP);
        }
        lines.addAll(own.hba().or(() -> dynamicHba).orElse(cfg.hba()));
        return renderLines("pg_hba.conf", lines);
    }

    /** Like {@link #renderHba()}: the operator's lines, after the map of a password-less superuser. */
    String renderIdent() {
        List<String> lines = new ArrayList<>();
        if (!cfg.superuser().hasPassword()) {
            // the JVM's user (pgha's own connections) and the server's (post_bootstrap and callbacks run as it)
            for (String os : new java.util.LinkedHashSet<>(List.of(cfg.jvmUser(), cfg.runAsUser().orElse(cfg.jvmUser())))) {
                lines.add(SUPERUSER_MAP + "   " + os + "   " + cfg.superuser().name());
            }
        }
        lines.addAll(own.ident().or(() -> dynamicIdent).orElse(List.of()));
        return renderLines("pg_ident.conf", lines);
    }

    private String renderLines(String file, List<String> lines) {
        StringBuilder sb = new StringBuilder();
        sb.append("# ").append(file).append(" written by pgha for member '").append(cfg.name())
                .append("': its own postgresql settings, else the cluster's (pghactl edit-config), else bootstrap's.\n");
        for (String line : lines) {
            sb.append(line).append('\n');
        }
        return sb.toString();
    }

    private boolean writeIfChanged(Path file, String text) {
        try {
            if (Files.exists(file) && Files.readString(file, StandardCharsets.UTF_8).equals(text)) {
                return false;
            }
        } catch (IOException e) {
            // unreadable: write it anew
        }
        fs.write(file, text);
        return true;
    }

    static List<String> defaultHba() {
        return List.of(
                "local   all           all                  peer",
                "host    all           all        all       scram-sha-256",
                "host    replication   all        all       scram-sha-256");
    }

    /** {@code *:*:*:user:password} lines; libpq picks the first line whose user matches. */
    void writePassFile() {
        StringBuilder sb = new StringBuilder();
        Map<String, String> byUser = new LinkedHashMap<>();
        byUser.putIfAbsent(cfg.replicationUser().name(), cfg.replicationUser().password());
        cfg.rewindUser().ifPresent(u -> byUser.putIfAbsent(u.name(), u.password()));
        if (cfg.superuser().hasPassword()) {
            byUser.putIfAbsent(cfg.superuser().name(), cfg.superuser().password());
        }
        byUser.forEach((u, p) -> sb.append("*:*:*:").append(passEscape(u)).append(':').append(passEscape(p)).append('\n'));
        fs.write(passFile(), sb.toString(), Fs.FILE_600);
        writeServiceFile();
    }

    /**
     * pgha's libpq service file (PGSERVICEFILE for every program pgha runs, and so for the
     * postmaster and its walreceiver): the only place a client key's passphrase ({@code sslpassword})
     * is written, one {@code [pgha_<role>]} section per role that has one, named by {@code service=}
     * in the role's connection strings. libpq has no environment variable and no file of its own for
     * it; Patroni writes it into {@code primary_conninfo}, which pgha does not (any reader of the
     * settings would see it).
     */
    Path serviceFile() {
        return cfg.workDirectory().resolve("pg_service.conf");
    }

    void writeServiceFile() {
        StringBuilder sb = new StringBuilder("# written by pgha: the passphrases of the client keys of pgha's roles (sslpassword)\n");
        java.util.Set<String> done = new java.util.HashSet<>();
        for (PgUser u : List.of(cfg.superuser(), cfg.replicationUser(), cfg.rewindRole())) {
            if (u.ssl().password().isPresent() && done.add(u.serviceName())) {
                sb.append('[').append(u.serviceName()).append("]\n").append("sslpassword=").append(u.ssl().password().get()).append('\n');
            }
        }
        fs.write(serviceFile(), sb.toString(), Fs.FILE_600);
    }

    private static String passEscape(String s) {
        return s.replace("\\", "\\\\").replace(":", "\\:");
    }

    void ensureInclude() {
        Path conf = data.resolve("postgresql.conf");
        try {
            String text = Files.exists(conf) ? Files.readString(conf, StandardCharsets.UTF_8) : "";
            if (!INCLUDE.matcher(text).find()) {
                String sep = text.isEmpty() || text.endsWith("\n") ? "" : "\n";
                fs.write(conf, text + sep + "\n# pgha: its managed settings; keep this the last line so they win\ninclude 'pgha.conf'\n");
            }
        } catch (IOException e) {
            throw new DataDirectoryException("cannot read " + conf + ": " + e.getMessage(), e);
        }
    }

    /** The role recorded in pgha.conf; {@link Role#PRIMARY} when there is none. */
    Role readRole() {
        Path conf = data.resolve(CONF);
        if (!Files.exists(conf)) {
            return Role.PRIMARY;
        }
        try {
            Map<String, String> v = Gucs.readQuoted(Files.readString(conf, StandardCharsets.UTF_8));
            String member = v.getOrDefault(UPSTREAM_MEMBER, "");
            String url = v.getOrDefault(UPSTREAM_URL, "");
            boolean remote = "on".equals(v.get(UPSTREAM_REMOTE));
            Map<String, String> recovery = new java.util.TreeMap<>();
            v.forEach((k, x) -> {
                if (k.startsWith(UPSTREAM_RECOVERY)) {
                    recovery.put(k.substring(UPSTREAM_RECOVERY.length()), x);
                }
            });
            String slot = v.getOrDefault(UPSTREAM_SLOT, "");
            Optional<Upstream> up = member.isEmpty() || (url.isEmpty() && !remote) ? Optional.empty()
                    : Optional.of(remote ? Upstream.remote(member, url, slot.isEmpty() ? Optional.empty() : Optional.of(slot), recovery)
                            : new Upstream(member, url).withRecoverySettings(recovery));
            return new Role(up, SyncNames.parse(v.getOrDefault("synchronous_standby_names", "")));
        } catch (IOException e) {
            throw new DataDirectoryException("cannot read " + conf + ": " + e.getMessage(), e);
        }
    }

    boolean hasStandbySignal() {
        return Files.exists(data.resolve("standby.signal"));
    }

    void writeRecoverySignal() {
        fs.write(data.resolve("recovery.signal"), "");
    }

    void writeStandbySignal() {
        fs.write(data.resolve("standby.signal"), "");
    }

    void removeRecoverySignals() {
        try {
            Files.deleteIfExists(data.resolve("standby.signal"));
            Files.deleteIfExists(data.resolve("recovery.signal"));
        } catch (IOException e) {
            throw new DataDirectoryException("cannot remove the recovery signal files: " + e.getMessage(), e);
        }
    }
}
