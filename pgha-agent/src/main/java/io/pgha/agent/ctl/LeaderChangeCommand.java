package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ClusterView;
import io.pgha.ClusterView.Member;
import io.pgha.PghaException;
import io.pgha.agent.ctl.Output.Format;
import io.pgha.spi.DcsSession;
import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * What switchover and failover share: the request to the leader's REST API ({@code POST /switchover}
 * or {@code /failover}), with the members table before and after.
 */
abstract class LeaderChangeCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(arity = "0..1", paramLabel = "CLUSTER")
    String cluster;
    @Option(names = "--candidate", description = "the member to promote")
    String candidate;
    @Option(names = "--force", description = "do not ask for confirmation")
    boolean force;

    abstract boolean isFailover();

    String leaderOption() {
        return null;
    }

    String scheduled() {
        return null;
    }

    @Override
    public Integer call() {
        PrintWriter out = ctl.out();
        DcsSession s = ctl.session(cluster);
        try {
            ClusterState state = ctl.read(s, cluster);
            ClusterView c = state.view();
            Optional<String> leader = c.leader();
            String from = leaderOption() != null ? leaderOption() : isFailover() ? null : leader.orElse(null);
            if (!isFailover() && from == null) {
                throw new PghaException("the cluster has no leader; use failover");
            }
            if (isFailover() && candidate == null) {
                throw new PghaException("failover needs --candidate");
            }
            if (candidate != null && c.member(candidate).isEmpty()) {
                throw new PghaException("'" + candidate + "' is not a member of cluster '" + ctl.scope(cluster) + "'");
            }
            ObjectNode body = Ctl.JSON.createObjectNode();
            if (from != null) {
                body.put("leader", from);
            }
            if (candidate != null) {
                body.put("candidate", candidate);
            }
            if (scheduled() != null && !scheduled().equals("now")) {
                try {
                    body.put("scheduled_at", OffsetDateTime.parse(scheduled()).toString());
                } catch (DateTimeParseException e) {
                    throw new PghaException("--scheduled must be an ISO-8601 time with an offset, e.g. 2026-11-26T13:00+00:00");
                }
            }
            out.print(MemberTable.render(state, false, Format.PRETTY));
            String what = isFailover() ? "failover" : "switchover";
            if (!ctl.prompt().confirm("Are you sure you want to " + what + " cluster " + ctl.scope(cluster)
                    + (from != null ? ", demoting current leader " + from : "") + "?", force)) {
                out.println("Aborted");
                return 1;
            }
            Member target = leader.flatMap(c::member).filter(m -> m.apiUrl().isPresent())
                    .or(() -> Optional.ofNullable(candidate).flatMap(c::member))
                    .orElseThrow(() -> new PghaException("no member with a REST API to ask"));
            HttpResponse<String> r = ctl.rest(target, "POST", "/" + what, body.toString());
            out.println(OffsetDateTime.now().withNano(0) + " " + r.body());
            if (r.statusCode() >= 300) {
                return 1;
            }
            out.print(MemberTable.render(ctl.read(s, cluster), false, Format.PRETTY));
            return 0;
        } finally {
            s.close();
            ctl.close();
        }
    }
}
