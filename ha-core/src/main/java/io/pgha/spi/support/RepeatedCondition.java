package io.pgha.spi.support;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * Logs a condition that repeats, like a store that cannot be reached, as a handful of lines instead
 * of one per occurrence: one WARN line when it begins, naming the cause; a WARN reminder with the
 * count now and then while it lasts (after 30 s, then at doubling intervals up to every 10 minutes:
 * a 10-minute outage is six lines in all); one INFO line when it ends, with how long it lasted and
 * how often it occurred.
 *
 * <pre>{@code
 * RepeatedCondition outage = new RepeatedCondition(LOG, "etcd at [10.0.0.1:2379] is unreachable",
 *         "etcd at [10.0.0.1:2379] is reachable again", "failed calls");
 * outage.occurred("connection refused"); // WARN etcd at [10.0.0.1:2379] is unreachable: connection refused
 * outage.occurred("connection refused"); // counted, not logged
 * outage.ended();                        // INFO etcd at [10.0.0.1:2379] is reachable again after 2.1 s, 2 failed calls
 * }</pre>
 *
 * <p>The cause is logged as given: pass one line (an exception's own message may carry a stack
 * trace). Thread-safe.
 */
public final class RepeatedCondition {
    /** The first reminder's delay by default; later ones double it. */
    public static final Duration FIRST_REMINDER = Duration.ofSeconds(30);
    /** The longest time between two reminders by default. */
    public static final Duration MAX_REMINDER = Duration.ofMinutes(10);

    private final Logger log;
    private final String condition;
    private final String ended;
    private final String unit;
    private final long firstReminder;
    private final long maxReminder;
    private final LongSupplier nanoTime;

    // guarded by this
    private boolean active;
    private long since;
    private long count;
    private long nextReminder;
    private long interval;

    /**
     * With the default reminders ({@link #FIRST_REMINDER}, {@link #MAX_REMINDER}) on
     * {@link System#nanoTime()}.
     *
     * @param log       where the lines go
     * @param condition the condition as a sentence, e.g. {@code "etcd at [h:2379] is unreachable"}
     * @param ended     its end as a sentence, e.g. {@code "etcd at [h:2379] is reachable again"}
     * @param unit      what is counted, plural, e.g. {@code "failed calls"}
     */
    public RepeatedCondition(Logger log, String condition, String ended, String unit) {
        this(log, condition, ended, unit, FIRST_REMINDER, MAX_REMINDER, System::nanoTime);
    }

    /**
     * @param firstReminder how long after the beginning the first reminder is due; each later one
     *                      comes twice as long after the previous one
     * @param maxReminder   the longest time between two reminders
     * @param nanoTime      a monotonic clock in nanoseconds
     * @throws IllegalArgumentException if a reminder interval is not positive, or the first is longer than the longest
     */
    public RepeatedCondition(Logger log, String condition, String ended, String unit, Duration firstReminder, Duration maxReminder,
                             LongSupplier nanoTime) {
        this.log = Objects.requireNonNull(log, "log");
        this.condition = Objects.requireNonNull(condition, "condition");
        this.ended = Objects.requireNonNull(ended, "ended");
        this.unit = Objects.requireNonNull(unit, "unit");
        this.firstReminder = Objects.requireNonNull(firstReminder, "firstReminder").toNanos();
        this.maxReminder = Objects.requireNonNull(maxReminder, "maxReminder").toNanos();
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        if (this.firstReminder <= 0 || this.maxReminder < this.firstReminder) {
            throw new IllegalArgumentException("reminders must be positive, the first no longer than the longest");
        }
    }

    /**
     * The condition occurred (again). Logs the beginning, or a reminder when one is due; otherwise
     * only counts. Returns whether a line was logged.
     *
     * @param cause one line naming the cause, e.g. {@code "connection refused"}
     */
    public boolean occurred(String cause) {
        Objects.requireNonNull(cause, "cause");
        long now = nanoTime.getAsLong();
        long n;
        long lasted;
        synchronized (this) {
            count++;
            if (!active) {
                active = true;
                since = now;
                interval = firstReminder;
                nextReminder = now + interval;
                n = 0;
                lasted = 0;
            } else if (now - nextReminder >= 0) {
                interval = Math.min(maxReminder, interval * 2);
                nextReminder = now + interval;
                n = count;
                lasted = now - since;
            } else {
                return false;
            }
        }
        if (n == 0) {
            log.warn("{}: {}", condition, cause);
        } else {
            log.warn("{} for {} now, {} {}: {}", condition, seconds(lasted), n, unit, cause);
        }
        return true;
    }

    /** The condition is over (a call succeeded). Logs the end if it was active; returns whether it did. */
    public boolean ended() {
        long now = nanoTime.getAsLong();
        long n;
        long lasted;
        synchronized (this) {
            if (!active) {
                return false;
            }
            active = false;
            n = count;
            lasted = now - since;
            count = 0;
        }
        log.info("{} after {}, {} {}", ended, seconds(lasted), n, unit);
        return true;
    }

    /** Whether the condition is going on (occurred and not ended since). */
    public synchronized boolean active() {
        return active;
    }

    /** How often it occurred since it began; 0 when it is not going on. */
    public synchronized long occurrences() {
        return count;
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }
}
