package io.pgha.spi;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * The engine's hands on one PostgreSQL server: the part Patroni keeps in {@code patroni/postgresql/}.
 * {@code io.pgha.postgres} (module {@code pg-driver}) implements it with initdb, pg_ctl,
 * pg_basebackup, pg_rewind and JDBC; {@code io.pgha.testkit.FakePostgres} implements it in memory.
 *
 * <h2>Rules every implementation follows</h2>
 * <ul>
 *   <li>Cancelling a returned future stops the work it stands for (a running program is killed);
 *       the engine cancels a long operation it gave up on.</li>
 *   <li>Methods return at once; the work happens elsewhere and the stage completes when it is done.
 *       The engine runs at most one long operation (bootstrap, clone, start, stop, promote, rewind,
 *       restart) at a time, but may call {@link #observe()} and the quick methods concurrently.</li>
 *   <li>Failures complete the stage exceptionally with a {@link PostgresException} subtype that
 *       names the problem. Messages, logs and process arguments never contain passwords.</li>
 *   <li>{@link #observe()} is bounded by a timeout the implementation owns (connect and statement
 *       timeouts), so a hung server never stalls the engine.</li>
 * </ul>
 */
public interface PostgresController extends AutoCloseable {

    /** Observes the server: run state, role, identity, WAL positions, replication. Never fails for a stopped server. */
    CompletionStage<PostgresState> observe();

    /**
     * Creates a new cluster in an empty data directory (initdb, the managed configuration, the
     * users), starts it as a primary, and completes with its system identifier. Fails if the data
     * directory is not empty.
     */
    CompletionStage<String> bootstrap();

    /** Copies a running member's data into the empty data directory (pg_basebackup); leaves it stopped. */
    CompletionStage<Void> cloneFrom(Upstream source);

    /**
     * Like {@link #cloneFrom(Upstream)}, with the replica methods named in {@code methods}, in order
     * (a standby cluster's {@code standby_cluster.create_replica_methods}: the standby leader's data
     * is created from the remote primary with them, falling back from one to the next, as in Patroni).
     * {@code basebackup} is pg_basebackup; another name is one of the controller's own methods. An
     * empty list is {@link #cloneFrom(Upstream)}. The default takes only that, or {@code [basebackup]},
     * and fails naming the methods otherwise.
     */
    default CompletionStage<Void> cloneFrom(Upstream source, java.util.List<String> methods) {
        if (methods.isEmpty() || methods.equals(java.util.List.of("basebackup"))) {
            return cloneFrom(source);
        }
        return java.util.concurrent.CompletableFuture.failedFuture(new UnsupportedOperationException(
                getClass().getSimpleName() + " cannot create a replica with the methods " + methods));
    }

    /**
     * Whether {@link #createReplicaWithoutLeader()} can work: the controller has a way to create a
     * replica's data with no running member to copy from, such as a restore from a backup store
     * (Patroni's {@code no_leader} replica methods). Asked by each cycle; default false.
     */
    default boolean canCreateReplicaWithoutLeader() {
        return false;
    }

    /**
     * Creates a replica's data in the empty data directory without a running member (a restore
     * from a backup store) and leaves it stopped, a standby of nobody. The engine calls it only when
     * the cluster is initialized, has no leader, and {@link #canCreateReplicaWithoutLeader()}; the
     * member then takes part in the leader race with the data it restored, as in Patroni.
     */
    default CompletionStage<Void> createReplicaWithoutLeader() {
        return java.util.concurrent.CompletableFuture.failedFuture(new UnsupportedOperationException(
                getClass().getSimpleName() + " cannot create a replica without a leader"));
    }

    /**
     * Starts the server as it is configured (a former primary comes back as a primary, a standby
     * as a standby) and completes when it accepts connections or has failed.
     */
    CompletionStage<Void> start(Duration timeout);

    /**
     * Stops the server in the given mode; completes when the postmaster is gone. Stopping a stopped
     * server succeeds. An {@link StopMode#IMMEDIATE} stop is how the engine fences: it may come at
     * any time, concurrently with any operation in progress, and must not wait behind it.
     */
    CompletionStage<Void> stop(StopMode mode, Duration timeout);

    /** Stops (in {@code mode}) and starts again with the same role. */
    CompletionStage<Void> restart(StopMode mode, Duration timeout);

    /** Rereads the configuration files (SIGHUP). */
    CompletionStage<Void> reload();

    /** Promotes a running standby; completes with the time the promotion took. */
    CompletionStage<Duration> promote(Duration timeout);

    /**
     * Makes this server a standby of {@code upstream} (or of nothing: read-only, no streaming):
     * writes the recovery configuration, starts the server if it is stopped, and reloads or
     * restarts it if it runs as a standby of someone else. Fails for a running primary: the engine
     * stops it first.
     */
    CompletionStage<Void> follow(Optional<Upstream> upstream, Duration timeout);

    /** Tells whether local data diverged from {@code upstream}'s timeline history. */
    CompletionStage<DivergenceCheck> checkDivergence(Upstream upstream);

    /** Rewinds the stopped local data to {@code source}'s timeline (pg_rewind); leaves it stopped. */
    CompletionStage<Void> rewind(Upstream source);

    /**
     * Brings the server's replication slots to {@code plan} (see {@link SlotPlan}) and completes with
     * every slot it has afterwards. Called by the engine outside long operations while the server
     * runs. The default says the controller cannot: the engine then warns once and plans nothing more.
     */
    default CompletionStage<java.util.List<ReplicationSlot>> syncSlots(SlotPlan plan) {
        return java.util.concurrent.CompletableFuture.failedFuture(new UnsupportedOperationException(
                getClass().getSimpleName() + " does not manage replication slots"));
    }

    /**
     * Gives this running standby a copy of the primary's permanent logical slots named in
     * {@code slots} (Patroni's {@code copy_logical_slots}, for PostgreSQL 11 to 16, where a standby
     * cannot create a logical slot that continues the primary's stream): reads each slot's state on
     * {@code primary} ({@code pg_replslot/<name>/state}), skips one whose database or plugin differs
     * from {@code slots}' (logged), and if any is left, stops the server, writes the states into its
     * own {@code pg_replslot}, and starts it again as it was. The engine asks for this as its long
     * action, once for the slots a standby lacks, so the restart happens once per slot creation. A copy
     * is only as far as the primary had it; the engine then advances it through {@link #syncSlots}.
     * The copied slots are safe after a failover only while the primary holds back their
     * {@code catalog_xmin} through this standby's physical slot, which needs
     * {@code hot_standby_feedback} on this standby (a controller that copies makes sure of it).
     *
     * <p>Completes with the names copied (empty when the primary had none of them: no restart). The
     * default says the controller cannot: the engine then warns once and never asks again.
     */
    default CompletionStage<java.util.Set<String>> copyLogicalSlots(Upstream primary, java.util.Map<String, SlotPlan.LogicalSlot> slots,
                                                                    Duration timeout) {
        return java.util.concurrent.CompletableFuture.failedFuture(new UnsupportedOperationException(
                getClass().getSimpleName() + " does not copy logical slots"));
    }

    /** Sets {@code synchronous_standby_names} and reloads; completes when the server runs with it. */
    CompletionStage<Void> setSynchronousStandbys(SynchronousStandbys value);

    /**
     * Removes the stopped server's data directory, so the node can be cloned afresh (an operator's
     * reinitialization, a failed rewind). Fails for a running server.
     */
    default CompletionStage<Void> removeData() {
        return java.util.concurrent.CompletableFuture.failedFuture(
                new UnsupportedOperationException(getClass().getSimpleName() + " cannot remove its data directory"));
    }

    /**
     * Applies the cluster's dynamic settings (Patroni's semantics): the controller layers the
     * {@code postgresql.parameters} under the member's own settings, except for the settings every
     * member must share, where they win; {@code pg_hba} and {@code pg_ident} lines replace the
     * defaults unless the member has its own. It writes the result and, when the server runs,
     * reloads it. A setting that needs a restart shows in {@link PostgresState#pendingRestart()} from
     * then on. Called whenever the settings change, and before the first start with the ones in
     * force, so a bootstrap or a clone starts with them. A value the controller will not use is
     * reported (a warning naming its key), never dropped silently.
     *
     * <p>The default refuses with {@link UnsupportedOperationException}; the engine then warns once
     * that the cluster's settings do not reach this server.
     */
    default CompletionStage<Void> applySettings(ServerSettings settings) {
        return java.util.concurrent.CompletableFuture.failedFuture(new UnsupportedOperationException(
                getClass().getSimpleName() + " does not apply the cluster's postgresql settings"));
    }

    /** Runs {@code CHECKPOINT}. */
    CompletionStage<Void> checkpoint();

    /** This server's {@code conn_url} for its member entry, e.g. {@code postgres://10.0.0.5:5432/postgres}. */
    String connectionUrl();

    /**
     * Arms (or re-arms, moving it later) a write fence that does not depend on the calling JVM: unless
     * armed again before, the server must stop accepting writes at {@code deadline}, a reading of
     * {@code clock} (the engine's ticker), even if the JVM that armed it is frozen (a helper
     * process, or the server's own timer). The engine arms it each time the lease is renewed, with
     * a deadline computed from the moment the renewal was sent.
     *
     * <p>The deadline is absolute so that no pause of the caller, before or during this call, moves
     * it later. An implementation whose fence keeps another clock converts it with an offset
     * measured in the safe direction: read its own clock first, then {@code clock}, so that a pause
     * between the two readings can only make the fence fire earlier.
     *
     * @return {@code false} if this controller has no such fence (then only the engine's in-process
     *     fence protects against a frozen JVM)
     */
    default boolean armFence(long deadline, io.pgha.Ticker clock) {
        return false;
    }

    /**
     * What stops this server's writes when the JVM that runs the engine is frozen (a helper process,
     * the server's own timer), in a few words for the node's status; empty when nothing does. Then
     * only the engine's in-process fence protects, and a JVM paused past its lease lets the old
     * primary accept writes beside the new one: {@code HaNode.builder()} refuses such a controller
     * unless the embedder accepts that with {@code withoutExternalFence()}.
     */
    default java.util.Optional<String> externalFence() {
        return java.util.Optional.empty();
    }

    /** Disarms the fence armed by {@link #armFence}: the node no longer holds the leader lease. */
    default void disarmFence() {
    }

    /**
     * Registers a callback for state changes the controller notices on its own (the postmaster
     * exited): the engine then runs a cycle at once instead of at its next tick.
     */
    default Subscription onStateChange(Runnable callback) {
        return () -> { };
    }

    /** Releases the controller's resources (connections, helper processes). Does not stop the server. */
    @Override
    void close();
}
