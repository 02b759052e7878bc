package io.pgha.agent.ctl;

import picocli.CommandLine.Command;

/** {@code pghactl resume [CLUSTER] [--wait]}: maintenance mode off. */
@Command(name = "resume", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Resume automatic failover.")
final class ResumeCommand extends MaintenanceModeCommand {
    @Override
    boolean pause() {
        return false;
    }
}
