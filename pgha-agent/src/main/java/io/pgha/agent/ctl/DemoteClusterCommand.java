package io.pgha.agent.ctl;

import io.pgha.PghaException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;

/**
 * {@code pghactl demote-cluster}: patronictl's command, refused. pgha does not turn a running
 * cluster into a standby cluster (its primary would have to become a standby leader of another
 * cluster's primary); it says so instead of writing a {@code standby_cluster} that its nodes would
 * refuse to act on. Build a standby cluster from scratch with {@code bootstrap.dcs.standby_cluster}.
 */
@Command(name = "demote-cluster", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Not supported by pgha: turning a running cluster into a standby cluster.")
final class DemoteClusterCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(arity = "0..1", paramLabel = "CLUSTER")
    String cluster;
    @Option(names = "--force")
    boolean force;
    @Option(names = "--host")
    String host;
    @Option(names = "--port")
    Integer port;
    @Option(names = "--restore-command")
    String restoreCommand;
    @Option(names = "--primary-slot-name")
    String primarySlotName;

    @Override
    public Integer call() {
        ctl.close();
        throw new PghaException("demote-cluster is not supported by pgha: a running cluster cannot be turned into a standby cluster"
                + " (its nodes would keep the primary and warn); create a standby cluster with bootstrap.dcs.standby_cluster instead");
    }
}
