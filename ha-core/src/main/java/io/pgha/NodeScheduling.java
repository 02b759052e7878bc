package io.pgha;

import io.pgha.internal.engine.SharedPools;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads that many {@link HaNode}s in one JVM share, for a service that runs HA for many clusters
 * (a control plane, a multi-tenant service). Without it every node starts four threads of its own
 * ({@code pgha-<name>-loop}, {@code -guard}, {@code -lease}, {@code -events}); with it, the nodes
 * built with {@link HaNode.Builder#scheduling(NodeScheduling)} run on a fixed number of threads,
 * however many they are:
 *
 * <pre>{@code
 * try (NodeScheduling shared = NodeScheduling.builder().loopThreads(4).build();
 *      EtcdDcs etcd = EtcdDcs.builder().endpoints("http://etcd:2379").build()) {
 *     for (Tenant t : tenants) {
 *         nodes.add(HaNode.builder().name(t.member()).scope(t.cluster()).dcs(etcd).postgres(t.postgres())
 *                 .scheduling(shared).build().start());
 *     }
 *     ...
 *     nodes.forEach(HaNode::close);
 * }
 * }</pre>
 *
 * <p>The duties stay apart as with a node's own threads, each on a pool of its own: the HA loops
 * (which start the store and PostgreSQL calls), the lease heartbeats (which start renewals), the
 * guards (only the fence timers and the PostgreSQL stops they start: no store call and no listener
 * ever runs there, so a store call stuck on a loop or a heartbeat thread, or a listener that never
 * returns, cannot delay any node's fence) and the listener calls. On every pool a node's tasks run
 * one at a time and in order, as on a thread of its own; different nodes' tasks run side by side.
 * A task that blocks (a store client that blocks its caller, a slow listener) holds one thread of
 * its pool, so size the loop, lease and event pools for how many such calls may block at once;
 * the guards need not be sized for them. Nodes built with it also share one HTTP client per TLS
 * context for their requests to peers.
 *
 * <p>Not shared: a node's REST API (one server per node, each on its own port, with its own small
 * pool) and the store client's threads (share those by giving all nodes one {@code Dcs}).
 *
 * <p>{@link #close()} stops the threads: close the nodes that use it first (closing a node leaves
 * the shared threads running). A closed {@code NodeScheduling} is refused by
 * {@link HaNode.Builder#build()}.
 */
public final class NodeScheduling implements AutoCloseable {
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final SharedPools pools;
    private final int loopThreads;
    private final int guardThreads;
    private final int leaseThreads;
    private final int eventThreads;

    private NodeScheduling(String prefix, int loopThreads, int guardThreads, int leaseThreads, int eventThreads) {
        this.loopThreads = loopThreads;
        this.guardThreads = guardThreads;
        this.leaseThreads = leaseThreads;
        this.eventThreads = eventThreads;
        this.pools = new SharedPools(prefix, loopThreads, guardThreads, leaseThreads, eventThreads);
    }

    /** A builder with the defaults (see its setters). */
    public static Builder builder() {
        return new Builder();
    }

    /** The threads this object runs: the sum of the four pools, whatever the number of nodes. */
    public int threads() {
        return loopThreads + guardThreads + leaseThreads + eventThreads;
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return pools.isClosed();
    }

    /**
     * Stops the shared threads at once; what nodes still running on them had scheduled no longer
     * runs (their loops, heartbeats and fence timers stop). Close those nodes first. Idempotent.
     */
    @Override
    public void close() {
        pools.close();
    }

    /** For {@link HaNode.Builder}. */
    SharedPools pools() {
        return pools;
    }

    @Override
    public String toString() {
        return "NodeScheduling[" + pools.prefix() + ": loop " + loopThreads + ", guard " + guardThreads + ", lease " + leaseThreads
                + ", events " + eventThreads + (isClosed() ? ", closed" : "") + "]";
    }

    /**
     * Builds a {@link NodeScheduling}. Each setter may be called once (a second call throws
     * {@link ConfigurationException}) and checks its argument at once.
     */
    public static final class Builder {
        private String threadNamePrefix;
        private Integer loopThreads;
        private Integer guardThreads;
        private Integer leaseThreads;
        private Integer eventThreads;

        private Builder() {
        }

        /**
         * The threads' names start with this, followed by {@code -loop-N}, {@code -guard-N},
         * {@code -lease-N}, {@code -events-N} (default {@code pgha-shared-<n>}, n counting the
         * instances in this JVM).
         *
         * @throws ConfigurationException if already set or blank
         * @throws NullPointerException   if the argument is null
         */
        public Builder threadNamePrefix(String prefix) {
            requireUnset("thread_name_prefix", threadNamePrefix);
            java.util.Objects.requireNonNull(prefix, "thread_name_prefix");
            if (prefix.isBlank()) {
                throw new ConfigurationException("thread_name_prefix", "must not be blank");
            }
            this.threadNamePrefix = prefix;
            return this;
        }

        /**
         * Threads for the HA loops (default: the number of processors, at least 2). A loop task
         * does not wait for the store or PostgreSQL, except in a client that blocks its caller.
         *
         * @throws ConfigurationException if already set or below 1
         */
        public Builder loopThreads(int threads) {
            requireUnset("loop_threads", loopThreads);
            this.loopThreads = requirePositive("loop_threads", threads);
            return this;
        }

        /**
         * Threads for the fence timers (default 2). They run nothing else: no store call, no listener.
         *
         * @throws ConfigurationException if already set or below 1
         */
        public Builder guardThreads(int threads) {
            requireUnset("guard_threads", guardThreads);
            this.guardThreads = requirePositive("guard_threads", threads);
            return this;
        }

        /**
         * Threads for the lease heartbeats, which renew a leader's lease when its loop is late (default 2).
         *
         * @throws ConfigurationException if already set or below 1
         */
        public Builder leaseThreads(int threads) {
            requireUnset("lease_threads", leaseThreads);
            this.leaseThreads = requirePositive("lease_threads", threads);
            return this;
        }

        /**
         * Threads that call the nodes' {@link HaListener}s (default 2): a listener that blocks holds one.
         *
         * @throws ConfigurationException if already set or below 1
         */
        public Builder eventThreads(int threads) {
            requireUnset("event_threads", eventThreads);
            this.eventThreads = requirePositive("event_threads", threads);
            return this;
        }

        /** Starts the threads. */
        public NodeScheduling build() {
            String prefix = threadNamePrefix != null ? threadNamePrefix : "pgha-shared-" + INSTANCES.incrementAndGet();
            return new NodeScheduling(prefix, loopThreads != null ? loopThreads : Math.max(2, Runtime.getRuntime().availableProcessors()),
                    guardThreads != null ? guardThreads : 2, leaseThreads != null ? leaseThreads : 2,
                    eventThreads != null ? eventThreads : 2);
        }

        private static int requirePositive(String setting, int value) {
            if (value < 1) {
                throw new ConfigurationException(setting, "must be at least 1, got " + value);
            }
            return value;
        }

        private static void requireUnset(String setting, Object current) {
            if (current != null) {
                throw new ConfigurationException(setting, "was already set");
            }
        }
    }
}
