package io.pgha;

import io.pgha.spi.Lsn;
import io.pgha.spi.PostgresState;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * An immutable snapshot of one node, as of its last HA cycle.
 *
 * @param member       this member's name
 * @param scope        the cluster name
 * @param role         derived from PostgreSQL and the lock
 * @param leader       who holds the leader key, as last read from the store
 * @param leaseValid   this node holds the leader lock and its lease is certainly still valid now
 * @param postgres     PostgreSQL as last observed
 * @param dcsReachable the last read of the store succeeded
 * @param dcsLastSeen  wall-clock time of the last successful read
 * @param paused       the cluster is in maintenance mode
 * @param lastDecision the last cycle's reason line
 * @param cycles       how many HA cycles ran
 * @param externalFence what stops PostgreSQL's writes if this JVM freezes past its lease (see
 *                     {@link io.pgha.spi.PostgresController#externalFence()}); empty: only the
 *                     engine's in-process fence, which a frozen JVM cannot run * @param cyclesCompleted how many HA cycles finished (a cycle in progress is not counted)
 * @param cycleTime    the time the finished cycles took together, from observing to writing the
 *                     member entry (a meter's total: {@code cycleTime / cyclesCompleted} is the mean)
 */
public record NodeStatus(String member, String scope, Role role, Optional<String> leader, boolean leaseValid,
                         Optional<PostgresState> postgres, boolean dcsReachable, Optional<Instant> dcsLastSeen,
                         boolean paused, String lastDecision, long cycles, Optional<String> externalFence,
                         long cyclesCompleted, java.time.Duration cycleTime) {
    /** A snapshot without cycle timings (none finished yet). */
    public NodeStatus(String member, String scope, Role role, Optional<String> leader, boolean leaseValid,
                      Optional<PostgresState> postgres, boolean dcsReachable, Optional<Instant> dcsLastSeen,
                      boolean paused, String lastDecision, long cycles, Optional<String> externalFence) {
        this(member, scope, role, leader, leaseValid, postgres, dcsReachable, dcsLastSeen, paused, lastDecision, cycles, externalFence,
                0, java.time.Duration.ZERO);
    }

    public NodeStatus {
        Objects.requireNonNull(cycleTime);
        Objects.requireNonNull(member);
        Objects.requireNonNull(scope);
        Objects.requireNonNull(role);
        Objects.requireNonNull(leader);
        Objects.requireNonNull(postgres);
        Objects.requireNonNull(dcsLastSeen);
        Objects.requireNonNull(lastDecision);
        Objects.requireNonNull(externalFence);
    }

    /** The local timeline, 0 when unknown. */
    public int timeline() {
        return postgres.map(PostgresState::timeline).orElse(0);
    }

    /** The local WAL position, {@link Lsn#ZERO} when unknown. */
    public Lsn walPosition() {
        return postgres.map(PostgresState::walPosition).orElse(Lsn.ZERO);
    }
}
