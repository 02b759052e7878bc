package io.pgha.spi;

import java.util.Objects;

/**
 * A server setting whose new value takes effect only at the next restart (PostgreSQL's
 * {@code pg_settings.pending_restart}; Patroni's {@code pending_restart_reason}).
 *
 * @param name         the setting, e.g. {@code max_connections}
 * @param currentValue the value the running server uses
 * @param newValue     the value its configuration files now give (empty when unknown)
 */
public record PendingSetting(String name, String currentValue, String newValue) {
    public PendingSetting {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(currentValue, "currentValue");
        Objects.requireNonNull(newValue, "newValue");
    }
}
