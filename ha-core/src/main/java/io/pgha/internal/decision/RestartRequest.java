package io.pgha.internal.decision;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * An operator's restart with Patroni's filters ({@code POST /restart}): it happens only on a member
 * of {@code role}, only if its server runs a version below {@code postgresVersion}, and only if a
 * setting waits for a restart when {@code onlyIfPending}; at {@code schedule} if given, else now.
 *
 * @param schedule        when; empty: now
 * @param role            {@code primary} or {@code replica}; empty or {@code any}: every member
 * @param postgresVersion restart only a server older than this ({@code server_version_num}, e.g. 150018)
 * @param onlyIfPending   Patroni's {@code restart_pending}
 * @param timeout         how long the restart may take
 */
public record RestartRequest(Optional<OffsetDateTime> schedule, Optional<String> role, OptionalInt postgresVersion,
                             boolean onlyIfPending, Duration timeout) {
    public RestartRequest {
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(postgresVersion, "postgresVersion");
        Objects.requireNonNull(timeout, "timeout");
    }

    /**
     * Why this member does not match the filters (Patroni's reasons to cancel), or empty when it
     * does. Pure: the REST API asks it for an immediate restart, the loop for a scheduled one.
     *
     * @param memberRole    {@code primary}, {@code replica}, ... as {@code /patroni} reports it
     * @param serverVersion the running server's {@code server_version_num}, 0 when unknown
     * @param pending       whether a setting waits for a restart
     */
    public Optional<String> mismatch(String memberRole, int serverVersion, boolean pending) {
        if (role.isPresent() && !role.get().equals("any")) {
            boolean primary = memberRole.equals("primary") || memberRole.equals("standby_leader");
            if (role.get().equals("primary") != primary) {
                return Optional.of("host role mismatch");
            }
        }
        if (postgresVersion.isPresent() && serverVersion > 0 && postgresVersion.getAsInt() <= serverVersion) {
            return Optional.of("postgres version mismatch");
        }
        if (onlyIfPending && !pending) {
            return Optional.of("pending restart flag is not set");
        }
        return Optional.empty();
    }

    /**
     * {@code 15.18} → 150018, {@code 9.6.24} → 90624 (PostgreSQL's {@code server_version_num}).
     *
     * @throws IllegalArgumentException naming the format when {@code version} is not one
     */
    public static int versionNumber(String version) {
        String[] parts = version.trim().split("\\.");
        try {
            if (parts.length == 2 && Integer.parseInt(parts[0]) >= 10) {
                return Integer.parseInt(parts[0]) * 10000 + Integer.parseInt(parts[1]);
            }
            if (parts.length == 3 && Integer.parseInt(parts[0]) < 10) {
                return Integer.parseInt(parts[0]) * 10000 + Integer.parseInt(parts[1]) * 100 + Integer.parseInt(parts[2]);
            }
            if (parts.length == 1 && Integer.parseInt(parts[0]) >= 10) {
                return Integer.parseInt(parts[0]) * 10000;
            }
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new IllegalArgumentException("PostgreSQL version should be in the first.major.minor format");
    }
}
