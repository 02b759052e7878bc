/**
 * The reader of Patroni's YAML configuration ({@link io.pgha.agent.config.AgentConfig}), with the
 * {@code PATRONI_*} environment overrides: typed sections, unsupported keys listed by name, and one
 * {@link io.pgha.ConfigurationException} naming the key, and {@code file:line:column} where it was set, for a
 * bad value, a YAML syntax error or a key Patroni does not know in {@code restapi}, {@code ctl},
 * {@code postgresql.authentication} or the store sections. {@code pghactl} reads the same file with
 * {@link io.pgha.agent.config.AgentConfig#readForCtl}, which needs only a store section
 * ({@link io.pgha.agent.config.AgentConfig.CtlConfig}).
 */
package io.pgha.agent.config;
