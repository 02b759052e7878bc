package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.Stages.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.pgha.HaNode;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.FakePostgres;
import io.pgha.testkit.RealNodes;
import io.pgha.testkit.servers.EtcdCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Figures, printed, not asserted (timings on a shared 2-core machine are not a test):
 *
 * <pre>
 * ./mvnw -q -pl dcs-etcd -am verify -Dtest=EtcdMeasurementsTest -Dsurefire.failIfNoSpecifiedTests=false -Dpgha.measure=true
 * </pre>
 *
 * Optional: {@code -Dpgha.measure.runs=N} (lease-expiry runs, default 15),
 * {@code -Dpgha.measure.idleSeconds=S} (idle window per setting, default 30).
 */
@EnabledIfSystemProperty(named = "pgha.measure", matches = "true")
class EtcdMeasurementsTest {
    private static final int RUNS = Integer.getInteger("pgha.measure.runs", 15);
    private static final int IDLE_SECONDS = Integer.getInteger("pgha.measure.idleSeconds", 30);

    /**
     * From the moment a lease expires to the moment another session's watch reports the leader key
     * gone. The expiry moment is pinned by a last keep-alive sent directly (its round trip on
     * loopback is well under a millisecond): expiry = keep-alive answered + TTL.
     */
    @Test
    void leaseExpiryToWatchWakeUp() throws Exception {
        long ttlSeconds = 2;
        try (EtcdCluster etcd = EtcdCluster.single(); EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build();
             Client raw = Client.builder().endpoints(etcd.clientUrl()).build()) {
            Warmup.once(etcd.clientUrl());
            List<Double> latencies = new ArrayList<>();
            List<Double> rtts = new ArrayList<>();
            for (int i = 0; i < RUNS; i++) {
                String scope = "measure-expiry-" + i;
                DcsSession holder = dcs.open(SessionSpec.member(scope, "a", Duration.ofSeconds(ttlSeconds), Duration.ofSeconds(5)));
                DcsSession watcher = dcs.open(SessionSpec.member(scope, "b", Duration.ofSeconds(ttlSeconds), Duration.ofSeconds(5)));
                AtomicLong wokeAt = new AtomicLong();
                AtomicLong established = new AtomicLong();
                watcher.watch(new DcsListener() {
                    @Override
                    public void clusterChanged(Optional<String> path) {
                        if (path.isEmpty()) {
                            established.set(System.nanoTime());
                        } else if (path.get().equals("leader")) {
                            wokeAt.compareAndSet(0, System.nanoTime());
                        }
                    }
                });
                await().atMost(Duration.ofSeconds(5)).until(() -> established.get() != 0);
                assertThat(get(holder.acquireLeader())).isTrue();
                await().atMost(Duration.ofSeconds(5)).until(() -> wokeAt.get() != 0); // the acquire itself
                wokeAt.set(0);
                long lease = get(raw.getKVClient().get(ByteSequence.from("/service/" + scope + "/leader", StandardCharsets.UTF_8)))
                        .getKvs().get(0).getLease();
                // a random phase against etcd's 500 ms expiry sweep, so the runs do not all land alike
                long phase = (long) (Math.random() * 500);
                await().pollDelay(Duration.ofMillis(phase)).atMost(Duration.ofSeconds(1)).until(() -> true);
                long sent = System.nanoTime();
                get(raw.getLeaseClient().keepAliveOnce(lease));
                long answered = System.nanoTime();
                long expiresAt = answered + Duration.ofSeconds(ttlSeconds).toNanos();
                await().atMost(Duration.ofSeconds(ttlSeconds + 3)).pollInterval(Duration.ofMillis(5)).until(() -> wokeAt.get() != 0);
                latencies.add((wokeAt.get() - expiresAt) / 1e6);
                rtts.add((answered - sent) / 1e6);
                holder.close();
                watcher.close();
            }
            List<Double> sorted = new ArrayList<>(latencies);
            Collections.sort(sorted);
            System.out.printf("MEASURE lease expiry -> watch wake-up over %d runs (ttl %d s): median %.0f ms, min %.0f ms, max %.0f ms, p90 %.0f ms;"
                            + " keep-alive round trip median %.2f ms%n  all (ms): %s%n",
                    RUNS, ttlSeconds, median(sorted), sorted.get(0), sorted.get(sorted.size() - 1),
                    sorted.get((int) Math.ceil(sorted.size() * 0.9) - 1), median(sorted(rtts)), round(latencies));
        }
    }

    /** Requests per second one idle HaNode (the leader, nothing changing) sends to etcd, counted by etcd itself. */
    @Test
    void idleRequestsPerSecondOfOneHaNode() {
        measureIdle("short timings (ttl 3 s, loop_wait 1 s, retry_timeout 1 s)", Duration.ofSeconds(3), Duration.ofSeconds(1),
                Duration.ofSeconds(1), 1);
        measureIdle("Patroni's defaults (ttl 30 s, loop_wait 10 s, retry_timeout 10 s)", Duration.ofSeconds(30), Duration.ofSeconds(10),
                Duration.ofSeconds(10), 1);
        measureIdle("short timings, 3 nodes (1 leader + 2 replicas), all together", Duration.ofSeconds(3), Duration.ofSeconds(1),
                Duration.ofSeconds(1), 3);
    }

    private void measureIdle(String label, Duration ttl, Duration loopWait, Duration retry, int count) {
        List<AutoCloseable> closers = new ArrayList<>();
        EtcdCluster etcd = EtcdCluster.single();
        closers.add(etcd); // closed last: the nodes revoke their leases on close
        try {
            Warmup.once(etcd.clientUrl());
            FakePostgres.Network network = new FakePostgres.Network(3);
            List<HaNode> nodes = new ArrayList<>();
            List<FakePostgres> pgs = new ArrayList<>();
            for (int i = 1; i <= count; i++) {
                RealNodes.Scheduler proc = RealNodes.scheduler("pg-n" + i);
                closers.add(proc);
                FakePostgres pg = new FakePostgres("n" + i, network, Ticker.system(), proc, new FakePostgres.Timings());
                EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build();
                closers.add(dcs);
                HaNode node = HaNode.builder().name("n" + i).scope("idle").dcs(dcs).postgres(pg)
                        .ttl(ttl).loopWait(loopWait).retryTimeout(retry).build();
                closers.add(node);
                node.start();
                nodes.add(node);
                pgs.add(pg);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> nodes.stream().filter(n -> n.status().role() == Role.PRIMARY).count() == 1
                    && pgs.stream().filter(FakePostgres::isStreaming).count() == count - 1);
            // let it settle into the idle rhythm
            await().pollDelay(loopWait.multipliedBy(2)).atMost(loopWait.multipliedBy(3)).until(() -> true);
            Map<String, Long> before = Stages.startedCalls(etcd.metrics(0));
            long start = System.nanoTime();
            await().pollDelay(Duration.ofSeconds(IDLE_SECONDS)).atMost(Duration.ofSeconds(IDLE_SECONDS + 1)).until(() -> true);
            Map<String, Long> after = Stages.startedCalls(etcd.metrics(0));
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Long> delta = new TreeMap<>();
            long total = 0;
            for (Map.Entry<String, Long> e : after.entrySet()) {
                long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
                if (d > 0) {
                    delta.put(e.getKey(), d);
                    total += d;
                }
            }
            System.out.printf("MEASURE idle requests to etcd, %s: %.2f req/s (%d gRPC calls in %.1f s = %.2f per loop_wait) by method: %s%n",
                    label, total / seconds, total, seconds, total / seconds * loopWait.toMillis() / 1000.0, delta);
        } finally {
            for (int i = closers.size() - 1; i >= 0; i--) {
                try {
                    closers.get(i).close();
                } catch (Exception e) {
                    // measuring only
                }
            }
        }
    }

    private static List<Double> sorted(List<Double> l) {
        List<Double> s = new ArrayList<>(l);
        Collections.sort(s);
        return s;
    }

    private static double median(List<Double> sorted) {
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static List<Long> round(List<Double> l) {
        return l.stream().map(Math::round).toList();
    }
}
