package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ClusterView.Member;
import io.pgha.PghaException;
import io.pgha.spi.DcsSession;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code pghactl restart CLUSTER [MEMBER ...]}: {@code POST /restart} on each chosen member, with
 * Patroni's body ({@code schedule}, {@code role}, {@code postgres_version}, {@code timeout},
 * {@code restart_pending}) and patronictl's questions and answers: 200 restarted, 202 scheduled, 409
 * another restart is scheduled, anything else failed.
 */
@Command(name = "restart", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Restart PostgreSQL on members, now or at a scheduled time.")
final class RestartCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(index = "0", paramLabel = "CLUSTER")
    String cluster;
    @Parameters(index = "1..*", paramLabel = "MEMBER", description = "members (default: all with the role)")
    List<String> members = new ArrayList<>();
    @Option(names = {"-r", "--role"}, paramLabel = "ROLE", defaultValue = "any",
            description = "restart only members with this role: leader, primary, standby-leader, replica, standby, any")
    String role;
    @Option(names = "--any", description = "restart one member only, chosen at random")
    boolean any;
    @Option(names = "--scheduled", paramLabel = "TIME", description = "when: an ISO-8601 time (the local zone when it names none), or now")
    String scheduled;
    @Option(names = "--pg-version", paramLabel = "VERSION", description = "restart only if PostgreSQL is older than VERSION (e.g. 15.2)")
    String pgVersion;
    @Option(names = "--pending", description = "restart only members whose settings wait for a restart")
    boolean pending;
    @Option(names = "--timeout", paramLabel = "SECONDS", description = "fail (and fail over if need be) when the restart takes longer")
    String timeout;
    @Option(names = "--force", description = "do not ask anything")
    boolean force;

    @Override
    public Integer call() {
        PrintWriter out = ctl.out();
        MemberRole r = MemberRole.parse(role);
        DcsSession s = ctl.session(cluster);
        try {
            ClusterState c = ctl.read(s, cluster);
            List<Member> targets = new ArrayList<>(MemberSelection.choose(ctl, c, members, r, force, "restart", false));
            if (scheduled == null && !force) {
                String nextHour = LocalDateTime.now().plusHours(1).format(DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm"));
                scheduled = ctl.prompt().ask("When should the restart take place (e.g. " + nextHour + ") ", "now");
            }
            Optional<OffsetDateTime> at = parseScheduled(scheduled);
            ObjectNode body = Ctl.JSON.createObjectNode();
            if (pending) {
                body.put("restart_pending", true);
                // a scheduled restart finds the members that need it at the scheduled time
                if (at.isEmpty()) {
                    targets.removeIf(m -> !m.isPendingRestart());
                }
            }
            if (any) {
                Collections.shuffle(targets);
                targets = new ArrayList<>(targets.subList(0, Math.min(1, targets.size())));
            }
            confirm(targets, at);
            if (pgVersion == null && !force) {
                pgVersion = ctl.prompt().ask("Restart if the PostgreSQL version is less than provided (e.g. 9.5.2) ", "");
            }
            if (pgVersion != null && !pgVersion.isEmpty()) {
                postgresVersionNumber(pgVersion);
                body.put("postgres_version", pgVersion);
            }
            if (at.isPresent()) {
                if (c.view().paused()) {
                    throw new PghaException("Can't schedule restart in the paused state");
                }
                body.put("schedule", MemberTable.isoformat(at.get()));
            }
            if (timeout != null) {
                body.put("timeout", seconds(timeout));
            }
            (r == MemberRole.LEADER && c.isStandbyCluster() ? Optional.of("standby_leader") : r.restApiRole())
                    .ifPresent(x -> body.put("role", x));
            int rc = 0;
            for (Member m : targets) {
                rc |= restart(c, m, body, out) ? 0 : 1;
            }
            return rc;
        } finally {
            s.close();
            ctl.close();
        }
    }

    private void confirm(List<Member> targets, Optional<OffsetDateTime> at) {
        if (at.isEmpty()) {
            MemberSelection.confirmAction(ctl, targets, force, "restart");
            return;
        }
        String question = pending
                ? "The nodes needing a restart will be identified at the scheduled time, and might be different from the ones "
                + "showing pending restart right now. Is this fine?"
                : "Are you sure you want to schedule restart of members " + String.join(", ", targets.stream().map(Member::name).toList())
                + " at " + MemberTable.isoformat(at.get()) + "?";
        if (!ctl.prompt().confirm(question, force)) {
            throw new MemberSelection.Aborted("Aborted scheduled restart");
        }
    }

    /** One member; true when it restarted or scheduled the restart. */
    private boolean restart(ClusterState c, Member m, ObjectNode body, PrintWriter out) {
        try {
            if (body.has("schedule") && force && c.hasScheduledRestart(m.name())) {
                HttpResponse<String> d = ctl.rest(m, "DELETE", "/restart", null);
                if (d.statusCode() >= 400) {
                    out.println("Failed: flush scheduled restart for member " + m.name() + ", status code=" + d.statusCode()
                            + ", (" + d.body() + ")");
                }
            }
            HttpResponse<String> r = ctl.rest(m, "POST", "/restart", body.toString());
            switch (r.statusCode()) {
                case 200 -> out.println("Success: restart on member " + m.name());
                case 202 -> out.println("Success: restart scheduled on member " + m.name());
                case 409 -> out.println("Failed: another restart is already scheduled on member " + m.name());
                default -> out.println("Failed: restart for member " + m.name() + ", status code=" + r.statusCode()
                        + ", (" + r.body() + ")");
            }
            return r.statusCode() == 200 || r.statusCode() == 202;
        } catch (PghaException e) {
            out.println("Failed: restart for member " + m.name() + ", (" + e.getMessage() + ")");
            return false;
        }
    }

    /**
     * patronictl's {@code parse_scheduled}: empty for none or {@code now}; a time without a zone is
     * in the local one.
     */
    static Optional<OffsetDateTime> parseScheduled(String scheduled) {
        if (scheduled == null || scheduled.isEmpty() || scheduled.equals("now")) {
            return Optional.empty();
        }
        String t = scheduled.strip().replace(' ', 'T');
        try {
            return Optional.of(OffsetDateTime.parse(t));
        } catch (DateTimeParseException e) {
            // no offset, or a zone name
        }
        try {
            return Optional.of(ZonedDateTime.parse(t).toOffsetDateTime());
        } catch (DateTimeParseException e) {
            // no zone
        }
        try {
            return Optional.of(LocalDateTime.parse(t).atZone(ZoneId.systemDefault()).toOffsetDateTime());
        } catch (DateTimeParseException e) {
            throw new PghaException("Unable to parse scheduled timestamp (" + scheduled
                    + "). It should be in an unambiguous format (e.g. ISO 8601)");
        }
    }

    /**
     * Patroni's {@code postgres_version_to_int}: {@code 9.5.2} → 90502, {@code 15.2} → 150002.
     *
     * @throws PghaException in Patroni's words when {@code v} is not X.Y (X ≥ 10) or X.Y.Z
     */
    static int postgresVersionNumber(String v) {
        String[] parts = v.split("\\.", -1);
        int[] c = new int[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) {
                c[i] = Integer.parseInt(parts[i].strip());
            }
        } catch (NumberFormatException e) {
            throw new PghaException("Invalid PostgreSQL version: " + v);
        }
        if (c.length < 2 || c.length == 2 && c[0] < 10 || c.length > 3) {
            throw new PghaException("Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: " + v);
        }
        return c.length == 2 ? c[0] * 10000 + c[1] : c[0] * 10000 + c[1] * 100 + c[2];
    }

    private static BigDecimal seconds(String s) {
        try {
            BigDecimal d = new BigDecimal(s.strip());
            if (d.signum() > 0) {
                return d;
            }
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new PghaException("--timeout must be a positive number of seconds, got '" + s + "'");
    }
}
