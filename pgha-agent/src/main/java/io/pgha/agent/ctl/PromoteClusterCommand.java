package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ClusterView;
import io.pgha.ClusterView.Member;
import io.pgha.PghaException;
import io.pgha.spi.DcsSession;
import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;

/**
 * {@code pghactl promote-cluster [CLUSTER] [--force]}: patronictl's command. Removes
 * {@code standby_cluster} from the dynamic configuration through the leader's {@code PATCH /config},
 * so the standby leader is promoted and the standby cluster becomes a normal cluster, and waits
 * until the leader entry says {@code primary} and {@code running}.
 */
@Command(name = "promote-cluster", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Promote a standby cluster to a normal cluster (removes standby_cluster from the dynamic configuration).")
final class PromoteClusterCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(arity = "0..1", paramLabel = "CLUSTER")
    String cluster;
    @Option(names = "--force", description = "do not ask for confirmation")
    boolean force;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = ctl.out();
        DcsSession s = ctl.session(cluster);
        try {
            ClusterState state = ctl.read(s, cluster);
            ClusterView c = state.view();
            Member leader = c.leaderMember().orElseThrow(() -> new PghaException("Cluster has no leader, promotion is not possible"));
            if (leader.role().equals("primary")) {
                throw new PghaException("Cluster is already in the required state");
            }
            if (!ctl.prompt().confirm("Are you sure you want to promote " + state.scope() + " cluster?", force)) {
                throw new PghaException("Aborted cluster promotion");
            }
            ObjectNode patch = Ctl.JSON.createObjectNode();
            patch.putNull("standby_cluster");
            DynamicConfigEditing.patch(ctl, s, c, patch);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline) {
                Optional<Member> now = ctl.read(s, cluster).view().leaderMember();
                if (now.map(m -> m.role().equals("primary") && m.state().equals("running")).orElse(false)) {
                    out.println("cluster is successfully promoted");
                    return 0;
                }
                out.println("cluster is unlocked: " + now.isEmpty() + ", leader role: " + now.map(Member::role).orElse("None")
                        + ", leader state: " + now.map(Member::state).orElse("None"));
                Thread.sleep(1000);
            }
            out.println("the leader did not become a running primary within 120 s");
            return 1;
        } finally {
            s.close();
            ctl.close();
        }
    }
}
