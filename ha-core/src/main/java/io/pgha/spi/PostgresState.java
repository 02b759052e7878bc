package io.pgha.spi;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a {@link PostgresController} observed about its server at one moment.
 *
 * @param runState            whether the postmaster runs, and how it last stopped
 * @param inRecovery          running: {@code pg_is_in_recovery()}; not running: whether it would start as
 *                            a standby ({@code standby.signal} present)
 * @param systemId            the data directory's system identifier, when there is a data directory
 * @param timeline            the current timeline ({@code 0} when unknown)
 * @param writeLsn            primary: {@code pg_current_wal_lsn()}; otherwise {@link Lsn#ZERO}
 * @param flushLsn            primary: {@code pg_current_wal_flush_lsn()}; otherwise {@link Lsn#ZERO}
 * @param receiveLsn          standby: {@code pg_last_wal_receive_lsn()}; otherwise {@link Lsn#ZERO}
 * @param replayLsn           standby: {@code pg_last_wal_replay_lsn()}; otherwise {@link Lsn#ZERO}
 * @param upstream            the member a standby is configured to stream from, if any
 * @param streaming           standby: the WAL receiver is streaming from {@code upstream}
 * @param replication         primary: rows of {@code pg_stat_replication}
 * @param synchronousStandbys the current {@code synchronous_standby_names}
 * @param timelineStart       where the current timeline began (from its history file); {@link Lsn#ZERO} on timeline 1
 * @param serverVersion       {@code server_version_num} (e.g. {@code 150018}); {@code 0} when unknown
 */
public record PostgresState(
        RunState runState,
        boolean inRecovery,
        Optional<String> systemId,
        int timeline,
        Lsn writeLsn,
        Lsn flushLsn,
        Lsn receiveLsn,
        Lsn replayLsn,
        Optional<Upstream> upstream,
        boolean streaming,
        List<ReplicationConnection> replication,
        SynchronousStandbys synchronousStandbys,
        Lsn timelineStart,
        int serverVersion) {

    public PostgresState {
        Objects.requireNonNull(runState, "runState");
        Objects.requireNonNull(systemId, "systemId");
        Objects.requireNonNull(writeLsn, "writeLsn");
        Objects.requireNonNull(flushLsn, "flushLsn");
        Objects.requireNonNull(receiveLsn, "receiveLsn");
        Objects.requireNonNull(replayLsn, "replayLsn");
        Objects.requireNonNull(upstream, "upstream");
        Objects.requireNonNull(synchronousStandbys, "synchronousStandbys");
        Objects.requireNonNull(timelineStart, "timelineStart");
        replication = List.copyOf(Objects.requireNonNull(replication, "replication"));
    }

    /** A node with no data directory. */
    public static PostgresState uninitialized() {
        return new PostgresState(RunState.UNINITIALIZED, false, Optional.empty(), 0, Lsn.ZERO, Lsn.ZERO, Lsn.ZERO,
                Lsn.ZERO, Optional.empty(), false, List.of(), SynchronousStandbys.NONE, Lsn.ZERO, 0);
    }

    public boolean isRunning() {
        return runState == RunState.RUNNING;
    }

    /** Running and not in recovery: this server accepts writes. */
    public boolean isRunningPrimary() {
        return runState == RunState.RUNNING && !inRecovery;
    }

    /** Running in recovery. */
    public boolean isRunningReplica() {
        return runState == RunState.RUNNING && inRecovery;
    }

    /**
     * How much WAL this node has, for failover comparisons: a primary's write position, a
     * standby's furthest received or replayed position.
     */
    public Lsn walPosition() {
        return inRecovery ? Lsn.max(receiveLsn, replayLsn) : Lsn.max(writeLsn, flushLsn);
    }
}
