/**
 * Patroni's health checks ({@code /primary}, {@code /replica?lag=}, {@code /health}, ...) as a
 * function an application mounts in its own web server, for HAProxy and other load balancers.
 * {@link io.pgha.health.HealthCheck#evaluate} decides exactly as pgha's built-in REST API does.
 */
package io.pgha.health;
