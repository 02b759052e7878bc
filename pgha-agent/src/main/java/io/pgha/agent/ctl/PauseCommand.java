package io.pgha.agent.ctl;

import picocli.CommandLine.Command;

/** {@code pghactl pause [CLUSTER] [--wait]}: maintenance mode on. */
@Command(name = "pause", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Disable automatic failover (maintenance mode).")
final class PauseCommand extends MaintenanceModeCommand {
    @Override
    boolean pause() {
        return true;
    }
}
