package io.pgha.internal.decision;

import io.pgha.internal.cluster.HistoryEntry;
import io.pgha.spi.SynchronousStandbys;
import io.pgha.spi.Upstream;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One step of a {@link Decision}. Steps run in order; they are either {@link Quick} (awaited before
 * the next one) or {@link LongRunning} (run in the node's single async slot while the loop goes on,
 * and always the last step). A quick <em>gate</em> that does not succeed (a lost race or
 * compare-and-set, an unreachable store) cancels the steps after it.
 */
public sealed interface Action permits Action.Quick, Action.LongRunning {
    /** A short description for events and logs. */
    String describe();

    /** A step the loop awaits before it runs the next one. */
    sealed interface Quick extends Action permits AcquireLock, RenewLock, ReleaseLock, ClaimInitialize, ClearInitialize, WriteInitialize, WriteConfig,
            ClearFailover, WriteSync, DeleteSync, WriteHistory, WriteFailsafe, SetSyncStandbys, CheckDivergence, ReloadPostgres, AnswerRequest,
            CancelAction, Fail {
        /** Whether a failure of this step cancels the rest of the decision. */
        default boolean isGate() {
            return false;
        }

        <R> R accept(Visitor<R> v);

        /** One method per quick step: a runner that misses one does not compile. */
        interface Visitor<R> {
            R acquireLock(AcquireLock a);
            R renewLock(RenewLock a);
            R releaseLock(ReleaseLock a);
            R claimInitialize(ClaimInitialize a);
            R clearInitialize(ClearInitialize a);
            R writeInitialize(WriteInitialize a);
            R writeConfig(WriteConfig a);
            R clearFailover(ClearFailover a);
            R writeSync(WriteSync a);
            R deleteSync(DeleteSync a);
            R writeHistory(WriteHistory a);
            R writeFailsafe(WriteFailsafe a);
            R setSyncStandbys(SetSyncStandbys a);
            R checkDivergence(CheckDivergence a);
            R reloadPostgres(ReloadPostgres a);
            R answerRequest(AnswerRequest a);
            R cancelAction(CancelAction a);
            R fail(Fail a);
        }
    }

    /** A step that runs in the async slot while the cycles go on. */
    sealed interface LongRunning extends Action permits Bootstrap, CloneFrom, CreateReplicaWithoutLeader, StartPostgres, Follow, Promote, Demote, Rewind,
            RestartPostgres, Reinitialize, CopyLogicalSlots {
        <R> R accept(Visitor<R> v);

        /** One method per long step: a runner that misses one does not compile. */
        interface Visitor<R> {
            R bootstrap(Bootstrap a);
            R cloneFrom(CloneFrom a);
            R createReplicaWithoutLeader(CreateReplicaWithoutLeader a);
            R startPostgres(StartPostgres a);
            R follow(Follow a);
            R promote(Promote a);
            R demote(Demote a);
            R rewind(Rewind a);
            R restartPostgres(RestartPostgres a);
            R reinitialize(Reinitialize a);
            R copyLogicalSlots(CopyLogicalSlots a);
        }
    }

    // ------------------------------------------------------------------ DCS steps

    /** Take the leader lock (create-if-absent). */
    record AcquireLock() implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.acquireLock(this); }
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "acquire leader lock"; }
    }

    /** Renew the lease and confirm the lock, publishing our WAL position as the leader's optime. */
    record RenewLock() implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.renewLock(this); }
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "renew leader lock"; }
    }

    /** Delete the leader key if it is still ours. */
    record ReleaseLock() implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.releaseLock(this); }
        @Override public String describe() { return "release leader lock"; }
    }

    /** Race for the {@code initialize} key (create-if-absent with an empty value). */
    record ClaimInitialize() implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.claimInitialize(this); }
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "claim initialize key"; }
    }

    /**
     * Delete an abandoned bootstrap claim (the empty {@code initialize} key at this version), so
     * that the members race for it again.
     */
    record ClearInitialize(long expectedVersion) implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.clearInitialize(this); }
        @Override public String describe() { return "clear abandoned bootstrap claim"; }
    }

    /** Record our system identifier in the {@code initialize} key (taking over an existing data directory). */
    record WriteInitialize(String systemId, long expectedVersion) implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.writeInitialize(this); }
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "write initialize key " + systemId; }
    }

    /** Write this node's settings as the dynamic configuration, if the key is absent. */
    record WriteConfig() implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.writeConfig(this); }
        @Override public String describe() { return "write dynamic configuration"; }
    }

    /** Delete the {@code failover} key at this version (request served or void). */
    record ClearFailover(long expectedVersion) implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.clearFailover(this); }
        @Override public String describe() { return "clear failover key"; }
    }

    /** Compare-and-set the {@code sync} key. */
    record WriteSync(String leader, Set<String> standbys, int quorum, long expectedVersion) implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.writeSync(this); }
        public WriteSync {
            standbys = Set.copyOf(standbys);
        }
        /** A key without a quorum (synchronous_mode on, or a leader taking the key over). */
        public WriteSync(String leader, Set<String> standbys, long expectedVersion) {
            this(leader, standbys, 0, expectedVersion);
        }
        @Override public boolean isGate() { return true; }
        @Override public String describe() {
            return "write sync key " + leader + " " + new java.util.TreeSet<>(standbys) + (quorum > 0 ? " quorum " + quorum : "");
        }
    }

    /** Delete the {@code sync} key (synchronous mode turned off). */
    record DeleteSync(long expectedVersion) implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.deleteSync(this); }
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "delete sync key"; }
    }

    /** Compare-and-set the {@code history} key to this full list. */
    record WriteHistory(List<HistoryEntry> entries, long expectedVersion) implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.writeHistory(this); }
        public WriteHistory {
            entries = List.copyOf(entries);
        }
        @Override public String describe() { return "append timeline history"; }
    }

    /** Compare-and-set the {@code failsafe} key: the members a primary must reach to run on without the store. */
    record WriteFailsafe(Map<String, String> members, long expectedVersion) implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.writeFailsafe(this); }
        public WriteFailsafe {
            members = Map.copyOf(members);
        }
        @Override public String describe() { return "write failsafe key " + new java.util.TreeMap<>(members).keySet(); }
    }

    // ------------------------------------------------------------------ PostgreSQL steps

    /** Set {@code synchronous_standby_names}. */
    record SetSyncStandbys(SynchronousStandbys value) implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.setSyncStandbys(this); }
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "set synchronous_standby_names '" + value.toSetting() + "'"; }
    }

    /** Ask the controller whether local data diverged from {@code upstream}. */
    record CheckDivergence(Upstream upstream) implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.checkDivergence(this); }
        @Override public String describe() { return "check divergence from " + upstream.member(); }
    }

    /**
     * Create a new cluster (initdb) and start it as the primary; or, in a standby cluster
     * ({@code standbyOf} present), copy the remote primary's data and start it as the standby
     * leader that streams from it (Patroni's {@code bootstrap_standby_leader}). Either way the
     * initialize key gets the system identifier and the node takes the leader lock.
     */
    record Bootstrap(Optional<Upstream> standbyOf, List<String> replicaMethods) implements LongRunning {
        public Bootstrap {
            java.util.Objects.requireNonNull(standbyOf);
            replicaMethods = List.copyOf(replicaMethods);
        }

        public Bootstrap() {
            this(Optional.empty(), List.of());
        }

        @Override public <R> R accept(LongRunning.Visitor<R> v) { return v.bootstrap(this); }
        @Override public String describe() {
            return standbyOf.map(u -> "bootstrap a standby leader from " + u.member()).orElse("bootstrap a new cluster");
        }
    }

    /** Copy data from a running member, then start streaming from it. */
    record CloneFrom(Upstream source) implements LongRunning {
        @Override public <R> R accept(LongRunning.Visitor<R> v) { return v.cloneFrom(this); }
        @Override public String describe() { return "clone from " + source.member(); }
    }

    /** Create a replica's data with no running member (a restore from a backup), then start it as a standby of nobody. */
    record CreateReplicaWithoutLeader() implements LongRunning {
        @Override public <R> R accept(LongRunning.Visitor<R> v) { return v.createReplicaWithoutLeader(this); }
        @Override public String describe() { return "create a replica without a leader"; }
    }

    /** Start PostgreSQL as it is (a crashed primary restarted in place). */
    record StartPostgres() implements LongRunning {
        @Override public <R> R accept(LongRunning.Visitor<R> v) { return v.startPostgres(this); }
        @Override public String describe() { return "start postgres"; }
    }

    /** Become (or stay) a standby of {@code upstream}, or a read-only node with no upstream. */
    record Follow(Optional<Upstream> upstream) implements LongRunning {
        @Override public <R> R accept(LongRunning.Visitor<R> v) { return v.follow(this); }
        @Override public String describe() {
            return upstream.map(u -> "follow " + u.member()).orElse("start read-only with no upstream");
        }
    }

    /** Promote the local standby. */
    record Promote() implements LongRunning {
        @Override public <R> R accept(LongRunning.Visitor<R> v) { return v.promote(this); }
        @Override public String describe() { return "promote"; }
    }

    /** Stop the local primary in one of Patroni's demotion modes. */
    record Demote(DemoteMode mode) implements LongRunning {
        @Override public <R> R accept(LongRunning.Visitor<R> v) { return v.demote(this); }
        @Override public String describe() { return "demote (" + mode.name().toLowerCase(java.util.Locale.ROOT) + ")"; }
    }

    /** Stop, pg_rewind from {@code source}, then follow it. */
    record Rewind(Upstream source) implements LongRunning {
        @Override public <R> R accept(LongRunning.Visitor<R> v) { return v.rewind(this); }
        @Override public String describe() { return "rewind from " + source.member(); }
    }

    /** Restart PostgreSQL in place (an operator's request). */
    record RestartPostgres(java.time.Duration timeout) implements LongRunning {
        @Override public <R> R accept(LongRunning.Visitor<R> v) { return v.restartPostgres(this); }
        @Override public String describe() { return "restart postgres"; }
    }

    /** Stop PostgreSQL and remove its data, to be cloned again (an operator's request). */
    record Reinitialize() implements LongRunning {
        @Override public <R> R accept(LongRunning.Visitor<R> v) { return v.reinitialize(this); }
        @Override public String describe() { return "reinitialize: remove the data directory"; }
    }

    /**
     * Copy the permanent logical slots this replica lacks from the primary, which restarts the
     * replica (Patroni's {@code copy_logical_slots}, PostgreSQL 11 to 16).
     */
    record CopyLogicalSlots(Upstream primary, java.util.Map<String, io.pgha.spi.SlotPlan.LogicalSlot> slots) implements LongRunning {
        public CopyLogicalSlots {
            java.util.Objects.requireNonNull(primary, "primary");
            slots = java.util.Map.copyOf(slots);
        }

        @Override public <R> R accept(LongRunning.Visitor<R> v) { return v.copyLogicalSlots(this); }
        @Override public String describe() {
            return "copy logical slots " + new java.util.TreeSet<>(slots.keySet()) + " from " + primary.member();
        }
    }

    /** Reread PostgreSQL's configuration. */
    record ReloadPostgres() implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.reloadPostgres(this); }
        @Override public String describe() { return "reload postgres"; }
    }

    /** Answer the operator's pending request. */
    record AnswerRequest(boolean ok, String message) implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.answerRequest(this); }
        @Override public String describe() { return (ok ? "accept" : "refuse") + " request: " + message; }
    }

    /** Cancel the long action in progress (a promotion after the lock was lost). */
    record CancelAction() implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.cancelAction(this); }
        @Override public String describe() { return "cancel action in progress"; }
    }

    /** Stop the node for good: a fatal, operator-level problem. */
    record Fail(String reason) implements Quick {
        @Override public <R> R accept(Quick.Visitor<R> v) { return v.fail(this); }
        @Override public String describe() { return "stop node: " + reason; }
    }
}
