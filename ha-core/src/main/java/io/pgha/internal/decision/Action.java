package io.pgha.internal.decision;

import io.pgha.internal.cluster.HistoryEntry;
import io.pgha.spi.SynchronousStandbys;
import io.pgha.spi.Upstream;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One step of a {@link Decision}. Steps run in order; a <em>gate</em> that does not succeed (a lost
 * race or compare-and-set, an unreachable store) cancels the steps after it. A <em>long</em> step
 * runs in the node's single async slot while the loop goes on; it is always the last step.
 */
public sealed interface Action {
    /** Whether a failure of this step cancels the rest of the decision. */
    default boolean isGate() {
        return false;
    }

    /** Whether this step runs in the async slot. */
    default boolean isLong() {
        return false;
    }

    /** A short description for events and logs. */
    String describe();

    // ------------------------------------------------------------------ DCS steps

    /** Take the leader lock (create-if-absent). */
    record AcquireLock() implements Action {
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "acquire leader lock"; }
    }

    /** Renew the lease and confirm the lock, publishing our WAL position as the leader's optime. */
    record RenewLock() implements Action {
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "renew leader lock"; }
    }

    /** Delete the leader key if it is still ours. */
    record ReleaseLock() implements Action {
        @Override public String describe() { return "release leader lock"; }
    }

    /** Race for the {@code initialize} key (create-if-absent with an empty value). */
    record ClaimInitialize() implements Action {
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "claim initialize key"; }
    }

    /** Record our system identifier in the {@code initialize} key (taking over an existing data directory). */
    record WriteInitialize(String systemId, long expectedVersion) implements Action {
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "write initialize key " + systemId; }
    }

    /** Write this node's settings as the dynamic configuration, if the key is absent. */
    record WriteConfig() implements Action {
        @Override public String describe() { return "write dynamic configuration"; }
    }

    /** Delete the {@code failover} key at this version (request served or void). */
    record ClearFailover(long expectedVersion) implements Action {
        @Override public String describe() { return "clear failover key"; }
    }

    /** Compare-and-set the {@code sync} key. */
    record WriteSync(String leader, Set<String> standbys, long expectedVersion) implements Action {
        public WriteSync {
            standbys = Set.copyOf(standbys);
        }
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "write sync key " + leader + " " + new java.util.TreeSet<>(standbys); }
    }

    /** Delete the {@code sync} key (synchronous mode turned off). */
    record DeleteSync(long expectedVersion) implements Action {
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "delete sync key"; }
    }

    /** Compare-and-set the {@code history} key to this full list. */
    record WriteHistory(List<HistoryEntry> entries, long expectedVersion) implements Action {
        public WriteHistory {
            entries = List.copyOf(entries);
        }
        @Override public String describe() { return "append timeline history"; }
    }

    // ------------------------------------------------------------------ PostgreSQL steps

    /** Set {@code synchronous_standby_names}. */
    record SetSyncStandbys(SynchronousStandbys value) implements Action {
        @Override public boolean isGate() { return true; }
        @Override public String describe() { return "set synchronous_standby_names '" + value.toSetting() + "'"; }
    }

    /** Ask the controller whether local data diverged from {@code upstream}. */
    record CheckDivergence(Upstream upstream) implements Action {
        @Override public String describe() { return "check divergence from " + upstream.member(); }
    }

    /** Create a new cluster (initdb) and start it as the primary. */
    record Bootstrap() implements Action {
        @Override public boolean isLong() { return true; }
        @Override public String describe() { return "bootstrap a new cluster"; }
    }

    /** Copy data from a running member, then start streaming from it. */
    record CloneFrom(Upstream source) implements Action {
        @Override public boolean isLong() { return true; }
        @Override public String describe() { return "clone from " + source.member(); }
    }

    /** Start PostgreSQL as it is (a crashed primary restarted in place). */
    record StartPostgres() implements Action {
        @Override public boolean isLong() { return true; }
        @Override public String describe() { return "start postgres"; }
    }

    /** Become (or stay) a standby of {@code upstream}, or a read-only node with no upstream. */
    record Follow(Optional<Upstream> upstream) implements Action {
        @Override public boolean isLong() { return true; }
        @Override public String describe() {
            return upstream.map(u -> "follow " + u.member()).orElse("start read-only with no upstream");
        }
    }

    /** Promote the local standby. */
    record Promote() implements Action {
        @Override public boolean isLong() { return true; }
        @Override public String describe() { return "promote"; }
    }

    /** Stop the local primary in one of Patroni's demotion modes. */
    record Demote(DemoteMode mode) implements Action {
        @Override public boolean isLong() { return true; }
        @Override public String describe() { return "demote (" + mode.name().toLowerCase(java.util.Locale.ROOT) + ")"; }
    }

    /** Stop, pg_rewind from {@code source}, then follow it. */
    record Rewind(Upstream source) implements Action {
        @Override public boolean isLong() { return true; }
        @Override public String describe() { return "rewind from " + source.member(); }
    }

    /** Restart PostgreSQL in place (an operator's request). */
    record RestartPostgres(java.time.Duration timeout) implements Action {
        @Override public boolean isLong() { return true; }
        @Override public String describe() { return "restart postgres"; }
    }

    /** Stop PostgreSQL and remove its data, to be cloned again (an operator's request). */
    record Reinitialize() implements Action {
        @Override public boolean isLong() { return true; }
        @Override public String describe() { return "reinitialize: remove the data directory"; }
    }

    /** Reread PostgreSQL's configuration. */
    record ReloadPostgres() implements Action {
        @Override public String describe() { return "reload postgres"; }
    }

    /** Answer the operator's pending request. */
    record AnswerRequest(boolean ok, String message) implements Action {
        @Override public String describe() { return (ok ? "accept" : "refuse") + " request: " + message; }
    }

    /** Cancel the long action in progress (a promotion after the lock was lost). */
    record CancelAction() implements Action {
        @Override public String describe() { return "cancel action in progress"; }
    }

    /** Stop the node for good: a fatal, operator-level problem. */
    record Fail(String reason) implements Action {
        @Override public String describe() { return "stop node: " + reason; }
    }
}
