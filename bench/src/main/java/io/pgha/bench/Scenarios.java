package io.pgha.bench;

import io.pgha.bench.LocalCluster.Node;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The measured scenarios, each starting and ending with a whole cluster. Times come from the write
 * probe (a write every 50 ms on a kept-open connection per member) and from polling PostgreSQL.
 */
final class Scenarios {
    private final LocalCluster cluster;

    Scenarios(LocalCluster cluster) {
        this.cluster = cluster;
    }

    void awaitHealthy() {
        // pgha.bench.healthySeconds: longer on a machine that other work slows down (start-up, initdb, base backups)
        Waits.until("a healthy cluster", cluster::healthy, Duration.ofSeconds(Long.getLong("pgha.bench.healthySeconds", 120)), 100);
    }

    Node leader() {
        return cluster.node(cluster.leader().orElseThrow());
    }

    /** The member names streaming from {@code primary} right now (its pg_stat_replication). */
    Set<String> streamingFrom(Node primary) {
        Set<String> names = new HashSet<>();
        try (Connection c = cluster.sql(primary.pgPort); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        } catch (SQLException e) {
            // not up yet
        }
        return names;
    }

    /** Result of a crash: until a write succeeds on the new primary, and until the other replica streams from it. */
    record Crash(Duration firstWrite, Duration replicaStreams, String from, String to) {
    }

    /** kill -9 of the primary's agent and postmaster; the crashed node is brought back afterwards. */
    Crash nodeCrash() throws SQLException {
        awaitHealthy();
        try (WriteProbe probe = new WriteProbe(cluster, 50).start()) {
            Node old = leader();
            Waits.until("a write on the primary", () -> probe.lastWriteOn(old.name).isPresent(), Duration.ofSeconds(10), 20);
            long t0 = System.nanoTime();
            cluster.crash(old);
            Waits.until("a new leader", () -> cluster.leader().filter(l -> !l.equals(old.name)).isPresent(), Duration.ofSeconds(60), 10);
            Node now = leader();
            Waits.until("a write on the new primary", () -> probe.firstWriteOn(now.name, t0).isPresent(), Duration.ofSeconds(30), 10);
            Duration write = Duration.ofNanos(probe.firstWriteOn(now.name, t0).get().atNanos() - t0);
            List<Node> others = cluster.nodes().stream().filter(n -> n != old && n != now).toList();
            Waits.until("the other replica streaming from the new primary",
                    () -> streamingFrom(now).containsAll(others.stream().map(n -> n.name).toList()), Duration.ofSeconds(60), 10);
            Duration streams = Duration.ofNanos(System.nanoTime() - t0);
            cluster.start(old);
            awaitHealthy();
            return new Crash(write, streams, old.name, now.name);
        }
    }

    /** kill -9 of the primary's postmaster only: until writes work again (anywhere). */
    Duration postgresCrash() throws SQLException {
        awaitHealthy();
        try (WriteProbe probe = new WriteProbe(cluster, 50).start()) {
            Node p = leader();
            Waits.until("a write on the primary", () -> probe.lastWriteOn(p.name).isPresent(), Duration.ofSeconds(10), 20);
            long t0 = System.nanoTime();
            cluster.crashPostgres(p);
            Waits.until("a write after the crash", () -> probe.writes().stream().anyMatch(w -> w.atNanos() > t0 + 20_000_000L),
                    Duration.ofSeconds(60), 10);
            Duration d = Duration.ofNanos(probe.writes().stream().filter(w -> w.atNanos() > t0 + 20_000_000L).findFirst().get().atNanos() - t0);
            awaitHealthy();
            return d;
        }
    }

    /**
     * Synchronous mode, two members: kill -9 of the primary; from the moment the standby is
     * promoted (pg_is_in_recovery() turns false) until a write on it is acknowledged — with no
     * standby left, a non-strict new primary must stop waiting for one.
     */
    Duration syncFailoverWrite() throws SQLException {
        awaitHealthy();
        try (WriteProbe probe = new WriteProbe(cluster, 50).start()) {
            Node old = leader();
            Node next = cluster.nodes().stream().filter(n -> n != old).findFirst().orElseThrow();
            Waits.until(next.name + " published as the synchronous standby", () -> cluster.get(next, "/sync") == 200,
                    Duration.ofSeconds(30), 20);
            Waits.until("a write on the primary", () -> probe.lastWriteOn(old.name).isPresent(), Duration.ofSeconds(10), 20);
            try (Connection c = cluster.sql(next.pgPort); Statement st = c.createStatement()) {
                cluster.crash(old);
                long[] promoted = {0};
                Waits.until(next.name + " promoted", () -> {
                    try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
                        rs.next();
                        if (!rs.getBoolean(1)) {
                            promoted[0] = System.nanoTime();
                        }
                        return promoted[0] != 0;
                    } catch (SQLException e) {
                        throw new IllegalStateException("lost the connection to " + next.name, e);
                    }
                }, Duration.ofSeconds(60), 5);
                long p = promoted[0];
                Waits.until("an acknowledged write on the new primary", () -> probe.firstWriteOn(next.name, p).isPresent(),
                        Duration.ofSeconds(60), 10);
                Duration d = Duration.ofNanos(probe.firstWriteOn(next.name, p).get().atNanos() - p);
                cluster.start(old);
                awaitHealthy();
                return d;
            }
        }
    }

    /** Synchronous mode, two members: a switchover, from its launch until a write on the new primary is acknowledged. */
    Duration syncSwitchoverWrite() throws SQLException {
        awaitHealthy();
        Node old = leader();
        Node next = cluster.nodes().stream().filter(n -> n != old).findFirst().orElseThrow();
        Waits.until(next.name + " published as the synchronous standby", () -> cluster.get(next, "/sync") == 200,
                Duration.ofSeconds(30), 20);
        return switchover().firstWrite();
    }

    /** A switchover: the write gap (last write on the old primary to the first on the new) and launch to both others streaming. */
    record Switchover(Duration writeGap, Duration allStreaming, Duration firstWrite) {
    }

    Switchover switchover() throws SQLException {
        awaitHealthy();
        try (WriteProbe probe = new WriteProbe(cluster, 50).start()) {
            Node old = leader();
            Node target = cluster.nodes().stream().filter(n -> n != old).findFirst().orElseThrow();
            Waits.until("a write on the primary", () -> probe.lastWriteOn(old.name).isPresent(), Duration.ofSeconds(10), 20);
            long t0 = System.nanoTime();
            var r = cluster.call(old, "POST", "/switchover", "{\"leader\":\"" + old.name + "\",\"candidate\":\"" + target.name + "\"}", true);
            if (r.statusCode() != 200) {
                throw new IllegalStateException("switchover refused: " + r.statusCode() + " " + r.body());
            }
            Waits.until("a write on the new primary", () -> probe.firstWriteOn(target.name, t0).isPresent(), Duration.ofSeconds(30), 10);
            List<String> others = cluster.nodes().stream().filter(n -> n != target).map(n -> n.name).toList();
            Waits.until("both others streaming from the new primary", () -> streamingFrom(target).containsAll(others),
                    Duration.ofSeconds(60), 10);
            long allStreaming = System.nanoTime() - t0;
            long first = probe.firstWriteOn(target.name, t0).get().atNanos();
            long lastOld = probe.writes().stream().filter(w -> w.member().equals(old.name) && w.atNanos() < first)
                    .mapToLong(WriteProbe.Write::atNanos).max().orElse(t0);
            awaitHealthy();
            return new Switchover(Duration.ofNanos(first - lastOld), Duration.ofNanos(allStreaming), Duration.ofNanos(first - t0));
        }
    }

    /** SIGTERM to the primary's agent: until a write succeeds on another member. */
    Duration gracefulStop() throws SQLException {
        awaitHealthy();
        try (WriteProbe probe = new WriteProbe(cluster, 50).start()) {
            Node old = leader();
            Waits.until("a write on the primary", () -> probe.lastWriteOn(old.name).isPresent(), Duration.ofSeconds(10), 20);
            long t0 = System.nanoTime();
            Thread stopper = new Thread(() -> cluster.stop(old));
            stopper.start();
            Waits.until("a write elsewhere", () -> probe.writes().stream().anyMatch(w -> !w.member().equals(old.name) && w.atNanos() > t0),
                    Duration.ofSeconds(60), 10);
            Duration d = Duration.ofNanos(probe.writes().stream().filter(w -> !w.member().equals(old.name) && w.atNanos() > t0)
                    .findFirst().get().atNanos() - t0);
            try {
                stopper.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            cluster.start(old);
            awaitHealthy();
            return d;
        }
    }

    /** Footprint of one idle agent process and the store traffic of the whole cluster. */
    /**
     * The leader agent's idle footprint over a window.
     *
     * @param memory       {@code /proc/<pid>/smaps_rollup} at the end (KiB): Rss, Pss, Shared_Clean, Private_Clean,
     *                     Private_Dirty, Anonymous — what of the RSS is page cache shared with other agents
     * @param threadTicks  CPU ticks (1/100 s) each thread spent in the window, by thread name with digits folded
     *                     ("grpc-default-executor-#"), most first
     * @param nativeCommittedKib native memory tracking's committed KiB per category, when the agents run with
     *                     {@code -XX:NativeMemoryTracking=summary} in {@code PGHA_JAVA_OPTS}; empty otherwise
     */
    record Footprint(long rssKib, long heapUsedKib, int threads, double cpuPercent, double dcsRequestsPerSecondPerNode,
                     Map<String, Long> memory, Map<String, Long> threadTicks, double windowSeconds, Map<String, Long> nativeCommittedKib) {
    }

    Footprint idleFootprint(Duration settle, Duration window) throws Exception {
        awaitHealthy();
        Thread.sleep(settle.toMillis());
        awaitHealthy();
        Node n = leader();
        long pid = n.pid();
        long ticks0 = cpuTicks(pid);
        Map<String, Long> threads0 = threadTicks(pid);
        double req0 = etcdRequests();
        long t0 = System.nanoTime();
        Thread.sleep(window.toMillis());
        long ticks1 = cpuTicks(pid);
        Map<String, Long> threads1 = threadTicks(pid);
        double req1 = etcdRequests();
        double secs = (System.nanoTime() - t0) / 1e9;
        double cpu = (ticks1 - ticks0) / 100.0 / secs * 100;
        Map<String, Long> byName = new java.util.TreeMap<>();
        threads1.forEach((tid, ticks) -> {
            long spent = ticks - threads0.getOrDefault(tid, 0L);
            if (spent > 0) {
                byName.merge(tid.substring(tid.indexOf(' ') + 1), spent, Long::sum);
            }
        });
        Map<String, Long> sorted = new java.util.LinkedHashMap<>();
        byName.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).forEach(e -> sorted.put(e.getKey(), e.getValue()));
        return new Footprint(statusField(pid, "VmRSS"), heapUsed(pid), (int) statusField(pid, "Threads"), cpu,
                (req1 - req0) / secs / cluster.nodes().size(), smapsRollup(pid), sorted, secs, AgentResources.nativeMemory(pid));
    }

    /** CPU ticks per thread, keyed "tid name" with the name's digits folded to '#'. */
    private static Map<String, Long> threadTicks(long pid) throws java.io.IOException {
        Map<String, Long> out = new java.util.HashMap<>();
        try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc", String.valueOf(pid), "task"))) {
            for (java.nio.file.Path t : tasks.toList()) {
                try {
                    String stat = java.nio.file.Files.readString(t.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("\\d+", "#");
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    out.put(t.getFileName() + " " + name, Long.parseLong(f[11]) + Long.parseLong(f[12]));
                } catch (java.io.IOException | RuntimeException gone) {
                    // the thread ended meanwhile
                }
            }
        }
        return out;
    }

    /** The process's memory by kind, from {@code smaps_rollup} (KiB). */
    private static Map<String, Long> smapsRollup(long pid) throws java.io.IOException {
        Map<String, Long> out = new java.util.LinkedHashMap<>();
        List<String> wanted = List.of("Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Anonymous");
        for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc", String.valueOf(pid), "smaps_rollup"))) {
            int colon = l.indexOf(':');
            if (colon > 0 && wanted.contains(l.substring(0, colon))) {
                out.put(l.substring(0, colon), Long.parseLong(l.substring(colon + 1).trim().split("\\s+")[0]));
            }
        }
        return out;
    }

    private static long cpuTicks(long pid) throws java.io.IOException {
        String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", String.valueOf(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    private static long statusField(long pid, String field) throws java.io.IOException {
        for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc", String.valueOf(pid), "status"))) {
            if (l.startsWith(field + ":")) {
                return Long.parseLong(l.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        return -1;
    }

    /** Heap in use after a full GC, from jcmd (KiB). */
    private static long heapUsed(long pid) {
        try {
            String jcmd = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
            new ProcessBuilder(jcmd, String.valueOf(pid), "GC.run").redirectErrorStream(true).start().waitFor();
            Process p = new ProcessBuilder(jcmd, String.valueOf(pid), "GC.heap_info").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            p.waitFor();
            // One line per generation ("def new generation total 5184K, used 1234K", "tenured
            // generation ..."); Metaspace and class space are not heap.
            java.util.regex.Pattern gen = java.util.regex.Pattern.compile("generation\\s+total \\d+K, used (\\d+)K");
            long used = 0;
            for (String line : out.lines().toList()) {
                java.util.regex.Matcher m = gen.matcher(line);
                if (m.find()) {
                    used += Long.parseLong(m.group(1));
                }
            }
            return used;
        } catch (Exception e) {
            return -1;
        }
    }

    /** gRPC requests etcd started so far (its own /metrics). */
    private double etcdRequests() {
        try {
            String m = cluster.etcd.metrics(0);
            double sum = 0;
            for (String l : m.lines().toList()) {
                if (l.startsWith("grpc_server_started_total{")) {
                    sum += Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
                }
            }
            return sum;
        } catch (RuntimeException e) {
            return 0;
        }
    }

    Optional<String> leaderName() {
        return cluster.leader();
    }
}
