package io.pgha.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.testkit.VirtualCluster;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The meters of a virtual-time cluster move as it bootstraps, renews its lease, fails over and switches over. */
class PghaMetricsTest {
    private final MeterRegistry registry = new SimpleMeterRegistry();
    private PghaMetrics metrics;

    /** A cluster whose members report to {@link #metrics}, which measures on the cluster's virtual clock. */
    private VirtualCluster cluster(int nodes, long seed) {
        VirtualCluster c = VirtualCluster.builder().nodes(nodes).seed(seed)
                // members boot (and call this) at start(), after metrics exists
                .configure((m, b) -> b.ttl(Duration.ofSeconds(10)).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(3))
                        .listener(metrics.listener()))
                .sessions((name, session) -> metrics.instrument(session))
                .build();
        metrics = new PghaMetrics(c.time());
        metrics.bindTo(registry);
        c.start();
        for (VirtualCluster.Member m : c.members()) {
            metrics.add(m.node());
        }
        return c;
    }

    private double gauge(String name, String member) {
        return registry.get(name).tag("pgha.member", member).gauge().value();
    }

    private double counter(String name, String member) {
        return registry.get(name).tag("pgha.member", member).functionCounter().count();
    }

    private long renewals(String member, String outcome) {
        Timer t = registry.find("pgha.lease.renewal").tag("pgha.member", member).tag("outcome", outcome).timer();
        return t == null ? 0 : t.count();
    }

    @Test
    void theRoleGaugesTheLeaseMetersAndTheFailoverCounterFollowAFailover() {
        VirtualCluster c = cluster(3, 7);
        VirtualCluster cl = c;
        assertThat(c.runUntil(cl::isHealthy, Duration.ofSeconds(60))).isTrue();
        String first = c.leaderKey().orElseThrow();
        String other = c.members().stream().map(VirtualCluster.Member::name).filter(n -> !n.equals(first)).findFirst().orElseThrow();
        assertThat(c.runUntil(() -> gauge("patroni.primary", first) == 1 && gauge("patroni.replica", other) == 1
                && renewals(first, "renewed") > 0, Duration.ofSeconds(30))).isTrue();
        assertThat(gauge("patroni.primary", other)).isZero();
        assertThat(gauge("patroni.postgres.running", first)).isEqualTo(1);
        assertThat(gauge("patroni.xlog.location", first)).isPositive();
        assertThat(gauge("patroni.postgres.timeline", first)).isEqualTo(1);
        assertThat(gauge("patroni.cluster.unlocked", first)).isZero();
        assertThat(gauge("patroni.dcs.last.seen", first)).isPositive();
        assertThat(gauge("pgha.lease.since.renewal", first)).isBetween(0.0, 10.0);
        assertThat(gauge("pgha.lease.since.renewal", other)).isNaN();
        assertThat(counter("pgha.cycles", first)).isPositive();
        io.micrometer.core.instrument.FunctionTimer cycle = registry.get("pgha.cycle").tag("pgha.member", first).functionTimer();
        assertThat(cycle.count()).isPositive().isLessThanOrEqualTo(counter("pgha.cycles", first));
        assertThat(cycle.totalTime(java.util.concurrent.TimeUnit.NANOSECONDS)).isPositive();
        assertThat(counter("pgha.failovers", first) + counter("pgha.failovers", other)).isZero();

        // the primary's JVM and its PostgreSQL die: a replica takes over after the ttl
        c.member(first).killNode();
        c.member(first).postgres().crash();
        assertThat(c.runUntil(() -> c.leaderKey().filter(l -> !l.equals(first)).isPresent(), Duration.ofSeconds(60))).isTrue();
        String second = c.leaderKey().orElseThrow();
        assertThat(c.runUntil(() -> gauge("patroni.primary", second) == 1, Duration.ofSeconds(30))).isTrue();

        assertThat(counter("pgha.failovers", second)).isEqualTo(1);
        assertThat(counter("pgha.switchovers", second)).isZero();
        assertThat(counter("pgha.role.changes", second)).isGreaterThanOrEqualTo(1);
        assertThat(gauge("patroni.replica", second)).isZero();
        assertThat(gauge("patroni.postgres.timeline", second)).isEqualTo(2);
        assertThat(c.runUntil(() -> renewals(second, "renewed") > 0, Duration.ofSeconds(30))).isTrue();
        assertThat(registry.get("pgha.lease.renewal").tag("pgha.member", second).tag("outcome", "renewed").timer()
                .totalTime(java.util.concurrent.TimeUnit.NANOSECONDS)).isPositive();
        assertThat(gauge("pgha.lease.since.renewal", second)).isBetween(0.0, 10.0);
        // the dead node's gauges are frozen at its last cycle, and its renewals stopped
        long before = renewals(first, "renewed");
        c.advance(Duration.ofSeconds(5));
        assertThat(renewals(first, "renewed")).isEqualTo(before);
        assertThat(gauge("pgha.lease.since.renewal", first)).isGreaterThan(10.0);
    }

    @Test
    void aSwitchoverCountsAsASwitchoverNotAFailover() {
        VirtualCluster c = cluster(2, 9);
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        String primary = c.leaderKey().orElseThrow();
        String replica = c.members().stream().map(VirtualCluster.Member::name).filter(n -> !n.equals(primary)).findFirst().orElseThrow();

        c.operator().compareAndSet(ClusterKey.FAILOVER, "{\"leader\":\"" + primary + "\",\"member\":\"" + replica + "\"}",
                DcsEntry.ABSENT);
        assertThat(c.runUntil(() -> c.leaderKey().map(replica::equals).orElse(false) && gauge("patroni.primary", replica) == 1,
                Duration.ofSeconds(60))).isTrue();

        assertThat(counter("pgha.switchovers", replica)).isEqualTo(1);
        assertThat(counter("pgha.failovers", replica)).isZero();
        assertThat(gauge("patroni.primary", primary)).isZero();
    }

    @Test
    void aNodeAddedAfterBindingGetsItsMetersAndEveryMeterIsTaggedWithScopeAndMember() {
        VirtualCluster c = cluster(2, 3);
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        String primary = c.leaderKey().orElseThrow();
        assertThat(registry.get("patroni.primary").tag("pgha.scope", c.scope()).tag("pgha.member", primary).gauge().value())
                .isEqualTo(1);
        SimpleMeterRegistry later = new SimpleMeterRegistry();
        metrics.bindTo(later);
        assertThat(later.get("patroni.primary").tag("pgha.member", primary).gauge().value()).isEqualTo(1);
        assertThat(later.getMeters()).allSatisfy(m -> assertThat(m.getId().getTag("pgha.scope")).isEqualTo(c.scope()));
    }
}
