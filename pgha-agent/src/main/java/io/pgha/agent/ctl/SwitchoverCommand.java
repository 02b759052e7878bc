package io.pgha.agent.ctl;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code pghactl switchover [CLUSTER] [--leader L] [--candidate C] [--scheduled T] [--force]}. */
@Command(name = "switchover", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Switch the leader over to another member, gracefully.")
final class SwitchoverCommand extends LeaderChangeCommand {
    @Option(names = {"--leader", "--primary", "--master"}, description = "the current leader (default: as the store says)")
    String leader;
    @Option(names = "--scheduled", description = "when (ISO-8601 with an offset), or 'now'")
    String when;

    @Override
    boolean isFailover() {
        return false;
    }

    @Override
    String leaderOption() {
        return leader;
    }

    @Override
    String scheduled() {
        return when;
    }
}
