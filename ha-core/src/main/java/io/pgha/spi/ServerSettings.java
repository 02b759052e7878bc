package io.pgha.spi;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The cluster's dynamic settings for every member's PostgreSQL, from the {@code config} key
 * (Patroni's {@code postgresql.parameters}, {@code postgresql.pg_hba}, {@code postgresql.pg_ident},
 * {@code postgresql.recovery_conf}).
 *
 * @param parameters   server settings by name, as PostgreSQL setting strings
 * @param pgHba        the lines of {@code pg_hba.conf}, if the cluster sets them
 * @param pgIdent      the lines of {@code pg_ident.conf}, if the cluster sets them
 * @param recoveryConf a standby's recovery settings ({@code restore_command}, ...)
 */
public record ServerSettings(Map<String, String> parameters, Optional<List<String>> pgHba, Optional<List<String>> pgIdent,
                             Map<String, String> recoveryConf) {
    /** No dynamic settings. */
    public static final ServerSettings NONE = new ServerSettings(Map.of(), Optional.empty(), Optional.empty(), Map.of());

    public ServerSettings {
        parameters = Map.copyOf(Objects.requireNonNull(parameters, "parameters"));
        recoveryConf = Map.copyOf(Objects.requireNonNull(recoveryConf, "recoveryConf"));
        pgHba = Objects.requireNonNull(pgHba, "pgHba").map(List::copyOf);
        pgIdent = Objects.requireNonNull(pgIdent, "pgIdent").map(List::copyOf);
    }

    /** Only parameters. */
    public static ServerSettings ofParameters(Map<String, String> parameters) {
        return new ServerSettings(parameters, Optional.empty(), Optional.empty(), Map.of());
    }

    /** Whether there is anything to apply. */
    public boolean isEmpty() {
        return parameters.isEmpty() && pgHba.isEmpty() && pgIdent.isEmpty() && recoveryConf.isEmpty();
    }
}
