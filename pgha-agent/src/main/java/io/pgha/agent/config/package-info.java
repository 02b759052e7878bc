/**
 * The reader of Patroni's YAML configuration ({@link io.pgha.agent.config.AgentConfig}), with the
 * {@code PATRONI_*} environment overrides: typed sections, unsupported keys listed by name, and one
 * {@link io.pgha.ConfigurationException} naming the key for a bad value.
 */
package io.pgha.agent.config;
