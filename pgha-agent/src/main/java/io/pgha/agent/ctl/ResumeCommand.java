package io.pgha.agent.ctl;

import picocli.CommandLine.Command;

/** {@code pghactl resume [CLUSTER] [--wait]}: maintenance mode off. */
@Command(name = "resume", mixinStandardHelpOptions = true, version = "pghactl " + Ctl.VERSION,
        description = "Resume automatic failover.")
final class ResumeCommand extends MaintenanceModeCommand {
    @Override
    boolean pause() {
        return false;
    }
}
