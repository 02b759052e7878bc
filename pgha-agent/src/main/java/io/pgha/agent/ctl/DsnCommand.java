package io.pgha.agent.ctl;

import io.pgha.ClusterView.Member;
import io.pgha.PghaException;
import io.pgha.spi.DcsSession;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code pghactl dsn [CLUSTER] [-r ROLE | -m MEMBER]}: {@code host=... port=...} of the leader, or of a member. */
@Command(name = "dsn", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Print a libpq DSN (host=... port=...) of the leader, or of a member.")
final class DsnCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(arity = "0..1", paramLabel = "CLUSTER")
    String cluster;
    @Option(names = {"-r", "--role"}, paramLabel = "ROLE",
            description = "any member with this role: leader, primary, standby-leader, replica, standby, any")
    String role;
    @Option(names = {"-m", "--member"}, paramLabel = "MEMBER", description = "this member")
    String member;

    @Override
    public Integer call() {
        DcsSession s = ctl.session(cluster);
        try {
            Member m = anyMember(ctl.read(s, cluster), role == null ? null : MemberRole.parse(role), member)
                    .orElseThrow(() -> new PghaException("Can not find a suitable member"));
            ctl.out().println(dsn(m));
            return 0;
        } finally {
            s.close();
            ctl.close();
        }
    }

    /** {@code host=H port=P} of the member's {@code conn_url} (port 5432 when it names none). */
    static String dsn(Member m) {
        MemberTable.HostPort hp = MemberTable.hostAndPort(m.connUrl())
                .orElseThrow(() -> new PghaException("member " + m.name() + " publishes no PostgreSQL address (conn_url)"));
        return "host=" + hp.host() + " port=" + hp.port();
    }

    /**
     * patronictl's {@code get_any_member}: the first member with {@code role}, or the member named
     * {@code name}; the leader when neither is given.
     */
    static java.util.Optional<Member> anyMember(ClusterState c, MemberRole role, String name) {
        MemberRole r = role;
        if (name != null) {
            if (role != null) {
                throw new PghaException("--role and --member are mutually exclusive options");
            }
            r = MemberRole.ANY;
        } else if (role == null) {
            r = MemberRole.LEADER;
        }
        return r.members(c).stream().filter(m -> name == null || m.name().equals(name)).findFirst();
    }
}
