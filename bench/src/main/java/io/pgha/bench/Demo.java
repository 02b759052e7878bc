package io.pgha.bench;

import io.pgha.agent.ctl.Ctl;
import io.pgha.bench.LocalCluster.Node;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;

/**
 * The README's demo: a local three-node cluster (etcd and PostgreSQL on loopback, three pgha agents
 * as processes), the member table, a {@code kill -9} of the primary, the new table with the measured
 * failover time, the old primary back as a replica, and everything stopped again.
 */
public final class Demo {
    private Demo() {
    }

    public static void main(String[] args) throws Exception {
        io.pgha.agent.Agent.quietJul();
        long start = System.nanoTime();
        say("starting etcd and three pgha agents (PostgreSQL 15, ttl 3 s, loop_wait 1 s, retry_timeout 1 s) ...");
        try (LocalCluster cluster = new LocalCluster(3, "    ttl: 3\n    loop_wait: 1\n    retry_timeout: 1")) {
            Runtime.getRuntime().addShutdownHook(new Thread(cluster::close));
            cluster.startAll();
            Scenarios s = new Scenarios(cluster);
            s.awaitHealthy();
            list(cluster);

            Node old = s.leader();
            say("kill -9 of the primary %s: its agent (pid %d) and its postmaster", old.name, old.pid());
            Scenarios.Crash crash;
            try (WriteProbe probe = new WriteProbe(cluster, 50).start()) {
                Waits.until("a write on the primary", () -> probe.lastWriteOn(old.name).isPresent(), Duration.ofSeconds(10), 20);
                long t0 = System.nanoTime();
                cluster.crash(old);
                Waits.until("a new leader", () -> cluster.leader().filter(l -> !l.equals(old.name)).isPresent(), Duration.ofSeconds(30), 10);
                Node now = s.leader();
                Waits.until("a write on the new primary", () -> probe.firstWriteOn(now.name, t0).isPresent(), Duration.ofSeconds(30), 10);
                Duration write = Duration.ofNanos(probe.firstWriteOn(now.name, t0).get().atNanos() - t0);
                Waits.until("the other replica streaming from the new primary",
                        () -> cluster.nodes().stream().filter(n -> n != old && n != now).allMatch(n -> s.streamingFrom(now).contains(n.name)),
                        Duration.ofSeconds(30), 10);
                crash = new Scenarios.Crash(write, Duration.ofNanos(System.nanoTime() - t0), old.name, now.name);
            }
            say("failover: %s is the new primary; a write succeeded on it %.2f s after the kill; the other replica "
                    + "streamed from it %.2f s after the kill", crash.to(), secs(crash.firstWrite()), secs(crash.replicaStreams()));
            list(cluster);

            say("bringing %s back: it rejoins as a replica (rewound if it had diverged) ...", old.name);
            long back = System.nanoTime();
            cluster.start(old);
            s.awaitHealthy();
            say("%s streams again after %.1f s", old.name, (System.nanoTime() - back) / 1e9);
            list(cluster);
            say("stopping everything ...");
        }
        say("done in %.0f s; nothing left running", (System.nanoTime() - start) / 1e9);
    }

    private static void list(LocalCluster cluster) {
        PrintWriter out = new PrintWriter(System.out, true);
        Ctl.run(new String[] {"-c", cluster.nodes().get(0).config.toString(), "list"}, out, new PrintWriter(System.err, true));
    }

    private static double secs(Duration d) {
        return d.toNanos() / 1e9;
    }

    private static void say(String format, Object... args) {
        System.out.println(">>> " + String.format(Locale.ROOT, format, args));
    }
}
