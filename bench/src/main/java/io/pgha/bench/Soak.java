package io.pgha.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The soak: a cluster at a small ttl under CPU and I/O load (pgbench on the primary, two CPU burners,
 * an fsync loop) for a long time, counting leader changes. Nothing fails on purpose, so every
 * change is a false failover.
 *
 * <pre>bench/soak.sh [seconds=600] [ttl=3] [loop_wait=1] [retry_timeout=1]</pre>
 */
public final class Soak {
    private Soak() {
    }

    public static void main(String[] args) throws Exception {
        io.pgha.agent.Agent.quietJul();
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 600;
        String ttl = args.length > 1 ? args[1] : "3";
        String loop = args.length > 2 ? args[2] : "1";
        String retry = args.length > 3 ? args[3] : "1";
        System.out.printf("pgha soak: ttl %s s, loop_wait %s s, retry_timeout %s s, %d s under load%n", ttl, loop, retry, seconds);
        List<Process> load = new ArrayList<>();
        try (LocalCluster cluster = new LocalCluster(3, "    ttl: " + ttl + "\n    loop_wait: " + loop + "\n    retry_timeout: " + retry)) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                load.forEach(Process::destroyForcibly);
                cluster.close();
            }));
            cluster.startAll();
            Scenarios s = new Scenarios(cluster);
            s.awaitHealthy();
            LocalCluster.Node primary = s.leader();
            Path pgbench = Path.of("/usr/lib/postgresql/15/bin/pgbench");
            run(cluster, List.of(pgbench.toString(), "-i", "-s", "10", "-q", "-h", "127.0.0.1", "-p", String.valueOf(primary.pgPort),
                    "-U", "postgres", "postgres"), true);
            load.add(start(cluster, List.of(pgbench.toString(), "-c", "4", "-j", "2", "-T", String.valueOf(seconds), "-P", "60",
                    "-h", "127.0.0.1", "-p", String.valueOf(primary.pgPort), "-U", "postgres", "postgres"), cluster.root.resolve("pgbench.log")));
            for (int i = 0; i < 2; i++) {
                load.add(start(cluster, List.of("sh", "-c", "while :; do :; done"), null));
            }
            Path io = cluster.root.resolve("io.dat");
            load.add(start(cluster, List.of("sh", "-c", "while :; do dd if=/dev/zero of=" + io + " bs=1M count=32 conv=fsync 2>/dev/null; done"),
                    null));
            Optional<String> leader = cluster.leader();
            int changes = 0;
            long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
            long lastReport = System.nanoTime();
            while (System.nanoTime() < end) {
                Thread.sleep(200);
                Optional<String> now = cluster.leader();
                if (now.isPresent() && !now.equals(leader)) {
                    changes++;
                    System.out.printf("leader change %d: %s -> %s%n", changes, leader.orElse("-"), now.get());
                    leader = now;
                }
                if (System.nanoTime() - lastReport > Duration.ofMinutes(1).toNanos()) {
                    lastReport = System.nanoTime();
                    System.out.printf("%s: leader %s, %d changes so far, load average %s%n", java.time.LocalTime.now().withNano(0),
                            leader.orElse("-"), changes, Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
                }
            }
            load.forEach(Process::destroy);
            for (Process p : load) {
                p.waitFor();
            }
            String fenced = cluster.logs(100_000).lines().filter(l -> l.contains("FENCED")).count() + "";
            String tps = Files.exists(cluster.root.resolve("pgbench.log"))
                    ? Files.readAllLines(cluster.root.resolve("pgbench.log")).stream().filter(l -> l.startsWith("tps")).findFirst().orElse("?")
                    : "?";
            System.out.printf(Locale.ROOT, "soak done: %d s at ttl %s / %s / %s under load: %d leader changes (false failovers), "
                    + "%s fencing events; pgbench: %s%n", seconds, ttl, loop, retry, changes, fenced, tps);
        }
    }

    private static void run(LocalCluster cluster, List<String> cmd, boolean check) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("PGPASSWORD", LocalCluster.SUPERUSER_PASSWORD);
        int rc = pb.start().waitFor();
        if (check && rc != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + rc);
        }
    }

    private static Process start(LocalCluster cluster, List<String> cmd, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.redirectOutput(log == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.to(log.toFile()));
        pb.environment().put("PGPASSWORD", LocalCluster.SUPERUSER_PASSWORD);
        return pb.start();
    }
}
