package io.pgha.dcs.consul;

import static io.pgha.dcs.consul.ConsulFaultTest.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonParser;
import io.pgha.HaNode;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.dcs.consul.testing.ConsulAgentExtension;
import io.pgha.dcs.consul.testing.CountingProxy;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import io.pgha.testkit.Closer;
import io.pgha.testkit.FakePostgres;
import io.pgha.spi.support.ForwardingDcsSession;
import io.pgha.testkit.RealNodes;
import io.pgha.testkit.servers.ConsulAgent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Figures, printed, not asserted against a clock (opt-in, about two minutes):
 * {@code ./mvnw -q -pl dcs-consul -am verify -Dtest=ConsulMeasurementsTest -Dsurefire.failIfNoSpecifiedTests=false -Dpgha.consul.measure=true}
 * <ol>
 *   <li>session destroyed → another member's watch hears the leader key go (median of 15);</li>
 *   <li>a leader's node killed → its key disappears how long after its last renewal (10 runs): the
 *       real failover bound under Consul's "up to twice the TTL" rule;</li>
 *   <li>HTTP requests per second that one idle HaNode sends to the agent, counted by a proxy: a lone
 *       leader with timings fitted to Consul and with Patroni's defaults, then a leader and a replica.</li>
 * </ol>
 */
@ExtendWith(ConsulAgentExtension.class)
@EnabledIfSystemProperty(named = "pgha.consul.measure", matches = "true")
class ConsulMeasurementsTest {
    private final Closer closer = new Closer();

    @AfterEach
    void closeAll() throws Exception {
        closer.close();
    }

    @Test
    void timeFromADestroyedSessionToAnotherMembersWakeUp(ConsulAgent consul) {
        ConsulDcs dcs = closer.add(ConsulDcs.builder().endpoints(consul.url()).minSessionTtl(Duration.ofSeconds(1)).build());
        List<Long> micros = new ArrayList<>();
        for (int run = 0; run < 15; run++) {
            String scope = "m1-" + run + "-" + Long.toHexString(System.nanoTime() & 0xFFFFF);
            DcsSession a = closer.add(dcs.open(SessionSpec.member(scope, "a", Duration.ofSeconds(10), Duration.ofSeconds(2))));
            DcsSession b = closer.add(dcs.open(SessionSpec.member(scope, "b", Duration.ofSeconds(10), Duration.ofSeconds(2))));
            AtomicLong heardAt = new AtomicLong();
            AtomicLong reports = new AtomicLong();
            Subscription sub = closer.add(b.watch(new DcsListener() {
                @Override
                public void clusterChanged(Optional<String> path) {
                    reports.incrementAndGet();
                    if (path.equals(Optional.of("leader"))) {
                        heardAt.compareAndSet(0, System.nanoTime());
                    }
                }
            }));
            await("the watch's first answer").atMost(Duration.ofSeconds(3)).until(() -> reports.get() > 0);
            assertThat(get(a.acquireLeader())).isTrue();
            await().atMost(Duration.ofSeconds(3)).until(() -> heardAt.get() != 0);
            heardAt.set(0);
            String session = JsonParser.parseString(consul.http("GET", "/v1/kv/service/" + scope + "/leader", null).body())
                    .getAsJsonArray().get(0).getAsJsonObject().get("Session").getAsString();
            long sent = System.nanoTime();
            consul.http("PUT", "/v1/session/destroy/" + session, "");
            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(1)).until(() -> heardAt.get() != 0);
            micros.add((heardAt.get() - sent) / 1000);
            sub.close();
        }
        Collections.sort(micros);
        System.out.printf("MEASURE destroy->wake-up over %d runs: median %.1f ms, min %.1f ms, p90 %.1f ms, max %.1f ms%n",
                micros.size(), micros.get(micros.size() / 2) / 1000.0, micros.get(0) / 1000.0,
                micros.get(micros.size() * 9 / 10) / 1000.0, micros.get(micros.size() - 1) / 1000.0);
    }

    @Test
    void howLongAfterItsLastRenewalADeadLeadersKeyDisappears(ConsulAgent consul) {
        Duration ttl = Duration.ofSeconds(4);
        int runs = 10;
        List<Run> all = new ArrayList<>();
        RealNodes.Scheduler pgThread = closer.add(RealNodes.scheduler("fake-postgres"));
        for (int i = 0; i < runs; i++) {
            String scope = "m2-" + i + "-" + Long.toHexString(System.nanoTime() & 0xFFFFF);
            RecordingDcs dcs = new RecordingDcs(closer.add(ConsulDcs.builder().endpoints(consul.url()).minSessionTtl(Duration.ofSeconds(1)).build()));
            FakePostgres pg = new FakePostgres("n1", new FakePostgres.Network(i), Ticker.system(), pgThread, new FakePostgres.Timings());
            HaNode node = closer.add(HaNode.builder().name("n1").scope(scope).dcs(dcs).postgres(pg)
                    .ttl(ttl).loopWait(Duration.ofMillis(500)).retryTimeout(Duration.ofMillis(700)).build());
            node.start();
            all.add(new Run(scope, dcs, pg, node, new AtomicLong()));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> all.stream().allMatch(r -> r.node.status().role() == Role.PRIMARY));
        ConsulDcs observerDcs = closer.add(ConsulDcs.builder().endpoints(consul.url()).build());
        for (Run r : all) {
            DcsSession o = closer.add(observerDcs.open(SessionSpec.observer(r.scope, Duration.ofSeconds(2))));
            closer.add(o.watch(new DcsListener() {
                @Override
                public void clusterChanged(Optional<String> path) {
                    if (path.isPresent() && path.get().equals("leader") && r.goneAt.get() == 0) {
                        ClusterSnapshot s = get(o.read());
                        if (s.leaderName().isEmpty()) {
                            r.goneAt.set(System.nanoTime());
                        }
                    }
                }
            }));
        }
        await().pollDelay(Duration.ofSeconds(1)).until(() -> true); // let the watches settle
        for (Run r : all) {
            RealNodes.kill(r.node);
            r.pg.crash();
        }
        await().atMost(ttl.multipliedBy(3)).until(() -> all.stream().allMatch(r -> r.goneAt.get() != 0));
        List<Long> ms = new ArrayList<>();
        for (Run r : all) {
            ms.add((r.goneAt.get() - r.dcs.lastLeaseCallSentAt()) / 1_000_000);
        }
        Collections.sort(ms);
        System.out.printf("MEASURE dead leader's key gone after its last renewal (ttl %d ms, Consul session TTL %d ms), %d runs: "
                        + "min %d ms, median %d ms, max %d ms; all %s (documented window: [ttl/2, ttl] = [%d, %d] ms)%n",
                ttl.toMillis(), ttl.toMillis() / 2, runs, ms.get(0), ms.get(ms.size() / 2), ms.get(ms.size() - 1), ms,
                ttl.toMillis() / 2, ttl.toMillis());
    }

    @Test
    void idleRequestsPerSecondOfOneHaNode(ConsulAgent consul) throws Exception {
        measureIdle(consul, Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofSeconds(5));
        measureIdle(consul, Duration.ofSeconds(30), Duration.ofSeconds(10), Duration.ofSeconds(10));
    }

    @Test
    void idleRequestsPerSecondOfAReplica(ConsulAgent consul) throws Exception {
        Duration ttl = Duration.ofSeconds(30);
        Duration loopWait = Duration.ofSeconds(5);
        String scope = "m4-" + Long.toHexString(System.nanoTime() & 0xFFFFF);
        RealNodes.Scheduler pgThread = closer.add(RealNodes.scheduler("fake-postgres"));
        FakePostgres.Network network = new FakePostgres.Network(4);
        List<CountingProxy> proxies = new ArrayList<>();
        List<HaNode> nodes = new ArrayList<>();
        for (String name : List.of("n1", "n2")) {
            CountingProxy proxy = closer.add(new CountingProxy(consul.url()));
            FakePostgres pg = new FakePostgres(name, network, Ticker.system(), pgThread, new FakePostgres.Timings());
            ConsulDcs dcs = closer.add(ConsulDcs.builder().endpoints(proxy.url()).build());
            HaNode node = closer.add(HaNode.builder().name(name).scope(scope).dcs(dcs).postgres(pg)
                    .ttl(ttl).loopWait(loopWait).retryTimeout(loopWait).build());
            node.start();
            proxies.add(proxy);
            nodes.add(node);
            if (name.equals("n1")) {
                await().atMost(Duration.ofSeconds(30)).until(() -> node.status().role() == Role.PRIMARY);
            }
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> nodes.get(1).status().role() == Role.REPLICA);
        await().pollDelay(Duration.ofSeconds(3)).until(() -> true);
        proxies.forEach(CountingProxy::reset);
        long start = System.nanoTime();
        await().pollDelay(Duration.ofSeconds(30)).atMost(Duration.ofSeconds(31)).until(() -> true);
        double secs = (System.nanoTime() - start) / 1e9;
        for (int i = 0; i < 2; i++) {
            System.out.printf("MEASURE idle %s HaNode of two (ttl 30s, loop_wait 5s, retry_timeout 5s): %d requests in %.1f s = %.2f req/s; %s%n",
                    i == 0 ? "leader" : "replica", proxies.get(i).total(), secs, proxies.get(i).total() / secs, proxies.get(i).byEndpoint());
        }
    }

    private void measureIdle(ConsulAgent consul, Duration ttl, Duration loopWait, Duration retry) throws Exception {
        CountingProxy proxy = closer.add(new CountingProxy(consul.url()));
        String scope = "m3-" + Long.toHexString(System.nanoTime() & 0xFFFFF);
        RealNodes.Scheduler pgThread = closer.add(RealNodes.scheduler("fake-postgres"));
        FakePostgres pg = new FakePostgres("n1", new FakePostgres.Network(3), Ticker.system(), pgThread, new FakePostgres.Timings());
        ConsulDcs dcs = closer.add(ConsulDcs.builder().endpoints(proxy.url()).build());
        HaNode node = closer.add(HaNode.builder().name("n1").scope(scope).dcs(dcs).postgres(pg)
                .ttl(ttl).loopWait(loopWait).retryTimeout(retry).build());
        node.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> node.status().role() == Role.PRIMARY && pg.acceptsWrites());
        await().pollDelay(Duration.ofSeconds(3)).until(() -> true);
        proxy.reset();
        long start = System.nanoTime();
        await().pollDelay(Duration.ofSeconds(30)).atMost(Duration.ofSeconds(31)).until(() -> true);
        double secs = (System.nanoTime() - start) / 1e9;
        long n = proxy.total();
        Map<String, Long> by = proxy.byEndpoint();
        System.out.printf("MEASURE idle leader HaNode (ttl %ds, loop_wait %ds, retry_timeout %ds): %d requests in %.1f s = %.2f req/s; %s%n",
                ttl.toSeconds(), loopWait.toSeconds(), retry.toSeconds(), n, secs, n / secs, by);
        node.close();
    }

    private record Run(String scope, RecordingDcs dcs, FakePostgres pg, HaNode node, AtomicLong goneAt) {
    }

    /** Remembers when the last lease-refreshing call that succeeded was sent (each one renews the Consul session first). */
    static final class RecordingDcs implements Dcs {
        private final Dcs delegate;
        private final AtomicLong lastSent = new AtomicLong();

        RecordingDcs(Dcs delegate) {
            this.delegate = delegate;
        }

        long lastLeaseCallSentAt() {
            return lastSent.get();
        }

        private <T> CompletionStage<T> record(Supplier<CompletionStage<T>> call) {
            long sent = System.nanoTime();
            return call.get().whenComplete((v, e) -> {
                if (e == null) {
                    lastSent.accumulateAndGet(sent, Math::max);
                }
            });
        }

        @Override
        public DcsSession open(SessionSpec spec) {
            DcsSession s = delegate.open(spec);
            return new ForwardingDcsSession(s) {
                @Override
                public CompletionStage<Boolean> acquireLeader() {
                    return record(s::acquireLeader);
                }

                @Override
                public CompletionStage<Boolean> renewLeader(Optional<String> status) {
                    return record(() -> s.renewLeader(status));
                }

                @Override
                public CompletionStage<Void> touchMember(String value) {
                    return record(() -> s.touchMember(value));
                }
            };
        }

        @Override
        public void close() {
            delegate.close();
        }
    }
}
