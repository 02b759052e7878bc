package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgha.ClusterView.Member;
import io.pgha.spi.DcsSession;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code pghactl version [CLUSTER [MEMBER ...]]}: pghactl's version, then each member's as its
 * {@code GET /patroni} reports it ({@code patroni.version}, {@code server_version}):
 * {@code n1: pgha 0.1.0 PostgreSQL 15.4} (a Patroni member: {@code Patroni 4.0.4}).
 */
@Command(name = "version", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Show the version of pghactl, and of the members of a cluster.")
final class VersionCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(index = "0", arity = "0..1", paramLabel = "CLUSTER")
    String cluster;
    @Parameters(index = "1..*", paramLabel = "MEMBER", description = "members (default: all)")
    List<String> members = new ArrayList<>();

    @Override
    public Integer call() {
        PrintWriter out = ctl.out();
        out.println("pghactl version " + Ctl.VERSION);
        if (cluster == null) {
            return 0;
        }
        out.println();
        DcsSession s = ctl.session(cluster);
        try {
            int rc = 0;
            for (Member m : MemberRole.ANY.members(ctl.read(s, cluster))) {
                if (m.apiUrl().isEmpty() || !members.isEmpty() && !members.contains(m.name())) {
                    continue;
                }
                try {
                    out.println(m.name() + ": " + describe(Ctl.JSON.readTree(ctl.rest(m, "GET", "/patroni", null).body())));
                } catch (Exception e) {
                    out.println(m.name() + ": failed to get version: " + e.getMessage());
                    rc = 1;
                }
            }
            return rc;
        } finally {
            s.close();
            ctl.close();
        }
    }

    /** {@code pgha 0.1.0 PostgreSQL 15.4} from a {@code GET /patroni} document. */
    static String describe(JsonNode status) {
        // write_fence is pgha's own field: a member without it is Patroni
        String agent = status.has("write_fence") ? "pgha" : "Patroni";
        JsonNode version = status.path("patroni").get("version");
        int pg = status.path("server_version").asInt(0);
        return agent + " " + (version == null || version.isNull() ? "None" : version.asText())
                + (pg > 0 ? " PostgreSQL " + formatPgVersion(pg) : "");
    }

    /** 90624 → 9.6.24, 150004 → 15.4 (patronictl's {@code format_pg_version}). */
    static String formatPgVersion(int v) {
        return v < 100000 ? v / 10000 + "." + v / 100 % 100 + "." + v % 100 : v / 10000 + "." + v % 100;
    }
}
