package io.pgha.bench;

import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The store-outage benchmark: three agents on real PostgreSQL under a write probe lose their whole
 * store for ttl + 10 s, again and again; each repetition reports how long after the store came
 * back the cluster had exactly one primary with every replica streaming from it, and whether an
 * acknowledged write was lost. {@code all} runs every kind, each on a fresh cluster, and ends with
 * one table.
 *
 * <pre>bench/outage.sh [runs=20] [etcd-freeze|etcd-restart|zookeeper-stop|consul-restart|consul-freeze|all] [ttl=5] [loop_wait=1] [retry_timeout=2]</pre>
 *
 * <p>Consul runs with a ttl of at least 20 s ({@link OutageTimings#CONSUL_MIN_TTL}); the output
 * says so when it raises the ttl given.
 */
public final class OutageBench {
    private OutageBench() {
    }

    /** One kind's repetitions. */
    private static final class Tally {
        final OutageKind kind;
        final OutageTimings timings;
        final List<Duration> times = new ArrayList<>();
        int runs;
        int stuck;
        long lost;

        Tally(OutageKind kind, OutageTimings timings) {
            this.kind = kind;
            this.timings = timings;
        }

        long over() {
            return times.stream().filter(t -> t.compareTo(timings.bound()) > 0).count();
        }
    }

    public static void main(String[] args) throws Exception {
        io.pgha.agent.Agent.quietJul();
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        String kindArg = args.length > 1 ? args[1] : "etcd-freeze";
        int ttl = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        double loop = args.length > 3 ? Double.parseDouble(args[3]) : 1;
        double retry = args.length > 4 ? Double.parseDouble(args[4]) : 2;
        OutageTimings requested = new OutageTimings(ttl, loop, retry);
        List<OutageKind> kinds = kindArg.equals("all") ? List.of(OutageKind.values()) : List.of(OutageKind.named(kindArg));
        Duration limit = Duration.ofSeconds(Long.getLong("pgha.bench.outageLimitSeconds", 120));
        System.out.printf("pgha store-outage benchmark: 3 nodes, PostgreSQL 15, %s, %s, outage ttl + %d s, %d runs each, "
                        + "a write probe every 50 ms per member%n", kindArg, requested, OutageTimings.OUTAGE_PAST_TTL.toSeconds(), runs);
        List<Tally> tallies = new ArrayList<>();
        for (OutageKind kind : kinds) {
            Tally t = run(kind, requested, runs, limit);
            tallies.add(t);
            if (t.stuck > 0 && Boolean.getBoolean("pgha.bench.stopOnStuck")) {
                break;
            }
        }
        System.out.println();
        System.out.println("| outage | timings | outage length | bound 2 ttl + loop_wait | runs | converged | min | median | max "
                + "| over the bound | acknowledged writes lost |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        for (Tally t : tallies) {
            Collections.sort(t.times);
            String stats = t.times.isEmpty() ? "- | - | -" : String.format(Locale.ROOT, "%.2f s | %.2f s | %.2f s",
                    secs(t.times.get(0)), secs(t.times.get(t.times.size() / 2)), secs(t.times.get(t.times.size() - 1)));
            System.out.printf(Locale.ROOT, "| %s | %s | %d s | %.1f s | %d | %d | %s | %d | %d |%n", t.kind.label, t.timings,
                    t.timings.outageLength().toSeconds(), secs(t.timings.bound()), t.runs, t.times.size(), stats, t.over(), t.lost);
        }
        if (tallies.stream().anyMatch(t -> t.stuck > 0 || t.lost > 0)) {
            System.exit(1);
        }
    }

    private static Tally run(OutageKind kind, OutageTimings requested, int runs, Duration limit) throws Exception {
        OutageTimings timings = requested.on(kind.store);
        Tally tally = new Tally(kind, timings);
        Duration length = timings.outageLength();
        System.out.printf("%n%s: %s; outage %d s, %s, bound %d ms%n", kind.label, kind.description, length.toSeconds(), timings,
                timings.bound().toMillis());
        if (!timings.equals(requested)) {
            System.out.printf("  (ttl raised to %d s: Consul refuses session TTLs under its session_ttl_min of 10 s, and pgha's Consul "
                    + "session TTL is ttl / 2; AgentOnOtherStoresTest runs Consul with the same ttl)%n", timings.ttl());
        }
        try (ClusterOnStore c = ClusterOnStore.start(kind.store, timings, 3)) {
            Thread hook = new Thread(c::close);
            Runtime.getRuntime().addShutdownHook(hook);
            StoreOutage scenario = new StoreOutage(c.cluster);
            StoreOutage.Outage outage = c.outage(kind);
            for (int i = 1; i <= runs; i++) {
                tally.runs++;
                StoreOutage.Result r = scenario.run(outage, length, limit);
                String back = LocalTime.ofInstant(r.storeBack(), ZoneId.systemDefault()).truncatedTo(ChronoUnit.MILLIS).toString();
                if (r.convergence().isEmpty()) {
                    tally.stuck++;
                    System.out.printf("run %d/%d: NOT CONVERGED within %d s of the store being back at %s (primary before: %s)%n%s%n"
                                    + "---- store ----%n%s%n", i, runs, limit.toSeconds(), back, r.before(), c.cluster.logs(80), c.storeLog());
                    if (Boolean.getBoolean("pgha.bench.stopOnStuck")) {
                        break;
                    }
                    continue;
                }
                Duration took = r.convergence().get();
                tally.times.add(took);
                tally.lost += r.lost();
                System.out.printf(Locale.ROOT, "run %d/%d: %s -> %s, store back at %s, converged %.2f s later (not before %.2f s)%s, "
                                + "%d writes acknowledged, %d lost; writes went on %s into the outage, resumed %s after it%n",
                        i, runs, r.before(), r.primary(), back, secs(took), secs(took.minus(r.resolution())),
                        took.compareTo(timings.bound()) > 0 ? " OVER the bound" : "", r.acked(), r.lost(), seconds(r.lastWriteIn()),
                        seconds(r.firstWriteBack()));
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already: the hook closes the cluster
            }
        }
        return tally;
    }

    private static String seconds(java.util.Optional<Duration> d) {
        return d.map(x -> String.format(Locale.ROOT, "%.2f s", secs(x))).orElse("-");
    }

    private static double secs(Duration d) {
        return d.toNanos() / 1e9;
    }
}
