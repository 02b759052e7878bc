package io.pgha.bench;

import java.io.PrintStream;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The long run: a three-member cluster on real PostgreSQL and etcd under a light write load, with a
 * switchover every {@code switchoverEvery} and a kill -9 of a member (agent and postmaster) every
 * {@code killEvery}, sampling what every agent process holds. Slow leaks show as a difference
 * between the first and the last part of the run; a lost acknowledged write as an id missing on
 * the final primary.
 *
 * <p>Run: {@code bench/long-run.sh [minutes=60]}. The members {@code n1} and {@code n2} are never
 * killed, so their agents live the whole run through every switchover and failover: their samples
 * are the leak measurement. {@code n3} is the one killed (as the primary when a switchover made it
 * one) and restarted; its samples are reported apart. Synchronous mode is on, so no acknowledged
 * write may be lost even when the primary is killed.
 */
public final class LongRun {
    /**
     * How long, how often each event happens, and the baseline: the samples from {@code baselineFrom}
     * over {@code window} are compared with those of the run's last {@code window}.
     */
    public record Plan(Duration total, Duration switchoverEvery, Duration killEvery, Duration sampleEvery, Duration baselineFrom,
                       Duration window) {
    }

    /** One agent's resources at one moment. */
    public record Sample(long atSeconds, String member, long pid, AgentResources resources) {
    }

    /** What the store holds and serves, from etcd's own metrics. */
    public record StoreFigures(long keys, long dbInUseBytes, long watchers, long watchStreams, long puts) {
    }

    /** Everything the run saw. */
    public record Report(Plan plan, List<Sample> samples, int switchovers, int refusedSwitchovers, int kills, long acknowledged,
                         List<WriteProbe.Write> lost, StoreFigures storeFirst, StoreFigures storeLast) {
        /** Samples of one member's agent taken in {@code [fromSeconds, toSeconds)}. */
        public List<Sample> of(String member, long fromSeconds, long toSeconds) {
            return samples.stream().filter(s -> s.member().equals(member) && s.atSeconds() >= fromSeconds && s.atSeconds() < toSeconds)
                    .toList();
        }
    }

    static final String DCS = "    ttl: 5\n    loop_wait: 1\n    retry_timeout: 2\n    synchronous_mode: true";
    /** The members whose agents are never killed. */
    static final List<String> LIVE_THROUGHOUT = List.of("n1", "n2");
    static final String KILLED = "n3";
    private static final Duration ACTION_LIMIT = Duration.ofSeconds(90);

    private LongRun() {
    }

    public static void main(String[] args) throws Exception {
        long minutes = args.length > 0 ? Long.parseLong(args[0]) : 60;
        Duration window = Duration.ofMinutes(Math.min(10, Math.max(1, minutes * 3 / 10)));
        Plan plan = new Plan(Duration.ofMinutes(minutes), Duration.ofSeconds(30), Duration.ofMinutes(5), Duration.ofSeconds(30),
                Duration.ZERO, window);
        Report r = run(plan, System.out);
        print(r, System.out);
        if (!r.lost().isEmpty()) {
            System.exit(1);
        }
    }

    /** Runs the plan on a fresh cluster and stops everything it started. */
    public static Report run(Plan plan, PrintStream log) throws SQLException {
        try (LocalCluster cluster = new LocalCluster(3, DCS)) {
            cluster.startAll();
            awaitHealthy(cluster);
            StoreFigures storeFirst = storeFigures(cluster);
            List<Sample> samples = new ArrayList<>();
            int switchovers = 0;
            int refused = 0;
            int kills = 0;
            long start = System.nanoTime();
            long nextSwitchover = plan.switchoverEvery().toNanos();
            long nextKill = plan.killEvery().toNanos();
            long nextSample = 0;
            try (WriteProbe probe = new WriteProbe(cluster, 100).start()) {
                while (System.nanoTime() - start < plan.total().toNanos()) {
                    // the events keep their schedule; a sample (jcmd on every agent takes seconds) never delays one
                    if (System.nanoTime() - start >= nextKill) {
                        long at = (System.nanoTime() - start) / 1_000_000_000L;
                        log.printf(Locale.ROOT, "%5d s: kill -9 of %s (%s)%n", at, KILLED,
                                cluster.leader().filter(KILLED::equals).isPresent() ? "the primary" : "a replica");
                        LocalCluster.Node victim = cluster.node(KILLED);
                        cluster.crash(victim);
                        cluster.start(victim);
                        awaitHealthy(cluster);
                        kills++;
                        nextKill += plan.killEvery().toNanos();
                    }
                    if (System.nanoTime() - start >= nextSwitchover) {
                        if (switchover(cluster, log, (System.nanoTime() - start) / 1_000_000_000L)) {
                            switchovers++;
                        } else {
                            refused++;
                        }
                        nextSwitchover += plan.switchoverEvery().toNanos();
                    }
                    if (System.nanoTime() - start >= nextSample) {
                        sample(cluster, (System.nanoTime() - start) / 1_000_000_000L, samples);
                        nextSample = System.nanoTime() - start + plan.sampleEvery().toNanos();
                    }
                    sleepMillis(200);
                }
                awaitHealthy(cluster);
                sample(cluster, (System.nanoTime() - start) / 1_000_000_000L, samples);
                probe.close();
                List<WriteProbe.Write> lost = probe.missingOn(cluster.node(cluster.leader().orElseThrow()));
                return new Report(plan, List.copyOf(samples), switchovers, refused, kills, probe.writes().size(), lost, storeFirst,
                        storeFigures(cluster));
            }
        }
    }

    /** A switchover from the primary to its synchronous standby; false if the primary refused it. */
    private static boolean switchover(LocalCluster cluster, PrintStream log, long atSeconds) {
        awaitHealthy(cluster);
        String leader = cluster.leader().orElseThrow();
        Optional<String> candidate = syncStandby(cluster).filter(c -> !c.equals(leader));
        if (candidate.isEmpty()) {
            return false;
        }
        var r = cluster.call(cluster.node(leader), "POST", "/switchover",
                "{\"leader\":\"" + leader + "\",\"candidate\":\"" + candidate.get() + "\"}", true);
        if (r.statusCode() != 200) {
            log.printf(Locale.ROOT, "%5d s: switchover %s -> %s refused: %d %s%n", atSeconds, leader, candidate.get(), r.statusCode(),
                    r.body());
            return false;
        }
        Waits.until("the new primary " + candidate.get(), () -> cluster.leader().filter(candidate.get()::equals).isPresent(),
                ACTION_LIMIT, 100);
        awaitHealthy(cluster);
        return true;
    }

    private static Optional<String> syncStandby(LocalCluster cluster) {
        Matcher m = Pattern.compile("\"sync_standby\"\\s*:\\s*\"([^\",]+)").matcher(cluster.key("sync").orElse(""));
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    private static void awaitHealthy(LocalCluster cluster) {
        Waits.until("a healthy cluster", cluster::healthy, ACTION_LIMIT, 200);
    }

    private static void sample(LocalCluster cluster, long atSeconds, List<Sample> into) {
        for (LocalCluster.Node n : cluster.nodes()) {
            if (n.running()) {
                long pid = n.pid();
                AgentResources.of(pid, n.etcdLink.port()).ifPresent(r -> into.add(new Sample(atSeconds, n.name, pid, r)));
            }
        }
    }

    /** etcd's own figures: keys, database size in use, watchers and watch streams, puts so far. */
    static StoreFigures storeFigures(LocalCluster cluster) {
        String m = cluster.etcd.metrics(0);
        return new StoreFigures(metric(m, "etcd_debugging_mvcc_keys_total"), metric(m, "etcd_mvcc_db_total_size_in_use_in_bytes"),
                metric(m, "etcd_debugging_mvcc_watcher_total"), metric(m, "etcd_debugging_mvcc_watch_stream_total"),
                metric(m, "etcd_mvcc_put_total"));
    }

    private static long metric(String text, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{[^}]*\\})? ([0-9.e+E-]+)$").matcher(text);
        return m.find() ? (long) Double.parseDouble(m.group(1)) : -1;
    }

    /** The report as tables: the never-killed agents' first and last windows side by side, then the rest. */
    static void print(Report r, PrintStream out) {
        long total = r.plan().total().toSeconds();
        long from = r.plan().baselineFrom().toSeconds();
        long window = r.plan().window().toSeconds();
        out.printf(Locale.ROOT, "%nLong run: %d s, a switchover every %d s, kill -9 of %s every %d s, samples every %d s%n", total,
                r.plan().switchoverEvery().toSeconds(), KILLED, r.plan().killEvery().toSeconds(), r.plan().sampleEvery().toSeconds());
        out.printf(Locale.ROOT, "switchovers %d (refused or skipped %d), kills %d, writes acknowledged %d, lost %d%n%n", r.switchovers(),
                r.refusedSwitchovers(), r.kills(), r.acknowledged(), r.lost().size());
        out.printf(Locale.ROOT, "| agent | figure (median) | %d s from %d s | last %d s |%n|---|---|---|---|%n", window, from, window);
        for (String member : LIVE_THROUGHOUT) {
            List<Sample> first = r.of(member, from, from + window);
            List<Sample> last = r.of(member, total - window, Long.MAX_VALUE);
            row(out, member, "heap after GC, KiB", first, last, s -> s.resources().heapAfterGcKib());
            row(out, member, "RSS, KiB", first, last, s -> s.resources().rssKib());
            row(out, member, "RSS anonymous, KiB", first, last, s -> s.resources().rssAnonKib());
            row(out, member, "RSS file pages, KiB", first, last, s -> s.resources().rssFileKib());
            java.util.Set<String> categories = new java.util.TreeSet<>();
            first.forEach(s -> categories.addAll(s.resources().nativeCommittedKib().keySet()));
            for (String c : categories) {
                row(out, member, "NMT committed " + c + ", KiB", first, last, s -> s.resources().nativeCommittedKib().getOrDefault(c, -1L));
            }
            row(out, member, "threads", first, last, s -> s.resources().threads());
            row(out, member, "open file descriptors", first, last, s -> s.resources().fds());
            row(out, member, "connections to the store", first, last, s -> s.resources().storeConnections());
        }
        for (String member : LIVE_THROUGHOUT) {
            List<Sample> all = r.of(member, 0, Long.MAX_VALUE);
            if (!all.isEmpty()) {
                out.printf(Locale.ROOT, "%s threads by name: first %s%n%s threads by name: last  %s%n", member,
                        all.get(0).resources().threadNames(), member, all.get(all.size() - 1).resources().threadNames());
            }
        }
        List<Sample> killed = r.samples().stream().filter(s -> s.member().equals(KILLED)).toList();
        out.printf(Locale.ROOT, "%n%s (killed and restarted, %d processes): threads %d..%d, fds %d..%d, store connections %d..%d%n",
                KILLED, killed.stream().map(Sample::pid).distinct().count(), min(killed, s -> s.resources().threads()),
                max(killed, s -> s.resources().threads()), min(killed, s -> s.resources().fds()), max(killed, s -> s.resources().fds()),
                min(killed, s -> s.resources().storeConnections()), max(killed, s -> s.resources().storeConnections()));
        out.printf(Locale.ROOT, "etcd: keys %d -> %d, db in use %d -> %d bytes, watchers %d -> %d, watch streams %d -> %d, puts %d (%.1f/s)%n",
                r.storeFirst().keys(), r.storeLast().keys(), r.storeFirst().dbInUseBytes(), r.storeLast().dbInUseBytes(),
                r.storeFirst().watchers(), r.storeLast().watchers(), r.storeFirst().watchStreams(), r.storeLast().watchStreams(),
                r.storeLast().puts() - r.storeFirst().puts(), (r.storeLast().puts() - r.storeFirst().puts()) / (double) Math.max(1, total));
    }

    private static void row(PrintStream out, String member, String what, List<Sample> first, List<Sample> last, ToLongFunction<Sample> f) {
        out.printf(Locale.ROOT, "| %s | %s | %d | %d |%n", member, what, median(first, f), median(last, f));
    }

    static long median(List<Sample> samples, ToLongFunction<Sample> f) {
        long[] v = samples.stream().mapToLong(f).sorted().toArray();
        return v.length == 0 ? -1 : v[v.length / 2];
    }

    private static long min(List<Sample> s, ToLongFunction<Sample> f) {
        return s.stream().mapToLong(f).min().orElse(-1);
    }

    private static long max(List<Sample> s, ToLongFunction<Sample> f) {
        return s.stream().mapToLong(f).max().orElse(-1);
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }
}
