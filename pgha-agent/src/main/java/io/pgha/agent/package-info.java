/**
 * The standalone agent, {@code pgha <patroni.yml>} ({@link io.pgha.agent.Agent}): one member of a
 * cluster as a daemon, built from a Patroni-format configuration onto ha-core's public API, one of
 * the three stores ({@link io.pgha.agent.Stores}) and pg-driver.
 */
package io.pgha.agent;
