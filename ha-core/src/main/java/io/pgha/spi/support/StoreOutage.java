package io.pgha.spi.support;

import java.util.Objects;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * "The store cannot be reached", judged from a store's calls in the order they began, and logged as
 * a {@link RepeatedCondition}: one WARN line naming the cause when calls begin to fail, a reminder
 * with the count now and then, one INFO line when a call is answered again
 * ({@code "etcd at [h:2379] is reachable again after 12.3 s, 12 failed calls"}).
 *
 * <p>Calls overlap, so their outcomes arrive out of order. A failure of a call begun before the
 * newest answer is no news about the store now and starts nothing; an answer to a call begun before
 * the newest failure (one the store was still finishing as it went away) ends nothing. Pass each
 * call's start as {@link System#nanoTime()} (or the ticker given here). Thread-safe; one per store
 * connection, shared by its sessions and watches.
 */
public final class StoreOutage {
    private final RepeatedCondition condition;
    private final LongSupplier nanoTime;
    /** When the newest answer that counted came; a call begun before it proves nothing new when it fails. */
    private volatile long lastAnswer;
    /** When the newest failure that counted came; an answer to a call begun before it proves nothing new either. */
    private volatile long lastFailure;

    /**
     * @param log   where the lines go
     * @param store the store as the lines name it, e.g. {@code "etcd at [10.0.0.1:2379]"}
     */
    public StoreOutage(Logger log, String store) {
        this(new RepeatedCondition(Objects.requireNonNull(log, "log"), store + " is unreachable", store + " is reachable again",
                "failed calls"), System::nanoTime);
    }

    /** Over a condition of the caller's (its own reminder intervals and ticker), for tests. */
    public StoreOutage(RepeatedCondition condition, LongSupplier nanoTime) {
        this.condition = Objects.requireNonNull(condition, "condition");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        long now = nanoTime.getAsLong();
        this.lastAnswer = now - Long.MAX_VALUE / 2;
        this.lastFailure = now - Long.MAX_VALUE / 2;
    }

    /** A call begun at {@code startedNanos} did not reach the store, for this reason (one line, no stack trace). */
    public void failed(long startedNanos, String reason) {
        if (startedNanos - lastAnswer < 0) {
            return; // begun before the newest answer: no news about the store now
        }
        lastFailure = nanoTime.getAsLong();
        condition.occurred(reason);
    }

    /** A call begun at {@code startedNanos} was answered (with a result or a refusal). */
    public void answered(long startedNanos) {
        if (startedNanos - lastFailure < 0) {
            return; // begun before the newest failure: the store finished it while going away
        }
        lastAnswer = nanoTime.getAsLong();
        condition.ended();
    }

    /** How many calls failed to reach the store since it became unreachable; 0 while it is reachable. */
    public long failedCalls() {
        return condition.occurrences();
    }
}
