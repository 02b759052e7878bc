package io.pgha.agent.ctl;

import io.pgha.ClusterView.Member;
import io.pgha.PghaException;
import io.pgha.spi.DcsSession;
import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code pghactl reload CLUSTER [MEMBER ...] [-r ROLE]}: {@code POST /reload} on each chosen member. */
@Command(name = "reload", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Make members read their configuration again.")
final class ReloadCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(index = "0", paramLabel = "CLUSTER")
    String cluster;
    @Parameters(index = "1..*", paramLabel = "MEMBER", description = "members (default: all with the role)")
    List<String> members = new ArrayList<>();
    @Option(names = {"-r", "--role"}, paramLabel = "ROLE", defaultValue = "any",
            description = "reload only members with this role: leader, primary, standby-leader, replica, standby, any")
    String role;
    @Option(names = "--force", description = "do not ask for confirmation")
    boolean force;

    @Override
    public Integer call() {
        PrintWriter out = ctl.out();
        MemberRole r = MemberRole.parse(role);
        DcsSession s = ctl.session(cluster);
        try {
            ClusterState c = ctl.read(s, cluster);
            int rc = 0;
            for (Member m : MemberSelection.choose(ctl, c, members, r, force, "reload", true)) {
                try {
                    HttpResponse<String> resp = ctl.rest(m, "POST", "/reload", null);
                    if (resp.statusCode() == 200) {
                        out.println("No changes to apply on member " + m.name());
                    } else if (resp.statusCode() == 202) {
                        out.println("Reload request received for member " + m.name() + " and will be processed within "
                                + c.dynamicConfig().path("loop_wait").asText("10") + " seconds");
                    } else {
                        out.println("Failed: reload for member " + m.name() + ", status code=" + resp.statusCode()
                                + ", (" + resp.body() + ")");
                        rc = 1;
                    }
                } catch (PghaException e) {
                    out.println("Failed: reload for member " + m.name() + ", (" + e.getMessage() + ")");
                    rc = 1;
                }
            }
            return rc;
        } finally {
            s.close();
            ctl.close();
        }
    }
}
