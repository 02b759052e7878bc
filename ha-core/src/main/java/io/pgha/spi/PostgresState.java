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
 * @param pendingRestart      running: settings whose new value waits for a restart; empty otherwise
 * @param times               running: when the server started, the replay's time and pause; {@link ServerTimes#UNKNOWN} otherwise
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
        int serverVersion,
        List<PendingSetting> pendingRestart,
        ServerTimes times) {

    /** A state without {@link ServerTimes} (the components before they were added). */
    public PostgresState(RunState runState, boolean inRecovery, Optional<String> systemId, int timeline, Lsn writeLsn, Lsn flushLsn,
                         Lsn receiveLsn, Lsn replayLsn, Optional<Upstream> upstream, boolean streaming,
                         List<ReplicationConnection> replication, SynchronousStandbys synchronousStandbys, Lsn timelineStart,
                         int serverVersion, List<PendingSetting> pendingRestart) {
        this(runState, inRecovery, systemId, timeline, writeLsn, flushLsn, receiveLsn, replayLsn, upstream, streaming, replication,
                synchronousStandbys, timelineStart, serverVersion, pendingRestart, ServerTimes.UNKNOWN);
    }

    public PostgresState {
        Objects.requireNonNull(times, "times");
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
        pendingRestart = List.copyOf(Objects.requireNonNull(pendingRestart, "pendingRestart"));
    }

    /**
     * A builder for controllers that construct states: unlike the canonical constructor, code that
     * uses it keeps compiling when a component is added. Defaults are those of
     * {@link #uninitialized()}; {@link Builder#build()} checks what a state must satisfy.
     */
    public static Builder builder(RunState runState) {
        return new Builder(runState);
    }

    /** A builder starting from this state, to change a few components. */
    public Builder toBuilder() {
        return new Builder(runState).inRecovery(inRecovery).systemId(systemId).timeline(timeline)
                .writeLsn(writeLsn).flushLsn(flushLsn).receiveLsn(receiveLsn).replayLsn(replayLsn)
                .upstream(upstream).streaming(streaming).replication(replication)
                .synchronousStandbys(synchronousStandbys).timelineStart(timelineStart).serverVersion(serverVersion)
                .pendingRestart(pendingRestart).times(times);
    }

    /** Builds a {@link PostgresState}; every setter rejects {@code null} and negative numbers. */
    public static final class Builder {
        private final RunState runState;
        private boolean inRecovery;
        private Optional<String> systemId = Optional.empty();
        private int timeline;
        private Lsn writeLsn = Lsn.ZERO;
        private Lsn flushLsn = Lsn.ZERO;
        private Lsn receiveLsn = Lsn.ZERO;
        private Lsn replayLsn = Lsn.ZERO;
        private Optional<Upstream> upstream = Optional.empty();
        private boolean streaming;
        private List<ReplicationConnection> replication = List.of();
        private SynchronousStandbys synchronousStandbys = SynchronousStandbys.NONE;
        private Lsn timelineStart = Lsn.ZERO;
        private int serverVersion;
        private List<PendingSetting> pendingRestart = List.of();
        private ServerTimes times = ServerTimes.UNKNOWN;

        private Builder(RunState runState) {
            this.runState = Objects.requireNonNull(runState, "runState");
        }

        public Builder inRecovery(boolean inRecovery) {
            this.inRecovery = inRecovery;
            return this;
        }

        public Builder systemId(Optional<String> systemId) {
            this.systemId = Objects.requireNonNull(systemId, "systemId");
            return this;
        }

        /** @throws IllegalArgumentException if negative ({@code 0} means unknown) */
        public Builder timeline(int timeline) {
            if (timeline < 0) {
                throw new IllegalArgumentException("timeline must not be negative, got " + timeline);
            }
            this.timeline = timeline;
            return this;
        }

        public Builder writeLsn(Lsn lsn) {
            this.writeLsn = Objects.requireNonNull(lsn, "writeLsn");
            return this;
        }

        public Builder flushLsn(Lsn lsn) {
            this.flushLsn = Objects.requireNonNull(lsn, "flushLsn");
            return this;
        }

        public Builder receiveLsn(Lsn lsn) {
            this.receiveLsn = Objects.requireNonNull(lsn, "receiveLsn");
            return this;
        }

        public Builder replayLsn(Lsn lsn) {
            this.replayLsn = Objects.requireNonNull(lsn, "replayLsn");
            return this;
        }

        public Builder upstream(Optional<Upstream> upstream) {
            this.upstream = Objects.requireNonNull(upstream, "upstream");
            return this;
        }

        public Builder streaming(boolean streaming) {
            this.streaming = streaming;
            return this;
        }

        public Builder replication(List<ReplicationConnection> rows) {
            this.replication = List.copyOf(Objects.requireNonNull(rows, "replication"));
            return this;
        }

        public Builder synchronousStandbys(SynchronousStandbys value) {
            this.synchronousStandbys = Objects.requireNonNull(value, "synchronousStandbys");
            return this;
        }

        public Builder timelineStart(Lsn lsn) {
            this.timelineStart = Objects.requireNonNull(lsn, "timelineStart");
            return this;
        }

        /** @throws IllegalArgumentException if negative ({@code 0} means unknown) */
        public Builder serverVersion(int serverVersion) {
            if (serverVersion < 0) {
                throw new IllegalArgumentException("serverVersion must not be negative, got " + serverVersion);
            }
            this.serverVersion = serverVersion;
            return this;
        }

        public Builder pendingRestart(List<PendingSetting> settings) {
            this.pendingRestart = List.copyOf(Objects.requireNonNull(settings, "pendingRestart"));
            return this;
        }

        /**
         * @throws IllegalStateException if the combination cannot describe a server: streaming
         *                               without an upstream, or a running server without a system
         *                               identifier
         */
        public Builder times(ServerTimes times) {
            this.times = Objects.requireNonNull(times, "times");
            return this;
        }

        public PostgresState build() {
            if (streaming && upstream.isEmpty()) {
                throw new IllegalStateException("streaming requires an upstream");
            }
            if (runState == RunState.RUNNING && systemId.isEmpty()) {
                throw new IllegalStateException("a running server has a system identifier");
            }
            return new PostgresState(runState, inRecovery, systemId, timeline, writeLsn, flushLsn, receiveLsn, replayLsn,
                    upstream, streaming, replication, synchronousStandbys, timelineStart, serverVersion, pendingRestart, times);
        }
    }

    /** A node with no data directory. */
    public static PostgresState uninitialized() {
        return new PostgresState(RunState.UNINITIALIZED, false, Optional.empty(), 0, Lsn.ZERO, Lsn.ZERO, Lsn.ZERO,
                Lsn.ZERO, Optional.empty(), false, List.of(), SynchronousStandbys.NONE, Lsn.ZERO, 0, List.of());
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
