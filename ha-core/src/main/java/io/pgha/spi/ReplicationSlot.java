package io.pgha.spi;

import java.util.Objects;
import java.util.Optional;

/**
 * A replication slot as a server has it ({@code pg_replication_slots}).
 *
 * @param name     the slot's name
 * @param type     {@code physical} or {@code logical}
 * @param database a logical slot's database
 * @param plugin   a logical slot's output plugin
 * @param position {@code restart_lsn} of a physical slot, {@code confirmed_flush_lsn} of a logical one;
 *                 {@link Lsn#ZERO} when it has none yet
 * @param active   a walsender (or decoding session) uses it now
 */
public record ReplicationSlot(String name, String type, Optional<String> database, Optional<String> plugin, Lsn position,
                              boolean active) {
    public ReplicationSlot {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(plugin, "plugin");
        Objects.requireNonNull(position, "position");
    }

    /** A physical slot. */
    public static ReplicationSlot physical(String name, Lsn position, boolean active) {
        return new ReplicationSlot(name, "physical", Optional.empty(), Optional.empty(), position, active);
    }

    public boolean isPhysical() {
        return type.equals("physical");
    }
}
