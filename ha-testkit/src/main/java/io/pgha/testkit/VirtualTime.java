package io.pgha.testkit;

import io.pgha.TaskScheduler;
import io.pgha.Ticker;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Virtual time for deterministic tests: a {@link Ticker} that only moves when tasks run, and
 * {@link TaskScheduler}s whose tasks run one at a time, in time order, on the caller's thread.
 * Same seed, same schedule, same run.
 *
 * <p>Every scheduler belongs to an {@link Owner} (a node's JVM, a PostgreSQL process, the store).
 * Freezing an owner parks its due tasks without running them — a paused JVM, a stuck thread — and
 * thawing it runs them in their original order, late. Time zero is {@code 1_000_000_000} so that
 * arithmetic around it never crosses zero.
 */
public final class VirtualTime implements Ticker {
    private static final long START = 1_000_000_000L;

    private final PriorityQueue<Task> queue = new PriorityQueue<>();
    private long now = START;
    private long seq;
    private long steps;
    private Runnable afterStep = () -> { };

    /** A group of tasks that can be frozen together. */
    public final class Owner {
        private final String name;
        private boolean frozen;
        private final ArrayDeque<Task> parked = new ArrayDeque<>();

        private Owner(String name) {
            this.name = name;
        }

        public String name() {
            return name;
        }

        /** A scheduler whose tasks belong to this owner. */
        public TaskScheduler scheduler() {
            return (task, delayNanos) -> VirtualTime.this.schedule(this, task, delayNanos);
        }

        public boolean isFrozen() {
            return frozen;
        }

        /** Parks this owner's tasks as they fall due, until {@link #thaw()}. */
        public void freeze() {
            frozen = true;
        }

        /** Runs the parked tasks, in order, as soon as possible (they are late). */
        public void thaw() {
            frozen = false;
            while (!parked.isEmpty()) {
                Task t = parked.poll();
                if (!t.cancelled) {
                    queue.add(new Task(now, seq++, this, t.body));
                }
            }
        }

        /** Drops every pending task of this owner (a process that died). */
        public void discardAll() {
            parked.clear();
            queue.removeIf(t -> t.owner == this);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static final class Task implements Comparable<Task>, TaskScheduler.Cancellable {
        final long at;
        final long seq;
        final Owner owner;
        final Runnable body;
        boolean cancelled;

        Task(long at, long seq, Owner owner, Runnable body) {
            this.at = at;
            this.seq = seq;
            this.owner = owner;
            this.body = body;
        }

        @Override
        public int compareTo(Task o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    public Owner owner(String name) {
        return new Owner(name);
    }

    @Override
    public long read() {
        return now;
    }

    /** Virtual time elapsed since the start. */
    public Duration elapsed() {
        return Duration.ofNanos(now - START);
    }

    /** How many tasks ran. */
    public long steps() {
        return steps;
    }

    /** Called after every task: the place for invariant checks. */
    public void afterEachStep(Runnable check) {
        this.afterStep = check;
    }

    private TaskScheduler.Cancellable schedule(Owner owner, Runnable task, long delayNanos) {
        Task t = new Task(now + Math.max(0, delayNanos), seq++, owner, task);
        queue.add(t);
        return t;
    }

    /**
     * Takes the next due task: runs it, or parks it if its owner is frozen. Returns false when
     * nothing is scheduled.
     */
    public boolean step() {
        Task t = peekLive();
        if (t == null) {
            return false;
        }
        queue.poll();
        now = Math.max(now, t.at);
        if (t.owner.frozen) {
            t.owner.parked.add(t);
            return true;
        }
        steps++;
        t.body.run();
        afterStep.run();
        return true;
    }

    /** Runs every task due up to {@code now + d}, then sets the clock there. */
    public void advance(Duration d) {
        runUntil(now + d.toNanos());
    }

    /** Runs tasks due at or before {@code deadline} (ticker time), then sets the clock to it. */
    public void runUntil(long deadline) {
        while (true) {
            Task head = peekLive();
            if (head == null || head.at > deadline) {
                break;
            }
            step();
        }
        now = Math.max(now, deadline);
    }

    /**
     * Runs until {@code condition} holds (checked after every task) or {@code limit} of virtual time
     * passed; returns whether it holds.
     */
    public boolean runUntil(java.util.function.BooleanSupplier condition, Duration limit) {
        long deadline = now + limit.toNanos();
        if (condition.getAsBoolean()) {
            return true;
        }
        while (true) {
            Task head = peekLive();
            if (head == null || head.at > deadline) {
                now = Math.max(now, deadline);
                return condition.getAsBoolean();
            }
            step();
            if (condition.getAsBoolean()) {
                return true;
            }
        }
    }

    private Task peekLive() {
        while (true) {
            Task t = queue.peek();
            if (t == null || !t.cancelled) {
                return t;
            }
            queue.poll();
        }
    }

    /** Names of owners with pending tasks, for debugging a stuck simulation. */
    public List<String> pendingOwners() {
        List<String> names = new ArrayList<>();
        for (Task t : queue) {
            if (!t.cancelled && !names.contains(t.owner.name)) {
                names.add(t.owner.name);
            }
        }
        return names;
    }
}
