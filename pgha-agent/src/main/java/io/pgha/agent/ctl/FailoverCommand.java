package io.pgha.agent.ctl;

import picocli.CommandLine.Command;

/** {@code pghactl failover [CLUSTER] --candidate C [--force]}. */
@Command(name = "failover", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Fail over to a named member (also when there is no leader).")
final class FailoverCommand extends LeaderChangeCommand {
    @Override
    boolean isFailover() {
        return true;
    }
}
