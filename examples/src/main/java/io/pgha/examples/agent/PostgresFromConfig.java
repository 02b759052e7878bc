package io.pgha.examples.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgha.ConfigurationException;
import io.pgha.internal.config.AgentConfig;
import io.pgha.internal.config.Secret;
import io.pgha.postgres.PgController;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/** Maps Patroni's {@code postgresql} and {@code bootstrap} sections onto pg-driver's builder. */
final class PostgresFromConfig {
    /** Settings pg-driver controls itself; a value for them in the file is reported and ignored. */
    private static final Set<String> DRIVER_OWNED = Set.of("port", "listen_addresses", "unix_socket_directories", "cluster_name",
            "primary_conninfo", "primary_slot_name", "recovery_target_timeline", "synchronous_standby_names", "hot_standby",
            "data_directory", "config_file", "hba_file", "ident_file");

    private PostgresFromConfig() {
    }

    static PgController build(AgentConfig c, Consumer<String> warn) {
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
        Path work = p.dataDir().resolveSibling(p.dataDir().getFileName() + ".pgha");
        AgentConfig.Credentials su = p.superuser().orElseGet(() -> {
            warn.accept("postgresql.authentication.superuser: not set; using 'postgres' with a generated password kept in " + work);
            return new AgentConfig.Credentials("postgres", Optional.of(generatedPassword(work)));
        });
        b.superuser(su.username(), password("postgresql.authentication.superuser.password", su));
        b.replicationUser(p.replication().username(), password("postgresql.authentication.replication.password", p.replication()));
        p.rewind().ifPresent(r -> b.rewindUser(r.username(), password("postgresql.authentication.rewind.password", r)));
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
        if (!c.bootstrap().pgHba().isEmpty()) {
            b.hba(c.bootstrap().pgHba());
        }
        if (!p.pgHba().isEmpty()) {
            b.hba(p.pgHba());
        }
        for (AgentConfig.User u : c.bootstrap().users().values()) {
            b.bootstrapUser(u.name(), u.password().revealString(), u.options());
        }
        Map<String, String> params = new LinkedHashMap<>();
        JsonNode dynamicPg = c.bootstrap().dcs().path("postgresql");
        dynamicPg.path("parameters").properties().forEach(e -> params.put(e.getKey(), e.getValue().asText()));
        params.putAll(p.parameters());
        List<String> ignored = new ArrayList<>();
        params.forEach((k, v) -> {
            if (DRIVER_OWNED.contains(k)) {
                ignored.add(k);
            } else {
                b.parameter(k, v);
            }
        });
        if (!ignored.isEmpty()) {
            warn.accept("postgresql.parameters " + ignored + ": managed by pgha, ignored");
        }
        if (dynamicPg.has("use_slots")) {
            b.useReplicationSlots(dynamicPg.get("use_slots").asBoolean(true));
        }
        b.removeDataDirectoryOnRewindFailure(p.removeDataDirectoryOnRewindFailure());
        return b.build();
    }

    private static String password(String setting, AgentConfig.Credentials c) {
        return c.password().map(Secret::revealString)
                .orElseThrow(() -> new ConfigurationException(setting, "is required for user '" + c.username() + "'"));
    }

    /** A superuser password made once per node and kept beside the data directory (mode 0600). */
    private static Secret generatedPassword(Path work) {
        Path file = work.resolve("agent-superuser.password");
        try {
            if (Files.exists(file)) {
                return new Secret(Files.readString(file, StandardCharsets.UTF_8).strip());
            }
            Files.createDirectories(work);
            byte[] raw = new byte[24];
            new SecureRandom().nextBytes(raw);
            String pw = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
            Files.writeString(file, pw + "\n", StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            return new Secret(pw);
        } catch (IOException e) {
            throw new ConfigurationException("postgresql.authentication.superuser", "cannot keep a generated password in " + file
                    + ": " + e.getMessage());
        }
    }
}
