package io.pgha.spring;

import io.pgha.ConfigurationException;
import java.util.Map;

/**
 * Renames a builder's {@link ConfigurationException} from Patroni's key ({@code loop_wait},
 * {@code postgresql.listen}) to the Spring property the user wrote ({@code pgha.loop-wait},
 * {@code pgha.postgresql.listen-addresses}), keeping the rule and the original as the cause.
 */
final class PropertyNames {
    private static final Map<String, String> PROPERTIES = Map.ofEntries(
            Map.entry("name", "pgha.name"),
            Map.entry("scope", "pgha.scope"),
            Map.entry("ttl", "pgha.ttl"),
            Map.entry("loop_wait", "pgha.loop-wait"),
            Map.entry("retry_timeout", "pgha.retry-timeout"),
            Map.entry("maximum_lag_on_failover", "pgha.maximum-lag-on-failover"),
            Map.entry("postgresql.data_dir", "pgha.postgresql.data-dir"),
            Map.entry("postgresql.bin_dir", "pgha.postgresql.bin-dir"),
            Map.entry("postgresql.listen", "pgha.postgresql.listen-addresses"),
            Map.entry("postgresql.connect_address", "pgha.postgresql.connect-host"),
            Map.entry("postgresql.port", "pgha.postgresql.port"),
            Map.entry("postgresql.authentication.superuser", "pgha.postgresql.superuser"),
            Map.entry("postgresql.authentication.replication", "pgha.postgresql.replication"),
            Map.entry("postgresql.pg_hba", "pgha.postgresql.hba"),
            Map.entry("postgresql.parameters", "pgha.postgresql.parameters"),
            Map.entry("restapi.listen", "pgha.restapi.listen"));

    private PropertyNames() {
    }

    static ConfigurationException renamed(ConfigurationException e) {
        String property = PROPERTIES.get(e.setting());
        if (property == null) {
            return e;
        }
        String rule = e.getMessage().startsWith(e.setting() + ": ") ? e.getMessage().substring(e.setting().length() + 2) : e.getMessage();
        ConfigurationException renamed = new ConfigurationException(property, rule + " (" + e.setting() + ")");
        renamed.initCause(e);
        return renamed;
    }
}
