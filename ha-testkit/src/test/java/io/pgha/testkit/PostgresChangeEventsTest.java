package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.HaEvent;
import io.pgha.HaEvent.PostgresChange;
import io.pgha.internal.InternalAccess;
import io.pgha.internal.decision.AdminRequest;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the engine did to PostgreSQL, as Patroni's callbacks see it: a bootstrap and a clone start
 * a server, a switchover is one role change on each side (never also a start), a restart and a
 * reload are reported as such, and a node that stops says so.
 */
class PostgresChangeEventsTest {
    private final List<String> changes = new ArrayList<>();

    private VirtualCluster cluster() {
        return VirtualCluster.builder().nodes(2).seed(9)
                .configure((m, b) -> b.ttl(Duration.ofSeconds(10)).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(3)))
                .events((m, e) -> {
                    if (e instanceof HaEvent.PostgresChanged p) {
                        changes.add(m + " " + p.change().callback() + " " + p.role());
                    }
                })
                .build().start();
    }

    @Test
    void aBootstrapAndACloneAreStartsAndASwitchoverIsOneRoleChangeOnEachSide() {
        VirtualCluster c = cluster();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        String primary = c.leaderKey().orElseThrow();
        String replica = c.members().stream().map(VirtualCluster.Member::name).filter(n -> !n.equals(primary)).findFirst().orElseThrow();
        assertThat(c.runUntil(() -> changes.size() >= 2, Duration.ofSeconds(30))).isTrue();
        assertThat(changes).containsExactlyInAnyOrder(primary + " on_start primary", replica + " on_start replica");
        changes.clear();

        c.operator().compareAndSet(ClusterKey.FAILOVER, "{\"leader\":\"" + primary + "\",\"member\":\"" + replica + "\"}",
                DcsEntry.ABSENT);
        assertThat(c.runUntil(() -> c.leaderKey().map(replica::equals).orElse(false) && c.isHealthy(), Duration.ofSeconds(60)))
                .isTrue();
        assertThat(c.runUntil(() -> changes.size() >= 2, Duration.ofSeconds(30))).as("the promotion ends").isTrue();
        c.advance(Duration.ofSeconds(5));

        assertThat(changes).as(changes.toString()).containsExactlyInAnyOrder(replica + " on_role_change primary",
                primary + " on_role_change replica");
    }

    @Test
    void aRestartAReloadAndAStopAreReported() {
        VirtualCluster c = cluster();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        String primary = c.leaderKey().orElseThrow();
        var engine = InternalAccess.engine(c.member(primary).node());
        changes.clear();

        var restarted = engine.submit(new AdminRequest.Restart(Duration.ofSeconds(30)));
        assertThat(c.runUntil(restarted::isDone, Duration.ofSeconds(30))).isTrue();
        var reloaded = engine.submit(new AdminRequest.Reload());
        assertThat(c.runUntil(reloaded::isDone, Duration.ofSeconds(30))).isTrue();
        assertThat(c.runUntil(() -> changes.size() >= 2, Duration.ofSeconds(5))).isTrue();
        assertThat(changes).containsExactly(primary + " on_restart primary", primary + " on_reload primary");

        var stopped = c.member(primary).stopGracefully();
        assertThat(c.runUntil(stopped::isDone, Duration.ofSeconds(60))).isTrue();
        assertThat(changes).contains(primary + " on_stop primary");
    }
}
