package io.pgha.dcs.consul;

import io.pgha.dcs.consul.testing.ConsulAgentExtension;
import io.pgha.spi.Dcs;
import io.pgha.testkit.DcsContractTest;
import io.pgha.testkit.servers.ConsulAgent;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Consul keeps the contract every store keeps: the suite runs against a real Consul agent
 * ({@code -dev}, {@code session_ttl_min = "1s"}). The suite's ttl of 2 s gives Consul sessions of
 * 1 s, which Consul reaps 2 s after the last renewal: the keys vanish about ttl after it, as the
 * suite expects. Its default expiry slack (one more ttl) covers Consul's documented "up to twice
 * the TTL".
 */
@ExtendWith(ConsulAgentExtension.class)
class ConsulDcsContractTest extends DcsContractTest {
    private static ConsulAgent consul;

    // the suite opens the store in its own @BeforeEach, which runs before any of ours: start the agent before all
    @BeforeAll
    static void agent(ConsulAgent shared) {
        consul = shared;
    }

    @Override
    protected Dcs createDcs() {
        return ConsulDcs.builder().endpoints(consul.url()).minSessionTtl(Duration.ofSeconds(1)).build();
    }

    /**
     * Consul reaps a session up to twice its TTL (ttl/2) after the last renewal, that is up to ttl:
     * the suite's default slack of one more ttl covers it with room for a slow agent.
     */
    @Override
    protected Duration expirySlack() {
        return ttl();
    }

    @Override
    protected Dcs createUnreachableDcs() {
        return ConsulDcs.builder().endpoints("http://127.0.0.1:" + ConsulAgent.closedPort()).minSessionTtl(Duration.ofSeconds(1)).build();
    }
}
