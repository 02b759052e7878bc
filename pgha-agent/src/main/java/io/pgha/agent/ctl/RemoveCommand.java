package io.pgha.agent.ctl;

import io.pgha.PghaException;
import io.pgha.spi.DcsSession;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code pghactl remove CLUSTER}: deletes every key of the cluster from the store
 * ({@link DcsSession#deleteCluster()}) after patronictl's three questions: the cluster's name, then
 * {@code Yes I am aware}, then, when the cluster has a leader, the leader's name.
 */
@Command(name = "remove", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Remove the cluster's keys from the store (after three confirmations).")
final class RemoveCommand implements Callable<Integer> {
    static final String AWARE = "Yes I am aware";

    @ParentCommand
    Ctl ctl;
    @Parameters(index = "0", paramLabel = "CLUSTER")
    String cluster;
    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT", defaultValue = "pretty",
            description = "of the members table: pretty, tsv, json or yaml")
    String format;

    @Override
    public Integer call() {
        Output.Format fmt = Output.Format.parse(format);
        DcsSession s = ctl.session(cluster);
        try {
            ClusterState c = ctl.read(s, cluster);
            ctl.out().print(MemberTable.render(c, false, fmt));
            Prompt p = ctl.prompt();
            if (!p.ask("Please confirm the cluster name to remove").equals(cluster)) {
                throw new PghaException("Cluster names specified do not match");
            }
            if (!p.ask("You are about to remove all information in DCS for " + cluster + ", please type: \"" + AWARE + "\"")
                    .equals(AWARE)) {
                throw new PghaException("You did not exactly type \"" + AWARE + "\"");
            }
            Optional<String> leader = c.view().leader();
            if (leader.isPresent()
                    && !p.ask("This cluster currently is healthy. Please specify the leader name to continue").equals(leader.get())) {
                throw new PghaException("You did not specify the current leader of the cluster");
            }
            try {
                s.deleteCluster().toCompletableFuture().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new PghaException("cannot remove the cluster's keys: " + Ctl.cause(e));
            }
            return 0;
        } finally {
            s.close();
            ctl.close();
        }
    }
}
