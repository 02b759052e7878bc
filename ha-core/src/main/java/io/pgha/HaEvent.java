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

    /** A fatal error stopped the node; it takes no further action until restarted. */
    record NodeFailed(String member, String reason) implements HaEvent {
    }
}
