package io.pgha.spring;

import io.pgha.HaNode;

/**
 * Adjusts the auto-configured node's builder before it is built: anything {@code pgha.*} does not
 * cover (tags, a watchdog, synchronous mode, {@code withoutExternalFence()}, TLS for the REST API).
 * Every bean of this type is applied, in {@link org.springframework.core.annotation.Order} order.
 */
@FunctionalInterface
public interface HaNodeCustomizer {
    void customize(HaNode.Builder builder);
}
