package io.pgha.internal.cluster;

import io.pgha.MemberTags;
import io.pgha.spi.Lsn;
import io.pgha.spi.PendingSetting;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A member entry ({@code members/<name>}) as decoded from Patroni's JSON.
 *
 * @param role             {@code primary}, {@code replica}, {@code uninitialized}, ... ({@code master} is read as {@code primary})
 * @param state            {@code running}, {@code stopped}, {@code starting}, {@code crashed}, ...
 * @param xlogLocation     the member's WAL position when it wrote the entry
 * @param replicationState {@code streaming} when a standby streams
 * @param pendingRestart   settings that wait for a restart (Patroni's {@code pending_restart} and
 *                         {@code pending_restart_reason})
 * @param scheduledRestart when an operator scheduled a restart of this member (Patroni's
 *                         {@code scheduled_restart.schedule})
 */
public record Member(String name, String connUrl, Optional<String> apiUrl, String state, String role,
                     Lsn xlogLocation, Lsn receiveLsn, Lsn replayLsn, int timeline, MemberTags tags,
                     Optional<String> replicationState, long version, List<PendingSetting> pendingRestart,
                     Optional<OffsetDateTime> scheduledRestart) {
    public Member(String name, String connUrl, Optional<String> apiUrl, String state, String role, Lsn xlogLocation,
                  Lsn receiveLsn, Lsn replayLsn, int timeline, MemberTags tags, Optional<String> replicationState, long version) {
        this(name, connUrl, apiUrl, state, role, xlogLocation, receiveLsn, replayLsn, timeline, tags, replicationState, version,
                List.of(), Optional.empty());
    }

    public Member {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(connUrl, "connUrl");
        Objects.requireNonNull(apiUrl, "apiUrl");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(tags, "tags");
        Objects.requireNonNull(replicationState, "replicationState");
        pendingRestart = List.copyOf(pendingRestart);
        Objects.requireNonNull(scheduledRestart, "scheduledRestart");
    }

    public boolean isRunning() {
        return "running".equals(state);
    }

    public boolean isPrimary() {
        return "primary".equals(role);
    }
}
