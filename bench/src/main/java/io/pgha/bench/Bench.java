package io.pgha.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The failover benchmark: a three-node cluster on real PostgreSQL and etcd, each scenario run N
 * times, min / median / max printed with the settings behind them.
 *
 * <pre>bench/run.sh [runs=5] [ttl=3] [loop_wait=1] [retry_timeout=1]</pre>
 */
public final class Bench {
    private Bench() {
    }

    public static void main(String[] args) throws Exception {
        io.pgha.agent.Agent.quietJul();
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        String ttl = args.length > 1 ? args[1] : "3";
        String loop = args.length > 2 ? args[2] : "1";
        String retry = args.length > 3 ? args[3] : "1";
        Map<String, List<Duration>> results = new LinkedHashMap<>();
        Scenarios.Footprint fp;
        System.out.printf("pgha benchmark: 3 nodes on loopback, PostgreSQL 15, etcd 3.4, ttl %s s, loop_wait %s s, "
                + "retry_timeout %s s, %d runs per scenario, a write probe every 50 ms per member%n", ttl, loop, retry, runs);
        try (LocalCluster cluster = new LocalCluster(3, "    ttl: " + ttl + "\n    loop_wait: " + loop + "\n    retry_timeout: " + retry)) {
            Runtime.getRuntime().addShutdownHook(new Thread(cluster::close));
            cluster.startAll();
            Scenarios s = new Scenarios(cluster);
            s.awaitHealthy();
            for (int i = 1; i <= runs; i++) {
                Scenarios.Crash c = s.nodeCrash();
                add(results, "(a) node crash -> a write succeeds on the new primary", c.firstWrite());
                add(results, "(b) node crash -> the remaining replica streams from the new primary", c.replicaStreams());
                add(results, "(c) postgres-only crash on the primary -> writes work again", s.postgresCrash());
                Scenarios.Switchover sw = s.switchover();
                add(results, "(d) switchover: last write on the old primary -> first write on the new", sw.writeGap());
                add(results, "(d) switchover: launch -> first write on the new primary", sw.firstWrite());
                add(results, "(d) switchover: launch -> both others stream from the new primary", sw.allStreaming());
                add(results, "(e) graceful stop of the primary's agent -> a write on another member", s.gracefulStop());
                System.out.printf("run %d/%d done%n", i, runs);
            }
            fp = s.idleFootprint(SETTLE, IDLE_WINDOW);
        }
        // synchronous mode on two members: after a failover or a switchover no standby is left to confirm a commit
        try (LocalCluster cluster = new LocalCluster(2, "    ttl: " + ttl + "\n    loop_wait: " + loop + "\n    retry_timeout: " + retry
                + "\n    synchronous_mode: true")) {
            Runtime.getRuntime().addShutdownHook(new Thread(cluster::close));
            cluster.startAll();
            Scenarios s = new Scenarios(cluster);
            s.awaitHealthy();
            for (int i = 1; i <= runs; i++) {
                add(results, "(g) synchronous mode, 2 members: promotion -> a write acknowledged on the new primary", s.syncFailoverWrite());
                add(results, "(g) synchronous mode, 2 members: switchover launch -> a write acknowledged on the new primary",
                        s.syncSwitchoverWrite());
            }
            System.out.printf("synchronous mode done%n");
        }
        // Patroni's idle figure is at its defaults: measure ours there too
        Scenarios.Footprint fpDefaults;
        try (LocalCluster cluster = new LocalCluster(3, "    ttl: 30\n    loop_wait: 10\n    retry_timeout: 10")) {
            Runtime.getRuntime().addShutdownHook(new Thread(cluster::close));
            cluster.startAll();
            Scenarios s = new Scenarios(cluster);
            s.awaitHealthy();
            fpDefaults = s.idleFootprint(SETTLE, IDLE_WINDOW);
        }
        System.out.println();
        System.out.printf("| scenario (ttl %s s, loop_wait %s s, retry_timeout %s s) | min | median | max |%n", ttl, loop, retry);
        System.out.println("|---|---|---|---|");
        results.forEach((name, ds) -> {
            List<Duration> sorted = new ArrayList<>(ds);
            Collections.sort(sorted);
            System.out.printf(Locale.ROOT, "| %s | %.2f s | %.2f s | %.2f s |%n", name, secs(sorted.get(0)),
                    secs(sorted.get(sorted.size() / 2)), secs(sorted.get(sorted.size() - 1)));
        });
        System.out.printf("(f) is measured over %d s after %d s of settling, from /proc and etcd's grpc_server_started_total%n",
                IDLE_WINDOW.toSeconds(), SETTLE.toSeconds());
        footprint("ttl " + ttl + " s, loop_wait " + loop + " s", fp);
        footprint("Patroni's defaults: ttl 30 s, loop_wait 10 s", fpDefaults);
        breakdown("ttl " + ttl + " s, loop_wait " + loop + " s", fp);
        breakdown("Patroni's defaults", fpDefaults);
    }

    /** Where the idle leader's memory and CPU went: shared versus private pages, and the threads that ran. */
    static void breakdown(String settings, Scenarios.Footprint fp) {
        System.out.printf(Locale.ROOT, "%nidle leader (%s): memory (KiB, smaps_rollup) %s%n", settings, fp.memory());
        if (!fp.nativeCommittedKib().isEmpty()) {
            System.out.printf(Locale.ROOT, "  native memory tracking, committed KiB: %s%n", fp.nativeCommittedKib());
        }
        long total = fp.threadTicks().values().stream().mapToLong(Long::longValue).sum();
        System.out.printf(Locale.ROOT, "  CPU ticks (1/100 s) in %.0f s, %d in all:", fp.windowSeconds(), total);
        fp.threadTicks().entrySet().stream().limit(12).forEach(e -> System.out.printf(Locale.ROOT, " %s %d;", e.getKey(), e.getValue()));
        System.out.println();
    }

    private static final Duration IDLE_WINDOW = Duration.ofSeconds(Long.getLong("pgha.bench.idleSeconds", 60));
    /** Before the footprint window: start-up compilation and the last scenario's after-effects die down. */
    private static final Duration SETTLE = Duration.ofSeconds(Long.getLong("pgha.bench.settleSeconds", 60));

    private static void footprint(String settings, Scenarios.Footprint fp) {
        System.out.printf(Locale.ROOT, "| (f) idle agent, the leader's process (%s) | RSS %d MiB, heap in use %.1f MiB, %d threads "
                        + "| %.2f %% of one core | %.2f DCS requests/s per node |%n", settings,
                fp.rssKib() / 1024, fp.heapUsedKib() / 1024.0, fp.threads(), fp.cpuPercent(), fp.dcsRequestsPerSecondPerNode());
    }

    private static void add(Map<String, List<Duration>> results, String name, Duration d) {
        results.computeIfAbsent(name, k -> new ArrayList<>()).add(d);
    }

    private static double secs(Duration d) {
        return d.toNanos() / 1e9;
    }
}
