package io.pgha.bench;

import io.pgha.HaNode;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.dcs.consul.ConsulDcs;
import io.pgha.dcs.etcd.EtcdDcs;
import io.pgha.dcs.zookeeper.ZooKeeperDcs;
import io.pgha.internal.engine.ThreadTaskScheduler;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.support.ForwardingDcsSession;
import io.pgha.testkit.FakePostgres;
import io.pgha.testkit.servers.ConsulAgent;
import io.pgha.testkit.servers.EtcdCluster;
import io.pgha.testkit.servers.ZooKeeperProcess;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Many HA nodes in one JVM: {@code nodes} {@link HaNode}s in clusters of {@code clusterSize}, each
 * on a {@link FakePostgres}, all on one real store server through one shared {@link Dcs}. Prints
 * the time until every cluster has a leader, the heap and the threads the nodes add, the CPU and
 * the store requests of the idle nodes, and (clusters of two or more) the failover time of one
 * cluster while the others run.
 *
 * <pre>bench/many-nodes.sh [nodes=1000] [clusterSize=1] [store=etcd|zookeeper|consul] [scheduling=own|shared] [ttl=30] [retry_timeout=10]</pre>
 *
 * <p>loop_wait is 1 s; ttl and retry_timeout are Patroni's defaults (on Consul, which keeps a lease
 * for half the ttl, the ttl is 45 s). A cluster that has no leader after five minutes is reported with its members' last
 * decisions, and the rest is measured on the clusters that have one.
 *
 * <p>{@code own}: every node builds its own threads (the default); {@code shared}: all nodes run
 * on one {@link io.pgha.NodeScheduling} (when this build has it). The store server is started on
 * free loopback ports in a temp folder and always stopped.
 */
public final class ManyNodes {
    private static final Duration LOOP_WAIT = Duration.ofSeconds(1);
    /** How long to wait for every cluster's leader before measuring the clusters that have one. */
    private static final Duration LEADER_LIMIT = Duration.ofMinutes(5);
    /** After the leaders: start-up compilation and the replicas' first cycles die down. */
    private static final Duration SETTLE = Duration.ofSeconds(15);
    private static final Duration IDLE_WINDOW = Duration.ofSeconds(30);

    private ManyNodes() {
    }

    public static void main(String[] args) throws Exception {
        io.pgha.agent.Agent.quietJul();
        quietLogs();
        int requested = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int clusterSize = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        String storeKind = args.length > 2 ? args[2] : "etcd";
        String scheduling = args.length > 3 ? args[3] : "own";
        // Patroni's ttl and retry_timeout (a start of 1000 nodes at once on a busy machine outlasts a
        // short retry_timeout); Consul keeps a lease for ttl/2 only, so there the ttl is 45 s
        Duration ttl = Duration.ofSeconds(args.length > 4 ? Long.parseLong(args[4]) : storeKind.equals("consul") ? 45 : 30);
        Duration retryTimeout = Duration.ofSeconds(args.length > 5 ? Long.parseLong(args[5]) : 10);
        if (clusterSize < 1 || requested < clusterSize) {
            throw new IllegalArgumentException("need nodes >= clusterSize >= 1");
        }
        int clusters = requested / clusterSize;
        int nodes = clusters * clusterSize;
        System.out.printf(Locale.ROOT, "pgha many nodes: %d nodes as %d clusters of %d on %s, scheduling %s; ttl %d s, loop_wait %d s, "
                        + "retry_timeout %d s; %d cores, %s%n", nodes, clusters, clusterSize, storeKind, scheduling, ttl.toSeconds(),
                LOOP_WAIT.toSeconds(), retryTimeout.toSeconds(), Runtime.getRuntime().availableProcessors(), loadNote());

        try (Store store = Store.start(storeKind);
             ThreadTaskScheduler fakeProcesses = new ThreadTaskScheduler("fake-postgres")) {
            CountingDcs dcs = new CountingDcs(store.dcs());
            Scheduling shared = Scheduling.of(scheduling);
            Measure before = Measure.now();
            List<Cluster> all = new ArrayList<>();
            FakePostgres.Timings timings = new FakePostgres.Timings();
            long t0 = System.nanoTime();
            for (int c = 0; c < clusters; c++) {
                String scope = String.format(Locale.ROOT, "c%04d", c);
                FakePostgres.Network net = new FakePostgres.Network(c);
                Cluster cl = new Cluster(scope);
                for (int m = 1; m <= clusterSize; m++) {
                    String name = "m" + m;
                    FakePostgres pg = new FakePostgres(name, net, Ticker.system(), fakeProcesses, timings);
                    HaNode.Builder b = HaNode.builder().name(name).scope(scope).dcs(dcs.forNode(scope, name)).postgres(pg)
                            .ttl(ttl).loopWait(LOOP_WAIT).retryTimeout(retryTimeout);
                    shared.apply(b);
                    cl.nodes.add(b.build());
                    cl.postgres.add(pg);
                }
                all.add(cl);
                cl.nodes.forEach(HaNode::start);
            }
            long started = System.nanoTime();
            long leaders = awaitAll(all, Cluster::hasLeader, t0);
            long settled = awaitAll(all, Cluster::settled, t0);
            String leaderless = leaderless(all);

            Thread.sleep(SETTLE.toMillis());
            Idle idle = Idle.measure(dcs, store, nodes, IDLE_WINDOW);
            Measure after = Measure.now();
            String threadKinds = threadKinds();
            String watches = store.watches();

            Optional<Duration> lostSession = Optional.empty();
            Optional<Duration> silentCrash = Optional.empty();
            if (clusterSize > 1 && all.get(0).hasLeader() && all.get(1).hasLeader()) {
                lostSession = Optional.of(failover(all.get(0), dcs, true));
                silentCrash = Optional.of(failover(all.get(1), dcs, false));
            }

            System.out.println();
            row("nodes / clusters / store / scheduling", nodes + " / " + clusters + " x " + clusterSize + " / " + store.name() + " / " + scheduling);
            row("start() of all nodes took", ms(started - t0));
            row("time until every cluster has a leader (from the first start)", leaders < 0 ? "not within "
                    + LEADER_LIMIT.toMinutes() + " min: " + leaderless : ms(leaders - t0));
            row("time until every member leads or streams", settled < 0 ? "not within " + LEADER_LIMIT.toMinutes() + " min" : ms(settled - t0));
            row("heap after GC, added by the nodes", String.format(Locale.ROOT, "%.1f MiB total, %.1f KiB per node",
                    (after.heapUsed - before.heapUsed) / 1048576.0, (after.heapUsed - before.heapUsed) / 1024.0 / nodes));
            row("threads before nodes / with nodes (peak)", before.threads + " / " + after.threads + " (" + after.peakThreads + ")");
            row("threads added per node", String.format(Locale.ROOT, "%.2f", (after.threads - before.threads) / (double) nodes));
            row("process CPU idle, per node", String.format(Locale.ROOT, "%.3f %% of a core (whole JVM %.1f %%)",
                    idle.cpuPercent / nodes, idle.cpuPercent));
            row("store server CPU idle", idle.serverCpuPercent < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f %% of a core", idle.serverCpuPercent));
            row("store calls at the Dcs boundary per node per s", String.format(Locale.ROOT, "%.3f (of which read(): %.3f, %s)",
                    idle.callsPerNode, idle.readsPerNode, idle.callMix));
            row("requests the store server received per node per s", idle.serverRequestsPerNode < 0 ? "n/a"
                    : String.format(Locale.ROOT, "%.3f (%s)", idle.serverRequestsPerNode, store.requestMetric()));
            row("watches the store server holds", watches);
            row("failover, leader's store session lost (lease revoked)", lostSession.map(ManyNodes::ms).orElse(clusterSize > 1 ? "n/a (no leader to stop)" : "n/a (1-node clusters)"));
            row("failover, leader crashed silently (lease expires)", silentCrash.map(ManyNodes::ms).orElse(clusterSize > 1 ? "n/a (no leader to stop)" : "n/a (1-node clusters)"));
            System.out.println();
            System.out.println("threads by kind (with nodes): " + threadKinds);

            List<CompletableFuture<Void>> closing = new ArrayList<>();
            for (Cluster cl : all) {
                for (HaNode n : cl.nodes) {
                    closing.add(n.closeAsync().toCompletableFuture());
                }
            }
            try {
                CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).get(2, TimeUnit.MINUTES);
            } catch (Exception e) {
                System.out.println("not every node closed within 2 minutes: " + e);
            }
            shared.close();
            dcs.close();
        }
    }

    /** When every cluster passed {@code test} (ticker time), or -1 if some had not within {@link #LEADER_LIMIT}. */
    private static long awaitAll(List<Cluster> all, java.util.function.Predicate<Cluster> test, long t0) throws InterruptedException {
        while (!all.stream().allMatch(test)) {
            if (System.nanoTime() - t0 > LEADER_LIMIT.toNanos()) {
                return -1;
            }
            Thread.sleep(100);
        }
        return System.nanoTime();
    }

    /** How many clusters have no leader, and the last decisions of a few of their members. */
    private static String leaderless(List<Cluster> all) {
        List<Cluster> without = all.stream().filter(c -> !c.hasLeader()).toList();
        if (without.isEmpty()) {
            return "none";
        }
        Map<String, Integer> reasons = new TreeMap<>();
        for (Cluster c : without) {
            for (HaNode n : c.nodes) {
                reasons.merge(n.status().role() + ": " + n.status().lastDecision().replaceAll("c\\d{4}|m\\d+", "_"), 1, Integer::sum);
            }
        }
        return without.size() + " of " + all.size() + " clusters without a leader; their members' last decisions: " + reasons;
    }

    /**
     * Stops one cluster's leader abruptly and times until another member leads. {@code revoke}: its
     * store session is closed (the lease revoked, the leader key gone at once), else its store
     * calls fail from now on and the lease runs out; either way its PostgreSQL crashes with it.
     */
    private static Duration failover(Cluster cl, CountingDcs dcs, boolean revoke) {
        int leader = cl.leaderIndex().orElseThrow();
        HaNode old = cl.nodes.get(leader);
        long t0 = System.nanoTime();
        dcs.cut(cl.scope, old.name(), revoke);
        cl.postgres.get(leader).crash();
        Waits.until("a new leader in " + cl.scope, () -> {
            for (int i = 0; i < cl.nodes.size(); i++) {
                if (i != leader && cl.nodes.get(i).status().role() == Role.PRIMARY && cl.postgres.get(i).acceptsWrites()) {
                    return true;
                }
            }
            return false;
        }, Duration.ofMinutes(2), 5);
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    private static final class Cluster {
        final String scope;
        final List<HaNode> nodes = new ArrayList<>();
        final List<FakePostgres> postgres = new ArrayList<>();

        Cluster(String scope) {
            this.scope = scope;
        }

        Optional<Integer> leaderIndex() {
            for (int i = 0; i < nodes.size(); i++) {
                if (nodes.get(i).status().role() == Role.PRIMARY) {
                    return Optional.of(i);
                }
            }
            return Optional.empty();
        }

        boolean hasLeader() {
            return leaderIndex().isPresent();
        }

        boolean settled() {
            return hasLeader() && nodes.stream().allMatch(n -> n.status().role() == Role.PRIMARY || n.status().role() == Role.REPLICA)
                    && postgres.stream().allMatch(p -> p.acceptsWrites() || p.isStreaming());
        }
    }

    /** The nodes' scheduling: their own threads, or one shared set. */
    private interface Scheduling extends AutoCloseable {
        void apply(HaNode.Builder b);

        @Override
        void close();

        static Scheduling of(String kind) {
            if (kind.equals("shared")) {
                io.pgha.NodeScheduling shared = io.pgha.NodeScheduling.builder().build();
                return new Scheduling() {
                    @Override
                    public void apply(HaNode.Builder b) {
                        b.scheduling(shared);
                    }

                    @Override
                    public void close() {
                        shared.close();
                    }
                };
            }
            if (kind.equals("own")) {
                return new Scheduling() {
                    @Override
                    public void apply(HaNode.Builder b) {
                    }

                    @Override
                    public void close() {
                    }
                };
            }
            throw new IllegalArgumentException("scheduling must be own or shared, got " + kind);
        }
    }

    /** Heap after GC and threads, now. */
    private record Measure(long heapUsed, int threads, int peakThreads) {
        static Measure now() {
            for (int i = 0; i < 3; i++) {
                System.gc();
            }
            return new Measure(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(),
                    ManagementFactory.getThreadMXBean().getThreadCount(), ManagementFactory.getThreadMXBean().getPeakThreadCount());
        }
    }

    private record Idle(double cpuPercent, double serverCpuPercent, double callsPerNode, double readsPerNode, String callMix,
                        double serverRequestsPerNode) {
        static Idle measure(CountingDcs dcs, Store store, int nodes, Duration window) throws Exception {
            com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long cpu0 = os.getProcessCpuTime();
            long server0 = cpuTicks(store.pid());
            Map<String, Long> calls0 = dcs.snapshot();
            double req0 = store.requests();
            long t0 = System.nanoTime();
            Thread.sleep(window.toMillis());
            long cpu1 = os.getProcessCpuTime();
            long server1 = cpuTicks(store.pid());
            Map<String, Long> calls1 = dcs.snapshot();
            double req1 = store.requests();
            double secs = (System.nanoTime() - t0) / 1e9;
            long total = 0;
            StringBuilder mix = new StringBuilder();
            for (Map.Entry<String, Long> e : calls1.entrySet()) {
                long d = e.getValue() - calls0.getOrDefault(e.getKey(), 0L);
                total += d;
                if (d > 0) {
                    mix.append(mix.length() == 0 ? "" : ", ").append(e.getKey()).append(' ')
                            .append(String.format(Locale.ROOT, "%.3f", d / secs / nodes));
                }
            }
            long reads = calls1.getOrDefault("read", 0L) - calls0.getOrDefault("read", 0L);
            return new Idle((cpu1 - cpu0) / 1e9 / secs * 100, server0 < 0 ? -1 : (server1 - server0) / 100.0 / secs * 100,
                    total / secs / nodes, reads / secs / nodes, mix.toString(), req0 < 0 ? -1 : (req1 - req0) / secs / nodes);
        }
    }

    private static long cpuTicks(long pid) {
        if (pid <= 0) {
            return -1;
        }
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (Exception e) {
            return -1;
        }
    }

    /** Live threads grouped by name, node and pool numbers folded ({@code pgha-m1-loop} and {@code pgha-m2-loop} are one kind). */
    private static String threadKinds() {
        Map<String, Integer> kinds = new TreeMap<>();
        for (ThreadInfo t : ManagementFactory.getThreadMXBean().dumpAllThreads(false, false)) {
            String k = t.getThreadName().replaceAll("pgha-m\\d+-", "pgha-<node>-").replaceAll("\\d+", "N");
            kinds.merge(k, 1, Integer::sum);
        }
        StringBuilder sb = new StringBuilder();
        kinds.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue()).limit(14)
                .forEach(e -> sb.append(sb.length() == 0 ? "" : ", ").append(e.getKey()).append(" x").append(e.getValue()));
        return sb.toString();
    }

    private static void row(String what, String value) {
        System.out.printf(Locale.ROOT, "| %-62s | %s |%n", what, value);
    }

    private static String ms(long nanos) {
        return ms(Duration.ofNanos(nanos));
    }

    private static String ms(Duration d) {
        return String.format(Locale.ROOT, "%.2f s", d.toMillis() / 1000.0);
    }

    private static String loadNote() {
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return String.format(Locale.ROOT, "load average %.2f at start%s", load,
                load > Runtime.getRuntime().availableProcessors() / 2.0 ? " (a busy machine: figures taken under load)" : "");
    }

    private static void quietLogs() {
        org.slf4j.Logger root = org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (root instanceof ch.qos.logback.classic.Logger l) {
            l.setLevel(ch.qos.logback.classic.Level.toLevel(System.getProperty("pgha.bench.log", "ERROR")));
        }
    }

    // ============================================================================ the store

    /** One real store server on loopback and the one {@link Dcs} every node shares. */
    private abstract static class Store implements AutoCloseable {
        abstract String name();

        abstract Dcs dcs();

        /** Requests the server counted so far, or -1. */
        abstract double requests();

        abstract String requestMetric();

        abstract long pid();

        /** What the server says about its watches, if it says. */
        String watches() {
            return "n/a";
        }

        static Store start(String kind) throws Exception {
            return switch (kind) {
                case "etcd" -> new Etcd();
                case "zookeeper" -> new ZooKeeper();
                case "consul" -> new Consul();
                default -> throw new IllegalArgumentException("store must be etcd, zookeeper or consul, got " + kind);
            };
        }
    }

    private static final class Etcd extends Store {
        private final EtcdCluster etcd = EtcdCluster.single();
        private final EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build();

        @Override
        String name() {
            return "etcd (one server)";
        }

        @Override
        Dcs dcs() {
            return dcs;
        }

        @Override
        double requests() {
            double sum = 0;
            for (String l : etcd.metrics(0).lines().toList()) {
                // every request message: unary calls, lease keep-alives and watch creations on their streams
                if (l.startsWith("grpc_server_msg_received_total{")) {
                    sum += Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
                }
            }
            return sum;
        }

        @Override
        String requestMetric() {
            return "etcd's grpc_server_msg_received_total";
        }

        @Override
        long pid() {
            return etcd.member(0).pid();
        }

        @Override
        String watches() {
            double streams = 0;
            double watchers = 0;
            for (String l : etcd.metrics(0).lines().toList()) {
                if (l.startsWith("etcd_debugging_mvcc_watch_stream_total ")) {
                    streams = Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
                } else if (l.startsWith("etcd_debugging_mvcc_watcher_total ")) {
                    watchers = Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
                }
            }
            return String.format(Locale.ROOT, "%.0f watch streams, %.0f watchers (etcd_debugging_mvcc_watch_stream_total, _watcher_total)",
                    streams, watchers);
        }

        @Override
        public void close() {
            try {
                dcs.close();
            } finally {
                etcd.close();
            }
        }
    }

    private static final class ZooKeeper extends Store {
        private final ZooKeeperProcess zk;
        private final ZooKeeperDcs dcs;

        ZooKeeper() throws Exception {
            // one client connection per member session: lift the default limit of 60 per address
            zk = ZooKeeperProcess.start(Map.of("maxClientCnxns", "0"));
            try {
                dcs = ZooKeeperDcs.builder().endpoints(zk.connectString()).build();
            } catch (RuntimeException e) {
                zk.close();
                throw e;
            }
        }

        @Override
        String name() {
            return "ZooKeeper (one server)";
        }

        @Override
        Dcs dcs() {
            return dcs;
        }

        @Override
        double requests() {
            try {
                return zk.packetsReceived();
            } catch (Exception e) {
                return -1;
            }
        }

        @Override
        String requestMetric() {
            return "ZooKeeper's packets received, pings included";
        }

        @Override
        long pid() {
            return zk.pid();
        }

        @Override
        public void close() {
            try {
                dcs.close();
            } finally {
                zk.close();
            }
        }
    }

    private static final class Consul extends Store {
        /** {@code -Dpgha.bench.consul.hcl='limits { http_max_conns_per_client = 4000 }'}: extra agent configuration. */
        private final ConsulAgent agent = ConsulAgent.start(System.getProperty("pgha.bench.consul.hcl", ""));
        /** {@code -Dpgha.bench.consul.callThreads=N}: the ConsulDcs's pool for blocking calls (default 4). */
        private final ConsulDcs dcs = consulDcs(agent.url());

        private static ConsulDcs consulDcs(String url) {
            ConsulDcs.Builder b = ConsulDcs.builder().endpoints(url).minSessionTtl(Duration.ofSeconds(1));
            String threads = System.getProperty("pgha.bench.consul.callThreads");
            if (threads != null) {
                b.callThreads(Integer.parseInt(threads));
            }
            return b.build();
        }

        @Override
        String name() {
            return "Consul (one -dev agent)";
        }

        @Override
        Dcs dcs() {
            return dcs;
        }

        @Override
        double requests() {
            return -1;
        }

        @Override
        String requestMetric() {
            return "n/a";
        }

        @Override
        long pid() {
            return agent.pid();
        }

        @Override
        public void close() {
            try {
                dcs.close();
            } finally {
                agent.close();
            }
        }
    }

    // ======================================================================= counting calls

    /**
     * The shared store, with every call of every session counted, and a way to cut one member off
     * (for the failover): its calls then fail as unreachable.
     */
    private static final class CountingDcs {
        private final Dcs store;
        private final Map<String, LongAdder> counts = new java.util.concurrent.ConcurrentHashMap<>();
        private final Map<String, Session> sessions = new java.util.concurrent.ConcurrentHashMap<>();

        CountingDcs(Dcs store) {
            this.store = store;
            for (String k : List.of("read", "readAuthoritative", "acquireLeader", "renewLeader", "releaseLeader", "touchMember",
                    "compareAndSet", "compareAndDelete", "deleteCluster", "watch")) {
                counts.put(k, new LongAdder());
            }
        }

        Map<String, Long> snapshot() {
            Map<String, Long> m = new TreeMap<>();
            counts.forEach((k, v) -> m.put(k, v.sum()));
            return m;
        }

        /** What one node is given: opens its session on the shared store, counted. */
        Dcs forNode(String scope, String member) {
            return new Dcs() {
                @Override
                public DcsSession open(SessionSpec spec) {
                    Session s = new Session(store.open(spec));
                    sessions.put(scope + "/" + member, s);
                    return s;
                }

                @Override
                public Duration leaseGuarantee(Duration ttl) {
                    return store.leaseGuarantee(ttl);
                }

                @Override
                public void close() {
                    // the store is shared: closed once, by the benchmark
                }
            };
        }

        void cut(String scope, String member, boolean revoke) {
            Session s = sessions.get(scope + "/" + member);
            s.dead = true;
            if (revoke) {
                s.closeInner();
            }
        }

        void close() {
            // the Store closes the shared Dcs
        }

        private final class Session extends ForwardingDcsSession {
            private final DcsSession inner;
            volatile boolean dead;
            private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

            Session(DcsSession delegate) {
                super(delegate);
                this.inner = delegate;
            }

            /** Closes the store session (revoking its lease) without releasing anything first. */
            void closeInner() {
                if (closed.compareAndSet(false, true)) {
                    inner.close();
                }
            }

            private <T> CompletionStage<T> count(String what, java.util.function.Supplier<CompletionStage<T>> call) {
                if (dead) {
                    return CompletableFuture.failedFuture(new DcsUnreachableException("cut off by the benchmark"));
                }
                counts.get(what).increment();
                return call.get();
            }

            @Override
            public CompletionStage<ClusterSnapshot> read() {
                return count("read", super::read);
            }

            @Override
            public CompletionStage<ClusterSnapshot> readAuthoritative() {
                return count("readAuthoritative", super::readAuthoritative);
            }

            @Override
            public CompletionStage<Boolean> acquireLeader() {
                return count("acquireLeader", super::acquireLeader);
            }

            @Override
            public CompletionStage<Boolean> renewLeader(Optional<String> status) {
                return count("renewLeader", () -> super.renewLeader(status));
            }

            @Override
            public CompletionStage<Boolean> releaseLeader() {
                return count("releaseLeader", super::releaseLeader);
            }

            @Override
            public CompletionStage<Void> touchMember(String value) {
                return count("touchMember", () -> super.touchMember(value));
            }

            @Override
            public CompletionStage<Boolean> compareAndSet(ClusterKey key, String value, long expectedVersion) {
                return count("compareAndSet", () -> super.compareAndSet(key, value, expectedVersion));
            }

            @Override
            public CompletionStage<Boolean> compareAndDelete(ClusterKey key, long expectedVersion) {
                return count("compareAndDelete", () -> super.compareAndDelete(key, expectedVersion));
            }

            @Override
            public CompletionStage<Void> deleteCluster() {
                return count("deleteCluster", super::deleteCluster);
            }

            @Override
            public Subscription watch(DcsListener listener) {
                counts.get("watch").increment();
                return super.watch(listener);
            }

            @Override
            public void close() {
                closeInner();
            }
        }
    }
}
