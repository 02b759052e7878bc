package io.pgha.dcs.consul.testing;

import io.pgha.testkit.servers.ConsulAgent;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests one shared {@link ConsulAgent} per test run (started on first use, stopped when the
 * run ends), as a parameter of type {@code ConsulAgent}:
 *
 * <pre>{@code
 * @ExtendWith(ConsulAgentExtension.class)
 * class MyTest {
 *     @Test void works(ConsulAgent consul) { ... consul.url() ... }
 * }
 * }</pre>
 *
 * Tests that stop, kill or restart the agent start their own with {@link ConsulAgent#start()} instead.
 */
public final class ConsulAgentExtension implements ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(ConsulAgentExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext c) {
        return p.getParameter().getType() == ConsulAgent.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext c) {
        return shared(c);
    }

    /** The run's shared agent; the root store closes it (stopping the agent) when the run ends. */
    public static ConsulAgent shared(ExtensionContext c) {
        return c.getRoot().getStore(NS).computeIfAbsent("agent", k -> ConsulAgent.start(), ConsulAgent.class);
    }
}
