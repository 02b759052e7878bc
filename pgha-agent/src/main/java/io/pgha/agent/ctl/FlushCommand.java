package io.pgha.agent.ctl;

import io.pgha.ClusterView;
import io.pgha.ClusterView.Member;
import io.pgha.PghaException;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code pghactl flush CLUSTER [MEMBER ...] restart|switchover}: discards scheduled events.
 * {@code restart}: {@code DELETE /restart} on each chosen member that has a scheduled restart.
 * {@code switchover}: {@code DELETE /switchover} on the leader (then the other members); when no
 * member answers, the {@code failover} key is removed from the store.
 */
@Command(name = "flush", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Discard scheduled events: restart or switchover.")
final class FlushCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(index = "0", paramLabel = "CLUSTER")
    String cluster;
    @Parameters(index = "1..*", arity = "1..*", paramLabel = "[MEMBER ...] restart|switchover",
            description = "members (restart only; default: all with the role), then what to discard")
    List<String> rest = new ArrayList<>();
    @Option(names = {"-r", "--role"}, paramLabel = "ROLE", defaultValue = "any",
            description = "flush only members with this role (restart only): leader, primary, standby-leader, replica, standby, any")
    String role;
    @Option(names = "--force", description = "do not ask for confirmation")
    boolean force;

    @Override
    public Integer call() {
        String target = rest.get(rest.size() - 1);
        List<String> members = rest.subList(0, rest.size() - 1);
        if (!target.equals("restart") && !target.equals("switchover")) {
            throw new PghaException("Invalid value for TARGET: '" + target + "' is not one of 'restart', 'switchover'");
        }
        MemberRole r = MemberRole.parse(role);
        DcsSession s = ctl.session(cluster);
        try {
            ClusterState c = ctl.read(s, cluster);
            return target.equals("restart") ? flushRestarts(c, members, r) : flushSwitchover(s, c);
        } finally {
            s.close();
            ctl.close();
        }
    }

    private int flushRestarts(ClusterState c, List<String> members, MemberRole r) {
        PrintWriter out = ctl.out();
        int rc = 0;
        for (Member m : MemberSelection.choose(ctl, c, members, r, force, "flush", true)) {
            if (!c.hasScheduledRestart(m.name())) {
                out.println("No scheduled restart for member " + m.name());
                continue;
            }
            try {
                HttpResponse<String> resp = ctl.rest(m, "DELETE", "/restart", null);
                if (resp.statusCode() >= 400) {
                    out.println("Failed: flush scheduled restart for member " + m.name() + ", status code=" + resp.statusCode()
                            + ", (" + resp.body() + ")");
                    rc = 1;
                } else {
                    out.println("Success: flush scheduled restart for member " + m.name());
                }
            } catch (PghaException e) {
                out.println("Failed: flush scheduled restart for member " + m.name() + ", (" + e.getMessage() + ")");
                rc = 1;
            }
        }
        return rc;
    }

    private int flushSwitchover(DcsSession s, ClusterState c) {
        PrintWriter out = ctl.out();
        ClusterView v = c.view();
        if (v.failover().flatMap(ClusterView.Failover::scheduledAt).isEmpty()) {
            out.println("No pending scheduled switchover");
            return 0;
        }
        for (Member m : leaderFirst(v)) {
            try {
                HttpResponse<String> resp = ctl.rest(m, "DELETE", "/switchover", null);
                if (resp.statusCode() == 200 || resp.statusCode() == 404) {
                    out.println((resp.statusCode() == 200 ? "Success: " : "Failed: ") + resp.body());
                    return resp.statusCode() == 200 ? 0 : 1;
                }
                out.println("Failed: member=" + m.name() + ", status_code=" + resp.statusCode() + ", (" + resp.body() + ")");
            } catch (PghaException e) {
                ctl.spec.commandLine().getErr().println("pghactl: " + e.getMessage() + "; member " + m.name() + " is not accessible");
            }
        }
        out.println(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSS"))
                + " Could not find any accessible member of cluster " + c.scope());
        Optional<DcsEntry> key = c.snapshot().get(ClusterKey.FAILOVER);
        if (key.isEmpty()) {
            return 0;
        }
        boolean deleted;
        try {
            deleted = s.compareAndDelete(ClusterKey.FAILOVER, key.get().version()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new PghaException("cannot remove the failover key: " + Ctl.cause(e));
        }
        if (!deleted) {
            throw new PghaException("the failover key changed meanwhile; look again with list");
        }
        return 0;
    }

    /** Members with a REST API, the leader first ({@code get_all_members_leader_first}). */
    private static List<Member> leaderFirst(ClusterView v) {
        List<Member> out = new ArrayList<>();
        v.leaderMember().filter(m -> m.apiUrl().isPresent()).ifPresent(out::add);
        v.members().values().stream().filter(m -> m.apiUrl().isPresent() && !v.isLeader(m.name())).forEach(out::add);
        return out;
    }
}
