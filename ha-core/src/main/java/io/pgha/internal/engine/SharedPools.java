package io.pgha.internal.engine;

import io.pgha.TaskScheduler;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads behind {@code io.pgha.NodeScheduling}: four fixed pools that any number of nodes
 * share, one per duty, so that the duties stay as far apart as with a node's own threads: the
 * loops (store and PostgreSQL calls start here), the lease heartbeats (renewals start here), the
 * guards (only the fence timers and the stops they start; no store call, no listener) and the
 * listener deliveries. Each node gets, on each pool, a <em>lane</em> of its own: its tasks run one
 * at a time and in order, as on a thread of its own, while the lanes of different nodes run side by
 * side on the pool's threads. A task that blocks holds its own lane and one thread of its pool;
 * it never holds another pool.
 *
 * <p>Also keeps one JDK {@link HttpClient} per TLS context for the nodes' peer requests, instead of
 * one client (and its selector thread) per node.
 */
public final class SharedPools implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SharedPools.class);
    /** A lane runs at most this many tasks in a row before it lets other lanes of its pool go first. */
    private static final int BATCH = 32;

    private final String prefix;
    private final ScheduledThreadPoolExecutor loop;
    private final ScheduledThreadPoolExecutor guard;
    private final ScheduledThreadPoolExecutor lease;
    private final ScheduledThreadPoolExecutor events;
    private final Map<SSLContext, HttpClient> httpClients = new IdentityHashMap<>();
    private HttpClient plainHttpClient;
    private volatile boolean closed;

    public SharedPools(String prefix, int loopThreads, int guardThreads, int leaseThreads, int eventThreads) {
        this.prefix = prefix;
        this.loop = pool(prefix + "-loop-", loopThreads);
        this.guard = pool(prefix + "-guard-", guardThreads);
        this.lease = pool(prefix + "-lease-", leaseThreads);
        this.events = pool(prefix + "-events-", eventThreads);
    }

    private static ScheduledThreadPoolExecutor pool(String name, int threads) {
        AtomicInteger n = new AtomicInteger();
        ScheduledThreadPoolExecutor p = new ScheduledThreadPoolExecutor(threads, r -> {
            Thread t = new Thread(r, name + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        p.setRemoveOnCancelPolicy(true);
        p.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        p.prestartAllCoreThreads();
        return p;
    }

    /** A new lane on the loop pool, for one node's HA loop. */
    public TaskScheduler loopLane() {
        return new Lane(loop, "loop");
    }

    /** A new lane on the guard pool, for one node's fence timer. */
    public TaskScheduler guardLane() {
        return new Lane(guard, "guard");
    }

    /** A new lane on the lease pool, for one node's heartbeat renewals. */
    public TaskScheduler leaseLane() {
        return new Lane(lease, "lease");
    }

    /** A new lane on the events pool: one node's listener calls, in order. */
    public Executor eventLane() {
        Lane l = new Lane(events, "events");
        return task -> l.schedule(task, 0);
    }

    /**
     * The client for peer requests with this TLS context (none: plain HTTP), made on first use and
     * shared by every node that asks with the same context.
     */
    public synchronized HttpClient httpClient(Optional<SSLContext> tls) {
        if (tls.isEmpty()) {
            if (plainHttpClient == null) {
                plainHttpClient = newHttpClient(Optional.empty());
            }
            return plainHttpClient;
        }
        return httpClients.computeIfAbsent(tls.get(), t -> newHttpClient(Optional.of(t)));
    }

    private static HttpClient newHttpClient(Optional<SSLContext> tls) {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).version(HttpClient.Version.HTTP_1_1);
        tls.ifPresent(b::sslContext);
        return b.build();
    }

    public boolean isClosed() {
        return closed;
    }

    /** Threads' name prefix. */
    public String prefix() {
        return prefix;
    }

    /** Stops every pool at once: tasks not yet run are dropped. The HTTP clients are let go (the JDK stops them when unreferenced). */
    @Override
    public void close() {
        closed = true;
        loop.shutdownNow();
        guard.shutdownNow();
        lease.shutdownNow();
        events.shutdownNow();
        synchronized (this) {
            httpClients.clear();
            plainHttpClient = null;
        }
    }

    /**
     * One node's serial lane on a shared pool: a {@link TaskScheduler} whose tasks run one at a
     * time, in the order they fall due, like on a single thread of the node's own. A timer fires on
     * any thread of the pool and only queues its task here; the lane drains its queue on one pool
     * thread at a time, at most {@link #BATCH} tasks before it yields the thread.
     */
    private static final class Lane implements TaskScheduler {
        private final ScheduledThreadPoolExecutor pool;
        private final String duty;
        private final ArrayDeque<Task> queue = new ArrayDeque<>();
        private boolean draining;

        Lane(ScheduledThreadPoolExecutor pool, String duty) {
            this.pool = pool;
            this.duty = duty;
        }

        @Override
        public Cancellable schedule(Runnable task, long delayNanos) {
            Task t = new Task(task);
            if (delayNanos <= 0) {
                enqueue(t);
                return t;
            }
            try {
                t.timer = pool.schedule(() -> enqueue(t), delayNanos, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                // the shared pools are closed: like a closed scheduler of the node's own, nothing runs any more
            }
            return t;
        }

        private void enqueue(Task t) {
            synchronized (this) {
                queue.add(t);
                if (draining) {
                    return;
                }
                draining = true;
            }
            submitDrain();
        }

        private void submitDrain() {
            try {
                pool.execute(this::drain);
            } catch (RejectedExecutionException e) {
                synchronized (this) {
                    queue.clear();
                    draining = false;
                }
            }
        }

        private void drain() {
            for (int i = 0; i < BATCH; i++) {
                Task next;
                synchronized (this) {
                    next = queue.poll();
                    if (next == null) {
                        draining = false;
                        return;
                    }
                }
                next.runUnlessCancelled(duty);
            }
            boolean more;
            synchronized (this) {
                more = !queue.isEmpty();
                if (!more) {
                    draining = false;
                }
            }
            if (more) {
                submitDrain(); // behind the other lanes' work that queued meanwhile
            }
        }
    }

    private static final class Task implements TaskScheduler.Cancellable {
        private final Runnable task;
        private volatile boolean cancelled;
        volatile ScheduledFuture<?> timer;

        Task(Runnable task) {
            this.task = task;
        }

        void runUnlessCancelled(String duty) {
            if (cancelled) {
                return;
            }
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                LOG.error("pgha scheduled task failed on the shared {} pool", duty, e);
            }
        }

        /** A cancelled task does not run, even if its timer already fired and it waits in its lane. */
        @Override
        public void cancel() {
            cancelled = true;
            ScheduledFuture<?> f = timer;
            if (f != null) {
                f.cancel(false);
            }
        }
    }
}
