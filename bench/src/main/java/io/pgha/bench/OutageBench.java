package io.pgha.bench;

import io.pgha.testkit.servers.EtcdProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The store-outage benchmark: three agents on real PostgreSQL under a write probe lose their whole
 * store for longer than the ttl, again and again; each repetition reports how long after the store
 * came back the cluster had exactly one primary with every replica streaming from it, and whether
 * an acknowledged write was lost.
 *
 * <pre>bench/outage.sh [runs=20] [etcd-freeze|etcd-restart] [ttl=5] [loop_wait=1] [retry_timeout=2]</pre>
 */
public final class OutageBench {
    private OutageBench() {
    }

    public static void main(String[] args) throws Exception {
        io.pgha.examples.agent.Agent.quietJul();
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        String kind = args.length > 1 ? args[1] : "etcd-freeze";
        int ttl = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        String loop = args.length > 3 ? args[3] : "1";
        String retry = args.length > 4 ? args[4] : "2";
        Duration length = Duration.ofSeconds(ttl + 10L);
        Duration limit = Duration.ofSeconds(Long.getLong("pgha.bench.outageLimitSeconds", 120));
        Duration bound = Duration.ofSeconds(2L * ttl).plus(Duration.ofMillis((long) (Double.parseDouble(loop) * 1000)));
        System.out.printf("pgha store-outage benchmark: 3 nodes, PostgreSQL 15, %s, ttl %d s, loop_wait %s s, retry_timeout %s s, "
                + "outage %d s, %d runs%n", kind, ttl, loop, retry, length.toSeconds(), runs);
        List<Duration> times = new ArrayList<>();
        int stuck = 0;
        long lost = 0;
        try (LocalCluster cluster = new LocalCluster(3, "    ttl: " + ttl + "\n    loop_wait: " + loop + "\n    retry_timeout: " + retry)) {
            Runtime.getRuntime().addShutdownHook(new Thread(cluster::close));
            cluster.startAll();
            StoreOutage scenario = new StoreOutage(cluster);
            EtcdProcess etcd = cluster.etcd.member(0);
            StoreOutage.Outage outage = switch (kind) {
                case "etcd-freeze" -> new StoreOutage.Outage() {
                    @Override
                    public String describe() {
                        return "etcd frozen (SIGSTOP)";
                    }

                    @Override
                    public void begin() {
                        etcd.pause();
                    }

                    @Override
                    public void end() {
                        etcd.resume();
                    }
                };
                case "etcd-restart" -> new StoreOutage.Outage() {
                    @Override
                    public String describe() {
                        return "etcd stopped, then started with its data";
                    }

                    @Override
                    public void begin() {
                        etcd.stop();
                    }

                    @Override
                    public void end() {
                        etcd.start();
                        etcd.awaitHealthy(Duration.ofSeconds(30));
                    }
                };
                default -> throw new IllegalArgumentException("unknown outage kind '" + kind + "': etcd-freeze or etcd-restart");
            };
            for (int i = 1; i <= runs; i++) {
                StoreOutage.Result r = scenario.run(outage, length, limit);
                if (r.convergence().isEmpty()) {
                    stuck++;
                    System.out.printf("run %d/%d: NOT CONVERGED within %d s (primary before: %s)%n%s%n", i, runs, limit.toSeconds(),
                            r.before(), cluster.logs(80));
                    if (Boolean.getBoolean("pgha.bench.stopOnStuck")) {
                        break;
                    }
                    continue;
                }
                times.add(r.convergence().get());
                lost += r.lost();
                System.out.printf(Locale.ROOT, "run %d/%d: %s -> %s, converged %.2f s after the store was back%s, %d writes acknowledged, %d lost%n",
                        i, runs, r.before(), r.primary(), r.convergence().get().toNanos() / 1e9,
                        r.convergence().get().compareTo(bound) > 0 ? " (OVER the bound " + bound.toMillis() + " ms)" : "",
                        r.acked(), r.lost());
            }
        }
        Collections.sort(times);
        System.out.println();
        System.out.printf(Locale.ROOT, "| %s for %d s (ttl %d s, loop_wait %s s) | runs | converged | min | median | max | over 2 ttl + loop_wait | acknowledged writes lost |%n",
                kind, length.toSeconds(), ttl, loop);
        System.out.println("|---|---|---|---|---|---|---|---|");
        if (times.isEmpty()) {
            System.out.printf("| | %d | 0 | - | - | - | - | %d |%n", runs, lost);
        } else {
            long over = times.stream().filter(t -> t.compareTo(bound) > 0).count();
            System.out.printf(Locale.ROOT, "| | %d | %d | %.2f s | %.2f s | %.2f s | %d | %d |%n", times.size() + stuck, times.size(),
                    secs(times.get(0)), secs(times.get(times.size() / 2)), secs(times.get(times.size() - 1)), over, lost);
        }
        if (stuck > 0) {
            System.exit(1);
        }
    }

    private static double secs(Duration d) {
        return d.toNanos() / 1e9;
    }
}
