package io.pgha;

import java.util.Objects;

/**
 * A setting was rejected. The message names the setting and the rule it broke, for example
 * {@code "ttl: loop_wait (10s) + 2 * retry_timeout (10s) must not exceed ttl (20s)"}.
 */
public class ConfigurationException extends PghaException {
    private final String setting;

    public ConfigurationException(String setting, String rule) {
        super(Objects.requireNonNull(setting, "setting") + ": " + rule);
        this.setting = setting;
    }

    /** The name of the offending setting, in Patroni's spelling where one exists. */
    public String setting() {
        return setting;
    }
}
