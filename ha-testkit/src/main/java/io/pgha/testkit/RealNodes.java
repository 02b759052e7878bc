package io.pgha.testkit;

import io.pgha.HaNode;
import io.pgha.TaskScheduler;
import io.pgha.internal.InternalAccess;
import io.pgha.internal.engine.ThreadTaskScheduler;
import java.util.Objects;

/**
 * What a test of real {@link HaNode}s on real time needs beyond the public API: a scheduler on a
 * thread of its own for {@link FakePostgres} (its "processes" then run beside the node, as a real
 * server would), and the death of a node's process. For tests of a store module against a real
 * etcd, ZooKeeper or Consul; virtual-time tests use {@link VirtualCluster} instead.
 *
 * <pre>{@code
 * RealNodes.Scheduler proc = closer.add(RealNodes.scheduler("pg-n1"));
 * FakePostgres pg = new FakePostgres("n1", network, Ticker.system(), proc, new FakePostgres.Timings());
 * HaNode node = closer.add(HaNode.builder().name("n1").dcs(dcs).postgres(pg)...build()).start();
 * ...
 * RealNodes.kill(node);   // the node's process dies
 * pg.crash();             // and its PostgreSQL with it
 * }</pre>
 */
public final class RealNodes {
    private RealNodes() {
    }

    /**
     * A scheduler on one named daemon thread, on {@link System#nanoTime()} (so with
     * {@link io.pgha.Ticker#system()}): the one a real node runs on. Close it at the end of the test.
     */
    public static Scheduler scheduler(String threadName) {
        return new Scheduler(new ThreadTaskScheduler(Objects.requireNonNull(threadName, "threadName")));
    }

    /**
     * Kills {@code node} as if its process died: from this call on it does nothing at all, no more
     * cycles, no events, nothing released, no lease renewed or revoked, no fence disarmed. Its lease
     * expires in the store by itself. Its PostgreSQL is not touched (crash a {@link FakePostgres}
     * with {@link FakePostgres#crash()}). Closing the node afterwards is harmless.
     */
    public static void kill(HaNode node) {
        InternalAccess.engine(Objects.requireNonNull(node, "node")).kill();
    }

    /** A {@link TaskScheduler} on a thread of its own; {@link #close()} stops the thread. */
    public static final class Scheduler implements TaskScheduler, AutoCloseable {
        private final ThreadTaskScheduler delegate;

        private Scheduler(ThreadTaskScheduler delegate) {
            this.delegate = delegate;
        }

        @Override
        public Cancellable schedule(Runnable task, long delayNanos) {
            return delegate.schedule(task, delayNanos);
        }

        /** Stops the thread; tasks not run yet never run. */
        @Override
        public void close() {
            delegate.close();
        }
    }
}
