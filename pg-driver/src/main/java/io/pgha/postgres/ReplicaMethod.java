package io.pgha.postgres;

import io.pgha.ConfigurationException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One way to create a replica's data (Patroni's {@code create_replica_methods} entry): the built-in
 * {@code basebackup} (pg_basebackup, with options such as {@code max-rate} or {@code checkpoint}), or
 * a command of the operator's (pgBackRest, WAL-G, a copy of a backup) called as Patroni calls it:
 * {@code <command> --scope=<scope> --datadir=<data dir> --role=replica --connstring=<source>
 * [--<option>=<value> ...]}, with the replication user's password in {@code PGPASSFILE}.
 *
 * @param name     the method's name ({@code basebackup} is the built-in one)
 * @param command  the command and its own arguments; empty for {@code basebackup}
 * @param options  {@code --key=value} arguments ({@code basebackup}: pg_basebackup's long options;
 *                 an empty value gives {@code --key} alone)
 * @param keepData do not empty the data directory before the command runs (Patroni's {@code keep_data})
 * @param noParams call the command without pgha's arguments (Patroni's {@code no_params})
 * @param noLeader the command needs no running member (a restore from a backup store): it may create
 *                 a replica while the cluster has no leader, called with an empty {@code --connstring=}
 *                 (Patroni's {@code no_leader})
 */
public record ReplicaMethod(String name, List<String> command, Map<String, String> options, boolean keepData, boolean noParams,
                            boolean noLeader) {
    public ReplicaMethod {
        Objects.requireNonNull(name, "name");
        command = List.copyOf(command);
        options = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(options));
        if (!name.equals("basebackup") && command.isEmpty()) {
            throw new ConfigurationException("postgresql." + name + ".command", "is required for the replica method '" + name + "'");
        }
        if (name.equals("basebackup") && noLeader) {
            throw new ConfigurationException("postgresql.basebackup.no_leader", "pg_basebackup copies a running member: it cannot work without one");
        }
        if (name.equals("basebackup") && !command.isEmpty()) {
            throw new ConfigurationException("postgresql.basebackup", "is pg_basebackup itself and takes no command");
        }
        for (String k : options.keySet()) {
            if (!k.matches("[A-Za-z0-9][A-Za-z0-9_-]*")) {
                throw new ConfigurationException("postgresql." + name + "." + k, "is not an option name");
            }
        }
    }

    /** A method that needs a running member to copy from. */
    public ReplicaMethod(String name, List<String> command, Map<String, String> options, boolean keepData, boolean noParams) {
        this(name, command, options, keepData, noParams, false);
    }

    /** pg_basebackup with these long options (e.g. {@code max-rate=100M}). */
    public static ReplicaMethod basebackup(Map<String, String> options) {
        return new ReplicaMethod("basebackup", List.of(), options, false, false, false);
    }

    /** pg_basebackup as pgha runs it by default. */
    public static ReplicaMethod basebackup() {
        return basebackup(Map.of());
    }

    /** Whether this is the built-in pg_basebackup. */
    public boolean isBasebackup() {
        return command.isEmpty();
    }

    /** The option's value, if set. */
    Optional<String> option(String key) {
        return Optional.ofNullable(options.get(key));
    }
}
