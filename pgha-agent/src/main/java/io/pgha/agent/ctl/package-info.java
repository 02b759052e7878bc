/**
 * {@code pghactl} ({@link io.pgha.agent.ctl.Ctl}), patronictl for pgha clusters: it reads the cluster
 * from the store as a {@link io.pgha.ClusterView} and acts through the members' REST APIs.
 */
package io.pgha.agent.ctl;
