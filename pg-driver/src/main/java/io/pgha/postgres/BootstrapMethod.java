package io.pgha.postgres;

import io.pgha.ConfigurationException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * A new cluster made by a command of the operator's instead of initdb (Patroni's
 * {@code bootstrap.method}), for example a restore from a backup. The command is called as Patroni
 * calls it, {@code <command> --scope=<scope> --datadir=<data dir>} (without the arguments when
 * {@code noParams}), and must leave a data directory behind; pgha then starts it as the primary
 * and creates or updates the replication and rewind roles. The restored superuser's password must
 * be the configured one, since pgha logs in with it.
 *
 * <p>A point-in-time restore, as in Patroni: with {@code recoveryConf} ({@code restore_command},
 * {@code recovery_target_time}, {@code recovery_target_action}, ...) pgha starts the restored copy in
 * targeted recovery with those settings and waits for the recovery to end before it calls the new
 * cluster's primary (a recovery paused at its target is promoted); with
 * {@code keepExistingRecoveryConf} the signal files and settings the command itself left (pgBackRest
 * writes them to {@code postgresql.auto.conf}) are kept and waited for the same way. With both,
 * {@code recoveryConf} decides, as in Patroni. Otherwise the signal files are removed and the copy
 * starts as a primary at once.
 *
 * @param name                     the method's name (its section in {@code bootstrap})
 * @param command                  the command and its own arguments
 * @param noParams                 call it without pgha's arguments
 * @param recoveryConf             recovery settings for the restored copy's first start (Patroni's {@code recovery_conf})
 * @param keepExistingRecoveryConf keep what the command left for recovery (Patroni's {@code keep_existing_recovery_conf})
 */
public record BootstrapMethod(String name, List<String> command, boolean noParams, Map<String, String> recoveryConf,
                              boolean keepExistingRecoveryConf) {
    /** Settings pgha keeps to itself even in a restore's recovery. */
    private static final Set<String> OWNED = Set.of("primary_conninfo", "primary_slot_name");

    public BootstrapMethod {
        Objects.requireNonNull(name, "name");
        command = List.copyOf(command);
        recoveryConf = Collections.unmodifiableMap(new TreeMap<>(recoveryConf));
        if (command.isEmpty()) {
            throw new ConfigurationException("bootstrap." + name + ".command", "is required for the bootstrap method '" + name + "'");
        }
        for (Map.Entry<String, String> e : recoveryConf.entrySet()) {
            String key = "bootstrap." + name + ".recovery_conf." + e.getKey();
            if (OWNED.contains(e.getKey())) {
                throw new ConfigurationException(key, "pgha sets it itself; a restore recovers from the archive");
            }
            if (!e.getKey().matches("[a-z_][a-z0-9_]*")) {
                throw new ConfigurationException(key, "not a setting name");
            }
            if (e.getValue().indexOf('\n') >= 0 || e.getValue().indexOf('\r') >= 0) {
                throw new ConfigurationException(key, "a value cannot contain a line break");
            }
        }
    }

    /** A method whose copy starts as a primary at once (no recovery settings of its own). */
    public BootstrapMethod(String name, List<String> command, boolean noParams) {
        this(name, command, noParams, Map.of(), false);
    }

    /** Whether the restored copy first recovers (to a target) before it becomes the primary. */
    boolean recovers() {
        return !recoveryConf.isEmpty() || keepExistingRecoveryConf;
    }
}
