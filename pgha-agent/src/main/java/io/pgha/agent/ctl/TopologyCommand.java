package io.pgha.agent.ctl;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code pghactl topology [CLUSTER ...]}: the members table as a replication tree, the leader first
 * and each replica under its upstream ({@code replicatefrom}), as patronictl prints it.
 */
@Command(name = "topology", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Show the members as a replication tree.")
final class TopologyCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(arity = "0..*", paramLabel = "CLUSTER", description = "clusters to show (default: the configuration's scope)")
    List<String> clusters = new ArrayList<>();
    @Option(names = "-W", description = "refresh every 2 seconds until interrupted")
    boolean watchForever;
    @Option(names = {"-w", "--watch"}, paramLabel = "SECONDS", description = "refresh every SECONDS until interrupted")
    Double watchInterval;
    @Option(names = "--count", hidden = true, defaultValue = "0", description = "stop after this many refreshes (tests)")
    int count;

    @Override
    public Integer call() throws InterruptedException {
        return ListCommand.show(ctl, clusters, Output.Format.TOPOLOGY, false, false, watchForever, watchInterval, count);
    }
}
