package io.pgha;

import java.util.List;
import java.util.Optional;

/**
 * Something a node decided or went through. Every HA cycle produces a {@link Decision}; role
 * changes, lease loss, fencing and failures produce their own events. Delivered in order on the
 * listener executor.
 */
public sealed interface HaEvent {
    /** The member the event is about. */
    String member();

    /**
     * One HA cycle's decision, like Patroni's per-cycle log line.
     *
     * @param reason  one human line, e.g. {@code "no action. I am (n1), the leader with the lock"}
     * @param actions what the engine is about to do, in order (empty: nothing)
     */
    record Decision(String member, String reason, List<String> actions) implements HaEvent {
        public Decision {
            actions = List.copyOf(actions);
        }
    }

    /** The node's role changed. */
    record RoleChanged(String member, Role from, Role to, String reason) implements HaEvent {
    }

    /** The leader key now names someone else (or nobody). */
    record LeaderChanged(String member, Optional<String> from, Optional<String> to) implements HaEvent {
    }

    /** The in-process fence stopped PostgreSQL writes because the lease could not be renewed in time. */
    record Fenced(String member, String reason) implements HaEvent {
    }

    /** An action failed; the engine goes on and decides again. */
    record ActionFailed(String member, String action, String error) implements HaEvent {
    }

    /**
     * The node did something to its PostgreSQL server and it succeeded: what Patroni's
     * {@code postgresql.callbacks} ({@code on_start}, {@code on_stop}, {@code on_restart},
     * {@code on_reload}, {@code on_role_change}) are run for. A role change is reported as
     * {@link PostgresChange#ROLE_CHANGED} only, not also as a start or restart, as in Patroni.
     *
     * @param change what happened
     * @param role   the server's role afterwards, in Patroni's words: {@code primary}, {@code replica}
     *               or {@code demoted}
     */
    record PostgresChanged(String member, PostgresChange change, String role) implements HaEvent {
    }

    /** What a {@link PostgresChanged} event reports, with Patroni's callback for each. */
    enum PostgresChange {
        /** {@code on_start} */
        STARTED("on_start"),
        /** {@code on_stop} */
        STOPPED("on_stop"),
        /** {@code on_restart} */
        RESTARTED("on_restart"),
        /** {@code on_reload} */
        RELOADED("on_reload"),
        /** {@code on_role_change} */
        ROLE_CHANGED("on_role_change");

        private final String callback;

        PostgresChange(String callback) {
            this.callback = callback;
        }

        /** Patroni's name of the callback for this change, e.g. {@code on_role_change}. */
        public String callback() {
            return callback;
        }
    }

    /** A fatal error stopped the node; it takes no further action until restarted. */
    record NodeFailed(String member, String reason) implements HaEvent {
    }
}
