package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ClusterView.Member;
import io.pgha.PghaException;
import io.pgha.spi.DcsSession;
import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code pghactl reinit CLUSTER MEMBER ...}: {@code POST /reinitialize} on the named replicas (as
 * patronictl, it asks which when none is named, and does nothing with {@code --force} alone); with
 * {@code --wait}, polls each one's {@code GET /patroni} until its PostgreSQL runs again.
 */
@Command(name = "reinit", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Reinitialize replicas: remove their data and clone again from the leader.")
final class ReinitCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(index = "0", paramLabel = "CLUSTER")
    String cluster;
    @Parameters(index = "1..*", paramLabel = "MEMBER", description = "the replicas to reinitialize")
    List<String> members = new ArrayList<>();
    @Option(names = "--force", description = "do not ask for confirmation; cancel an action in progress on the member")
    boolean force;
    @Option(names = "--from-leader", description = "take the base backup from the leader")
    boolean fromLeader;
    @Option(names = "--wait", description = "wait until the reinitialized members run again")
    boolean await;
    @Option(names = "--wait-timeout", paramLabel = "SECONDS", defaultValue = "1800",
            description = "give up waiting after this long (default: ${DEFAULT-VALUE})")
    long waitTimeout;
    @Option(names = "--poll-interval", hidden = true, defaultValue = "2000", description = "milliseconds between two looks (tests)")
    long pollMillis;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = ctl.out();
        DcsSession s = ctl.session(cluster);
        try {
            ClusterState c = ctl.read(s, cluster);
            List<Member> targets = MemberSelection.choose(ctl, c, members, MemberRole.REPLICA, force, "reinitialize", true);
            List<Member> waitOn = new ArrayList<>();
            int rc = 0;
            for (Member m : targets) {
                ObjectNode body = Ctl.JSON.createObjectNode().put("force", force).put("from_leader", fromLeader);
                boolean started;
                while (true) {
                    HttpResponse<String> r = ctl.rest(m, "POST", "/reinitialize", body.toString());
                    started = r.statusCode() < 400;
                    if (started) {
                        out.println("Success: reinitialize for member " + m.name());
                    } else {
                        out.println("Failed: reinitialize for member " + m.name() + ", status code=" + r.statusCode()
                                + ", (" + r.body() + ")");
                    }
                    if (!started && r.body().endsWith(" already in progress") && !force
                            && ctl.prompt().confirm("Do you want to cancel it and reinitialize anyway?", false)) {
                        body.put("force", true);
                        continue;
                    }
                    break;
                }
                rc |= started ? 0 : 1;
                if (started && await) {
                    waitOn.add(m);
                }
            }
            return rc | (waitOn.isEmpty() ? 0 : awaitRunning(waitOn, out));
        } finally {
            s.close();
            ctl.close();
        }
    }

    /** Polls {@code GET /patroni} of each member until it reports PostgreSQL running; 1 when the time runs out. */
    private int awaitRunning(List<Member> members, PrintWriter out) throws InterruptedException {
        List<Member> waiting = new ArrayList<>(members);
        List<Member> shown = List.of();
        Map<String, String> lastState = new HashMap<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitTimeout);
        while (!waiting.isEmpty()) {
            if (!waiting.equals(shown)) {
                out.println("Waiting for reinitialize to complete on: " + String.join(", ", waiting.stream().map(Member::name).toList()));
                out.flush();
                shown = List.copyOf(waiting);
            }
            if (System.nanoTime() > deadline) {
                out.println("Timed out after " + waitTimeout + " s waiting for reinitialize to complete on: "
                        + String.join(", ", waiting.stream().map(Member::name).toList()));
                return 1;
            }
            Thread.sleep(pollMillis);
            for (Member m : new ArrayList<>(waiting)) {
                String state = state(m);
                if (!state.equals(lastState.put(m.name(), state))) {
                    out.println(m.name() + ": " + state);
                    out.flush();
                }
                if (state.equals("running")) {
                    out.println("Reinitialize is completed on: " + m.name());
                    out.flush();
                    waiting.remove(m);
                }
            }
        }
        return 0;
    }

    /** The member's PostgreSQL state as its REST API reports it, or why it cannot be asked. */
    private String state(Member m) {
        try {
            HttpResponse<String> r = ctl.rest(m, "GET", "/patroni", null);
            JsonNode n = Ctl.JSON.readTree(r.body());
            return n.path("state").asText("unknown");
        } catch (PghaException | com.fasterxml.jackson.core.JsonProcessingException e) {
            return "not answering";
        }
    }
}
