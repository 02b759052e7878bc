package io.pgha.postgres;

import io.pgha.ConfigurationException;
import java.util.List;
import java.util.Objects;

/**
 * A new cluster made by a command of the operator's instead of initdb (Patroni's
 * {@code bootstrap.method}), for example a restore from a backup. The command is called as Patroni
 * calls it, {@code <command> --scope=<scope> --datadir=<data dir>} (without the arguments when
 * {@code noParams}), and must leave a data directory behind; pgha then starts it as the primary
 * and creates or updates the replication and rewind roles. The restored superuser's password must
 * be the configured one, since pgha logs in with it.
 *
 * @param name     the method's name (its section in {@code bootstrap})
 * @param command  the command and its own arguments
 * @param noParams call it without pgha's arguments
 */
public record BootstrapMethod(String name, List<String> command, boolean noParams) {
    public BootstrapMethod {
        Objects.requireNonNull(name, "name");
        command = List.copyOf(command);
        if (command.isEmpty()) {
            throw new ConfigurationException("bootstrap." + name + ".command", "is required for the bootstrap method '" + name + "'");
        }
    }
}
