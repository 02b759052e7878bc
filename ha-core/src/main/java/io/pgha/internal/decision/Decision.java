package io.pgha.internal.decision;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What one HA cycle decided: the steps to run, in order, and one human line saying why.
 *
 * @param reason      like Patroni's per-cycle log line
 * @param actions     the steps: quick ones, then at most one long step
 * @param recheckSoon run the next cycle right after these steps instead of waiting {@code loop_wait}
 *                    (a multi-step procedure that needs a fresh observation between steps)
 */
public record Decision(String reason, List<Action> actions, boolean recheckSoon) {
    public Decision {
        Objects.requireNonNull(reason, "reason");
        actions = List.copyOf(actions);
        for (int i = 0; i < actions.size(); i++) {
            if (actions.get(i) instanceof Action.LongRunning && i != actions.size() - 1) {
                throw new IllegalArgumentException("a long action must be the last step: " + actions);
            }
        }
    }

    /** The quick steps, in order: every step but a long last one. */
    public List<Action.Quick> quickSteps() {
        List<Action.Quick> quick = new ArrayList<>(actions.size());
        for (Action a : actions) {
            if (a instanceof Action.Quick q) {
                quick.add(q);
            }
        }
        return quick;
    }

    /** The long step that ends the decision, if any. */
    public Optional<Action.LongRunning> longStep() {
        if (!actions.isEmpty() && actions.get(actions.size() - 1) instanceof Action.LongRunning last) {
            return Optional.of(last);
        }
        return Optional.empty();
    }

    public static Decision of(String reason, Action... actions) {
        return new Decision(reason, List.of(actions), false);
    }

    public static Decision soon(String reason, Action... actions) {
        return new Decision(reason, List.of(actions), true);
    }

    public static Decision nothing(String reason) {
        return new Decision(reason, List.of(), false);
    }

    public boolean isNothing() {
        return actions.isEmpty();
    }

    public List<String> describe() {
        return actions.stream().map(Action::describe).toList();
    }

    @Override
    public String toString() {
        return reason + (actions.isEmpty() ? "" : " " + describe());
    }
}
