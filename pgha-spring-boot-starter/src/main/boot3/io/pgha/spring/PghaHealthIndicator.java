package io.pgha.spring;

import io.pgha.HaNode;
import io.pgha.NodeStatus;
import io.pgha.health.HealthCheck;
import io.pgha.health.HealthRequest;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/**
 * The node in Spring Boot's {@code /actuator/health} as {@code pgha}: UP while its HA loop runs and
 * its PostgreSQL runs (Patroni's {@code /liveness} and {@code /health}), DOWN otherwise, with the
 * role, the leader and the last decision as details. Whether this node is the primary is not its
 * health: HAProxy asks {@code /primary} for that.
 */
public class PghaHealthIndicator implements HealthIndicator {
    private final HaNode node;

    public PghaHealthIndicator(HaNode node) {
        this.node = node;
    }

    @Override
    public Health health() {
        NodeStatus s = node.status();
        boolean live = HealthCheck.evaluate(node, HealthRequest.of("/liveness")).passed();
        boolean pgRunning = HealthCheck.evaluate(node, HealthRequest.of("/health")).passed();
        Health.Builder b = live && pgRunning ? Health.up() : Health.down();
        return b.withDetail("scope", s.scope())
                .withDetail("member", s.member())
                .withDetail("role", s.role().name().toLowerCase(java.util.Locale.ROOT))
                .withDetail("leader", s.leader().orElse(""))
                .withDetail("timeline", s.timeline())
                .withDetail("paused", s.paused())
                .withDetail("dcsReachable", s.dcsReachable())
                .withDetail("loopAlive", live)
                .withDetail("postgresRunning", pgRunning)
                .withDetail("lastDecision", s.lastDecision())
                .build();
    }
}
