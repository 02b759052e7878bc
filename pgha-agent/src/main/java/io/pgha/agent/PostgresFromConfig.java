package io.pgha.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgha.ConfigurationException;
import io.pgha.agent.config.AgentConfig;
import io.pgha.agent.config.Secret;
import io.pgha.postgres.BootstrapMethod;
import io.pgha.postgres.PgController;
import io.pgha.postgres.ReplicaMethod;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/** Maps Patroni's {@code postgresql} and {@code bootstrap} sections onto pg-driver's builder. */
final class PostgresFromConfig {
    /** Settings pg-driver controls itself; a value for them in the file is reported and ignored. */
    /** Patroni's values for the settings every member shares, where it has one. */
    private static final Map<String, String> PATRONI_SHARED_DEFAULTS = Map.ofEntries(Map.entry("max_connections", "100"),
            Map.entry("wal_level", "replica"), Map.entry("hot_standby", "on"), Map.entry("max_wal_senders", "10"),
            Map.entry("wal_keep_size", "128MB"), Map.entry("max_prepared_transactions", "0"),
            Map.entry("max_locks_per_transaction", "64"), Map.entry("track_commit_timestamp", "off"),
            Map.entry("max_replication_slots", "10"), Map.entry("max_worker_processes", "8"), Map.entry("wal_log_hints", "on"));

    private PostgresFromConfig() {
    }

    static PgController build(AgentConfig c, Consumer<String> warn) {
        return builder(c, warn).build();
    }

    /** The builder {@link #build} builds; a reload hands it to {@link PgController#reconfigure} unbuilt. */
    static PgController.Builder builder(AgentConfig c, Consumer<String> warn) {
        AgentConfig.Postgresql p = c.postgresql();
        PgController.Builder b = PgController.builder()
                .name(c.name())
                .dataDirectory(p.dataDir())
                .listenAddresses(String.join(",", p.listen().hosts()))
                .port(p.listen().port())
                .connectHost(p.connectAddress().host());
        if (p.connectAddress().port() != p.listen().port()) {
            throw new ConfigurationException("postgresql.connect_address", "the port (" + p.connectAddress().port()
                    + ") must be the listen port (" + p.listen().port() + "): pgha does not support a port-forwarding proxy here");
        }
        p.binDir().ifPresent(b::binDirectory);
        p.pgpass().ifPresent(b::passFile);
        b.scope(c.scope());
        c.bootstrap().method().ifPresent(m -> b.bootstrapMethod(new BootstrapMethod(m.name(),
                ShellWords.split("bootstrap." + m.name() + ".command", m.command()), m.noParams(), m.recoveryConf(),
                m.keepExistingRecoveryConf())));
        c.bootstrap().postBootstrap().ifPresent(cmd -> b.postBootstrap(ShellWords.split("bootstrap.post_bootstrap", cmd)));
        if (!p.pgIdent().isEmpty()) {
            b.ident(p.pgIdent());
        }
        if (!p.recoveryConf().isEmpty()) {
            b.recoveryConf(p.recoveryConf());
        }
        if (!p.createReplicaMethods().isEmpty()) {
            b.replicaMethods(p.createReplicaMethods().stream().map(m -> m.command().isEmpty()
                    ? ReplicaMethod.basebackup(m.options())
                    : new ReplicaMethod(m.name(), ShellWords.split("postgresql." + m.name() + ".command", m.command().get()),
                            m.options(), m.keepData(), m.noParams(), m.noLeader())).toList());
        }
        AgentConfig.Credentials su = p.superuser().orElse(new AgentConfig.Credentials("postgres", Optional.empty()));
        if (su.password().isPresent()) {
            b.superuser(su.username(), su.password().get().revealString());
        } else {
            // as Patroni without a password: the local socket; no password is ever made up from another secret
            warn.accept("postgresql.authentication.superuser: no password; pgha reaches its own server as '" + su.username()
                    + "' over the local socket (peer authentication, added to pg_hba.conf and pg_ident.conf)"
                    + (p.rewind().isEmpty() ? "; pg_rewind cannot log in to a leader without postgresql.authentication.rewind,"
                    + " so a diverged former primary is not rewound" : ""));
            b.superuser(su.username());
        }
        if (p.useUnixSocket()) {
            b.useUnixSocket(true);
        }
        b.replicationUser(p.replication().username(), password("postgresql.authentication.replication.password", p.replication()));
        p.rewind().ifPresent(r -> b.rewindUser(r.username(), password("postgresql.authentication.rewind.password", r)));
        // Patroni's postgresql.authentication.<role>.ssl*: the TLS keys of pgha's connections as that role
        ssl(b, "superuser", su);
        ssl(b, "replication", p.replication());
        p.rewind().ifPresent(r -> ssl(b, "rewind", r));
        for (String opt : c.bootstrap().initdb()) {
            String k = opt.contains("=") ? opt.substring(2, opt.indexOf('=')) : opt.substring(2);
            String v = opt.contains("=") ? opt.substring(opt.indexOf('=') + 1) : "";
            switch (k) {
                case "encoding", "E" -> b.encoding(v);
                case "locale" -> b.locale(v);
                case "data-checksums", "k" -> b.dataChecksums(true);
                case "auth-method", "auth", "auth-host", "auth-local" -> warn.accept("bootstrap.initdb." + k
                        + ": pgha stores SCRAM passwords and writes pg_hba.conf itself (bootstrap.pg_hba); ignored");
                default -> warn.accept("bootstrap.initdb." + k + ": not supported by pgha, ignored");
            }
        }
        // as in Patroni: the member's own postgresql.pg_hba wins over the cluster's dynamic one, which
        // wins over bootstrap.pg_hba
        if (!p.pgHba().isEmpty()) {
            b.hba(p.pgHba());
        }
        if (!c.bootstrap().pgHba().isEmpty()) {
            b.bootstrapHba(c.bootstrap().pgHba());
        }
        for (AgentConfig.User u : c.bootstrap().users().values()) {
            b.bootstrapUser(u.name(), u.password().revealString(), u.options());
        }
        // bootstrap.dcs.postgresql.parameters are the cluster's dynamic ones: the engine hands them
        // over (and later edits of the config key); only the member's own go to the builder
        JsonNode dynamicPg = c.bootstrap().dcs().path("postgresql");
        List<String> ignored = new ArrayList<>();
        List<String> shared = new ArrayList<>();
        p.parameters().forEach((k, v) -> {
            if (k.equals("unix_socket_directories")) {
                b.unixSocketDirectories(v);
            } else if (PgController.MANAGED_SETTINGS.contains(k)) {
                ignored.add(k);
            } else if (PgController.SHARED_SETTINGS.contains(k)) {
                if (!v.equalsIgnoreCase(PATRONI_SHARED_DEFAULTS.getOrDefault(k, v + "?"))) {
                    shared.add(k);
                }
            } else {
                b.parameter(k, v);
            }
        });
        if (!ignored.isEmpty()) {
            warn.accept("postgresql.parameters " + ignored + ": managed by pgha, ignored");
        }
        if (!shared.isEmpty()) {
            warn.accept("postgresql.parameters " + shared + ": every member must share these, so (as in Patroni) they are taken"
                    + " only from the dynamic configuration (bootstrap.dcs.postgresql.parameters, or pghactl edit-config);"
                    + " the local values are ignored");
        }
        if (dynamicPg.has("use_slots")) {
            b.useReplicationSlots(dynamicPg.get("use_slots").asBoolean(true));
        }
        b.removeDataDirectoryOnRewindFailure(p.removeDataDirectoryOnRewindFailure());
        return b;
    }

    private static String password(String setting, AgentConfig.Credentials c) {
        return c.password().map(Secret::revealString)
                .orElseThrow(() -> new ConfigurationException(setting, "is required for user '" + c.username() + "'"));
    }

    private static void ssl(PgController.Builder b, String role, AgentConfig.Credentials c) {
        c.ssl().forEach((k, v) -> b.ssl(role, k, v));
        c.sslPassword().ifPresent(pw -> b.ssl(role, "sslpassword", pw.revealString()));
    }
}
