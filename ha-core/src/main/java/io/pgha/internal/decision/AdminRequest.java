package io.pgha.internal.decision;

import java.time.Duration;
import java.util.Objects;

/** An operator's request that the loop carries out in its own time (the REST API's actions). */
public sealed interface AdminRequest {
    /** Restart PostgreSQL (the leader keeps its lock). */
    record Restart(Duration timeout) implements AdminRequest {
        public Restart {
            Objects.requireNonNull(timeout);
        }
    }

    /** Throw the data away and clone again from the leader (replicas only). */
    record Reinitialize(boolean force) implements AdminRequest {
    }

    /** Reread PostgreSQL's configuration. */
    record Reload() implements AdminRequest {
    }

    /**
     * The outcome.
     *
     * @param ok      whether it was done (or started, for a reinitialization)
     * @param message a line for the operator
     */
    record Outcome(boolean ok, String message) {
    }
}
