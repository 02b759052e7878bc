package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.internal.engine.PlantedBug;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class SimulationTest {

    /** Seeds to run: {@code -Dpgha.sim.seeds=100000} for a long run; CI runs the default. */
    private static final int SEEDS = Integer.getInteger("pgha.sim.seeds", 2000);
    /** First seed, so a long run can be split: {@code -Dpgha.sim.firstSeed=...}. */
    private static final long FIRST = Long.getLong("pgha.sim.firstSeed", 1);

    @Test
    void everySeedKeepsEveryInvariant() throws Exception {
        List<Simulation.Result> results = runAll(LongStream.range(FIRST, FIRST + SEEDS).mapToObj(Simulation.Config::forSeed).toList());
        List<Simulation.Result> failed = results.stream().filter(r -> !r.ok()).toList();
        if (!failed.isEmpty()) {
            System.out.println(failed.get(0).report());
            System.out.println("failed seeds: " + failed.stream().map(r -> r.config().seed()).limit(50).toList());
        }
        assertThat(failed).as("failed seeds").isEmpty();
    }

    @Test
    void replaysOneSeed() {
        String seed = System.getProperty("pgha.sim.seed");
        Assumptions.assumeTrue(seed != null, "set -Dpgha.sim.seed=N to replay one seed");
        Simulation.Config config = Simulation.Config.forSeed(Long.parseLong(seed));
        // a run of the planted-bug tests replays with their faults and bug: -Dpgha.sim.faults=A,B -Dpgha.sim.bugs=C
        String faults = System.getProperty("pgha.sim.faults");
        if (faults != null) {
            config = config.withFaults(java.util.Arrays.stream(faults.split(",")).map(Simulation.Fault::valueOf)
                    .collect(java.util.stream.Collectors.toSet()));
        }
        String bugs = System.getProperty("pgha.sim.bugs");
        if (bugs != null) {
            config = config.withBugs(java.util.Arrays.stream(bugs.split(",")).map(PlantedBug::valueOf)
                    .collect(java.util.stream.Collectors.toSet()));
        }
        Simulation.Result r = Simulation.run(config);
        System.out.println(r.ok() ? "seed " + seed + " passed; events:\n" + String.join("\n", r.trace()) : r.report());
        assertThat(r.violation()).isEmpty();
    }

    @Test
    void theSameSeedReplaysTheSameRun() {
        Simulation.Result a = Simulation.run(Simulation.Config.forSeed(42));
        Simulation.Result b = Simulation.run(Simulation.Config.forSeed(42));
        assertThat(b.steps()).isEqualTo(a.steps());
        assertThat(b.trace()).isEqualTo(a.trace());
        assertThat(b.acked()).isEqualTo(a.acked());
    }

    @Test
    void aPlantedFencingBugIsCaught() throws Exception {
        List<Simulation.Config> configs = LongStream.range(1, 41)
                .mapToObj(s -> Simulation.Config.forSeed(s)
                        .withFaults(EnumSet.of(Simulation.Fault.DCS_PARTITION, Simulation.Fault.NODE_PAUSE))
                        .withBugs(Set.of(PlantedBug.NO_FENCING)))
                .toList();
        List<Simulation.Result> results = runAll(configs);
        long caught = results.stream().filter(r -> r.violation().map(v -> v.contains("two servers accept writes")).orElse(false)).count();
        System.out.println("planted NO_FENCING bug caught in " + caught + " of " + results.size() + " seeds");
        assertThat(caught).as("seeds in which the checker caught two writable primaries").isGreaterThan(0);
    }

    @Test
    void aPlantedBugThatTrustsStaleViewsLeavesTheClusterWithoutAPrimaryAndTheConvergenceCheckCatchesIt() throws Exception {
        List<Simulation.Config> configs = LongStream.range(1, 41)
                .mapToObj(s -> Simulation.Config.forSeed(s)
                        .withFaults(EnumSet.of(Simulation.Fault.DCS_FREEZE, Simulation.Fault.STALE_READS))
                        .withBugs(Set.of(PlantedBug.TRUSTS_STALE_VIEWS)))
                .toList();
        List<Simulation.Result> results = runAll(configs);
        long caught = results.stream().filter(r -> r.violation().map(v -> v.contains("no single primary")).orElse(false)).count();
        System.out.println("planted TRUSTS_STALE_VIEWS bug caught in " + caught + " of " + results.size() + " seeds");
        results.stream().filter(r -> !r.ok()).findFirst().ifPresent(r -> System.out.println(r.report()));
        assertThat(caught).as("seeds in which the convergence check caught a cluster left without a primary").isGreaterThan(0);
    }

    static List<Simulation.Result> runAll(List<Simulation.Config> configs) throws Exception {
        long start = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors())));
        List<Future<Simulation.Result>> futures = new ArrayList<>();
        for (Simulation.Config c : configs) {
            futures.add(pool.submit(() -> Simulation.run(c)));
        }
        List<Simulation.Result> results = new ArrayList<>();
        for (Future<Simulation.Result> f : futures) {
            results.add(f.get());
        }
        pool.shutdown();
        double secs = (System.nanoTime() - start) / 1e9;
        Duration maxConv = results.stream().flatMap(r -> r.convergence().stream()).max(Comparator.naturalOrder()).orElse(Duration.ZERO);
        long virtual = results.stream().mapToLong(r -> r.virtualTime().toSeconds()).sum();
        long acked = results.stream().mapToLong(Simulation.Result::acked).sum();
        long lostAsync = results.stream().filter(r -> !r.config().syncMode().enabled()).mapToLong(Simulation.Result::lostAcked).sum();
        long changes = results.stream().mapToLong(Simulation.Result::leaderChanges).sum();
        System.out.printf("simulated %d seeds in %.1f s (%.1f seeds/s, %d virtual s, %d leader changes, %d acked commits, "
                        + "%d lost in async mode); slowest convergence after heal %d ms%n",
                results.size(), secs, results.size() / secs, virtual, changes, acked, lostAsync, maxConv.toMillis());
        return results;
    }
}
