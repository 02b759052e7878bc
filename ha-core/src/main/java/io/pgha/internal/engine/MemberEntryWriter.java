package io.pgha.internal.engine;

import io.pgha.MemberTags;
import io.pgha.Role;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.cluster.Member;
import io.pgha.internal.decision.Action;
import io.pgha.internal.decision.NodeMemory.RunningAction;
import io.pgha.spi.DcsSession;
import io.pgha.spi.Lsn;
import io.pgha.spi.PostgresState;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes this node's member entry ({@code members/<name>}) at the end of a cycle: what its
 * PostgreSQL is, the role, the WAL positions, the tags, where to reach it. A leader whose entry is
 * unchanged skips the write (its renewal already keeps the store current); everyone else writes
 * every cycle, which also keeps the entry alive. Lane-confined.
 */
final class MemberEntryWriter {
    private static final Logger LOG = LoggerFactory.getLogger(MemberEntryWriter.class);

    /** How a write went; {@link #confirm} keeps it. */
    record Result(Optional<String> written, boolean failed) {
        static final Result SKIPPED = new Result(Optional.empty(), false);
        static final Result FAILED = new Result(Optional.empty(), true);
    }

    private final EngineConfig cfg;
    private final String me;
    private final java.util.function.Supplier<MemberTags> tags;
    private final DcsSession session;
    private final Optional<String> apiUrl;
    /** The entry as last written. */
    private String lastWritten;

    MemberEntryWriter(EngineConfig cfg, java.util.function.Supplier<MemberTags> tags, DcsSession session, Optional<String> apiUrl) {
        this.cfg = cfg;
        this.tags = tags;
        this.me = cfg.name();
        this.session = session;
        this.apiUrl = apiUrl;
    }

    /**
     * Writes the entry unless this node is the leader and it is unchanged and present.
     *
     * @param cluster the view the cycle decided on
     * @param leaseHeld whether this node believes it holds the leader lease
     */
    CompletableFuture<Result> write(Optional<Cluster> cluster, Optional<PostgresState> p, Role role, Optional<RunningAction> action,
                                    boolean leaseHeld, long retryTimeoutNanos, Optional<OffsetDateTime> scheduledRestart) {
        String json = ClusterCodec.encodeMember(entry(p, role, action, scheduledRestart));
        boolean leader = cluster.map(c -> c.isLeader(me)).orElse(false) && leaseHeld;
        boolean missing = cluster.map(c -> c.member(me).isEmpty()).orElse(true);
        if (leader && json.equals(lastWritten) && !missing) {
            return CompletableFuture.completedFuture(Result.SKIPPED);
        }
        return Futures.storeCall(() -> session.touchMember(json), retryTimeoutNanos, cfg.loopScheduler())
                .handle((v, e) -> {
                    if (e != null) {
                        LOG.debug("{}: could not write the member entry: {}", me, Futures.describe(e));
                        return Result.FAILED;
                    }
                    return new Result(Optional.of(json), false);
                });
    }

    /** Keeps what a write did. On the lane. */
    void confirm(Result r) {
        r.written().ifPresent(json -> lastWritten = json);
    }

    private Member entry(Optional<PostgresState> p, Role role, Optional<RunningAction> action,
                         Optional<OffsetDateTime> scheduledRestart) {
        String state = p.map(x -> switch (x.runState()) {
            case RUNNING -> "running";
            case STARTING -> "starting";
            case STOPPED -> "stopped";
            case CRASHED -> "crashed";
            case UNINITIALIZED -> "uninitialized";
        }).orElse("unknown");
        if (action.map(a -> a.action() instanceof Action.CloneFrom || a.action() instanceof Action.CreateReplicaWithoutLeader).orElse(false)) {
            state = "creating replica";
        } else if (action.map(a -> a.action() instanceof Action.Bootstrap b && b.standbyOf().isPresent()).orElse(false)) {
            state = "creating replica"; // Patroni's standby leader bootstrap is a clone
        } else if (action.map(a -> a.action() instanceof Action.Bootstrap).orElse(false)) {
            state = "initializing new cluster";
        }
        String roleName = switch (role) {
            case PRIMARY -> "primary";
            case REPLICA -> "replica";
            case STANDBY_LEADER -> "standby_leader";
            case UNINITIALIZED -> "uninitialized";
            case DEMOTING -> "demoted";
            default -> p.map(x -> x.inRecovery() ? "replica" : "primary").orElse("uninitialized");
        };
        return new Member(me, connectionUrl(), apiUrl, state, roleName,
                p.map(PostgresState::walPosition).orElse(Lsn.ZERO),
                p.map(PostgresState::receiveLsn).orElse(Lsn.ZERO),
                p.map(PostgresState::replayLsn).orElse(Lsn.ZERO),
                p.map(PostgresState::timeline).orElse(0), tags.get(),
                p.filter(PostgresState::streaming).map(x -> "streaming"), 0,
                p.map(PostgresState::pendingRestart).orElse(List.of()), scheduledRestart);
    }

    private String connectionUrl() {
        try {
            return cfg.postgres().connectionUrl();
        } catch (RuntimeException e) {
            return "";
        }
    }
}
