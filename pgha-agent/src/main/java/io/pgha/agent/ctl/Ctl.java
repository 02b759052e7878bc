package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ClusterView;
import io.pgha.ClusterView.HistoryEntry;
import io.pgha.ClusterView.Member;
import io.pgha.ConfigurationException;
import io.pgha.DynamicConfigCheck;
import io.pgha.PghaException;
import io.pgha.agent.NodeFromConfig;
import io.pgha.agent.Stores;
import io.pgha.agent.config.AgentConfig;
import io.pgha.agent.config.Secret;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.Lsn;
import io.pgha.spi.SessionSpec;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code pghactl -c <config.yml> <command>}: patronictl for pgha clusters (and Patroni ones on etcd).
 * It reads the store directly and acts through the members' REST APIs, as patronictl does.
 */
@Command(name = "pghactl", mixinStandardHelpOptions = true, version = "pghactl 0.1.0",
        description = "Looks at and operates a pgha (or Patroni) cluster.",
        subcommands = {Ctl.ListCmd.class, Ctl.Switchover.class, Ctl.Failover.class, Ctl.Pause.class, Ctl.Resume.class,
                Ctl.History.class, Ctl.ShowConfig.class, Ctl.EditConfig.class, Ctl.Restart.class, Ctl.Reinit.class})
public final class Ctl implements Callable<Integer> {
    static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = {"-c", "--config-file"}, required = true, description = "a node's configuration (Patroni's format)")
    Path configFile;

    @Spec
    CommandLine.Model.CommandSpec spec;

    private AgentConfig config;
    private Dcs dcs;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    public static void main(String[] args) {
        io.pgha.agent.Agent.quietJul();
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given output streams (tests); returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Ctl()).setOut(out).setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("pghactl: " + ex.getMessage());
            return ex instanceof ConfigurationException ? 2 : 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    // ------------------------------------------------------------------ shared plumbing

    /** The file, read once; a CLUSTER argument stands in for a missing scope, and the CLI needs no member name. */
    AgentConfig config() {
        if (config == null) {
            java.util.Map<String, String> env = new java.util.HashMap<>(System.getenv());
            env.putIfAbsent("PATRONI_NAME", "pghactl");
            if (clusterArgument != null) {
                env.put("PATRONI_SCOPE", clusterArgument);
            }
            config = AgentConfig.read(configFile, env);
        }
        return config;
    }

    private String clusterArgument;

    String scope(String override) {
        return override != null ? override : config().scope();
    }

    DcsSession session(String cluster) {
        if (cluster != null) {
            clusterArgument = cluster;
        }
        if (dcs == null) {
            dcs = Stores.open(config(), NodeFromConfig.retryTimeout(config()));
        }
        return dcs.open(SessionSpec.observer(scope(cluster), Duration.ofSeconds(5)));
    }

    ClusterSnapshot snapshot(DcsSession s) {
        try {
            return s.read().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new PghaException("cannot read the cluster from the store: " + cause(e));
        }
    }

    ClusterView cluster(DcsSession s) {
        return ClusterView.of(snapshot(s));
    }

    void close() {
        if (dcs != null) {
            dcs.close();
        }
    }

    /** Calls a member's REST API; {@code path} like {@code /switchover}. */
    HttpResponse<String> rest(Member m, String method, String path, String body) {
        String api = m.apiUrl().orElseThrow(() -> new PghaException("member '" + m.name() + "' publishes no REST API (api_url)"));
        URI base = URI.create(api);
        URI uri = base.resolve(path);
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        config().restapi().flatMap(AgentConfig.RestApi::username).ifPresent(u -> {
            char[] pw = config().restapi().flatMap(AgentConfig.RestApi::password).map(Secret::reveal).orElse(new char[0]);
            b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString((u + ":" + new String(pw)).getBytes(StandardCharsets.UTF_8)));
        });
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new PghaException("cannot reach " + m.name() + "'s REST API at " + uri + ": " + cause(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PghaException("interrupted");
        }
    }

    static String cause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t instanceof java.util.concurrent.ExecutionException
                || t instanceof java.util.concurrent.CompletionException)) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    static boolean confirm(PrintWriter out, String question, boolean force) {
        if (force) {
            return true;
        }
        java.io.Console console = System.console();
        if (console == null) {
            throw new PghaException(question + " — no terminal to ask; add --force");
        }
        String a = console.readLine("%s [y/N]: ", question);
        return a != null && (a.equalsIgnoreCase("y") || a.equalsIgnoreCase("yes"));
    }

    // ------------------------------------------------------------------ list

    /** The members table, as patronictl prints it. */
    static String membersTable(String scope, ClusterView c) {
        // as patronictl: the column appears only when some member waits for a restart
        boolean pending = c.members().values().stream().anyMatch(Member::isPendingRestart);
        List<String> columns = new ArrayList<>(List.of("Member", "Host", "Role", "State", "TL", "Lag in MB"));
        List<Boolean> right = new ArrayList<>(List.of(false, false, false, false, true, true));
        if (pending) {
            columns.add("Pending restart");
            right.add(false);
        }
        Table t = new Table(columns, right);
        long leaderLsn = c.leaderOptime().or(() -> c.leaderMember().map(Member::walPosition)).map(Lsn::value).orElse(0L);
        for (Member m : c.members().values()) {
            boolean leader = c.isLeader(m.name());
            boolean sync = c.syncStandbys().contains(m.name());
            String role = leader ? "Leader" : sync ? "Sync Standby" : "Replica";
            String state = !leader && m.isRunning() ? m.replicationState().orElse("running") : m.state();
            String host = hostOf(m.connUrl());
            String lag = "";
            if (!leader) {
                lag = m.isRunning() && leaderLsn > 0 ? String.valueOf(Math.max(0, leaderLsn - m.walPosition().value()) / (1024 * 1024))
                        : "unknown";
            }
            List<String> row = new ArrayList<>(List.of(m.name(), host, role, state, m.timeline() > 0 ? String.valueOf(m.timeline()) : "",
                    lag));
            if (pending) {
                row.add(m.isPendingRestart() ? "*" : "");
            }
            t.add(row);
        }
        String title = "Cluster: " + scope + c.initialize().filter(s -> !s.isEmpty()).map(s -> " (" + s + ")").orElse("");
        StringBuilder sb = new StringBuilder(t.render(title));
        if (c.paused()) {
            sb.append(" Maintenance mode: on\n");
        }
        c.failover().filter(f -> f.scheduledAt().isPresent()).ifPresent(f -> sb.append(" Switchover scheduled at: ")
                .append(f.scheduledAt().get()).append("\n                    from: ").append(f.leader().orElse("-"))
                .append("\n                      to: ").append(f.candidate().orElse("-")).append('\n'));
        return sb.toString();
    }

    private static String hostOf(String connUrl) {
        try {
            URI u = new URI(connUrl);
            return u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "");
        } catch (Exception e) {
            return connUrl;
        }
    }

    @Command(name = "list", description = "List the members of the cluster.")
    static final class ListCmd implements Callable<Integer> {
        @ParentCommand
        Ctl ctl;
        @Parameters(arity = "0..1", paramLabel = "CLUSTER")
        String cluster;
        @Option(names = "-W", description = "refresh every 2 seconds until interrupted")
        boolean watchForever;
        @Option(names = {"-w", "--watch"}, paramLabel = "SECONDS", description = "refresh every SECONDS until interrupted")
        Double watchInterval;
        @Option(names = "--count", hidden = true, defaultValue = "0", description = "stop after this many refreshes (tests)")
        int count;

        @Override
        public Integer call() throws InterruptedException {
            PrintWriter out = ctl.spec.commandLine().getOut();
            DcsSession s = ctl.session(cluster);
            try {
                double interval = watchInterval != null ? watchInterval : watchForever ? 2 : 0;
                int shown = 0;
                do {
                    if (shown > 0) {
                        Thread.sleep((long) (interval * 1000));
                        out.println();
                    }
                    out.print(membersTable(ctl.scope(cluster), ctl.cluster(s)));
                    out.flush();
                    shown++;
                } while (interval > 0 && (count == 0 || shown < count));
                return 0;
            } finally {
                s.close();
                ctl.close();
            }
        }
    }

    // ------------------------------------------------------------------ switchover, failover

    abstract static class Move implements Callable<Integer> {
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
            PrintWriter out = ctl.spec.commandLine().getOut();
            DcsSession s = ctl.session(cluster);
            try {
                ClusterView c = ctl.cluster(s);
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
                ObjectNode body = JSON.createObjectNode();
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
                out.print(membersTable(ctl.scope(cluster), c));
                String what = isFailover() ? "failover" : "switchover";
                if (!confirm(out, "Are you sure you want to " + what + " cluster " + ctl.scope(cluster)
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
                out.print(membersTable(ctl.scope(cluster), ctl.cluster(s)));
                return 0;
            } finally {
                s.close();
                ctl.close();
            }
        }
    }

    @Command(name = "switchover", description = "Switch the leader over to another member, gracefully.")
    static final class Switchover extends Move {
        @Option(names = {"--leader", "--primary", "--master"}, description = "the current leader (default: as the store says)")
        String leader;
        @Option(names = "--scheduled", description = "when (ISO-8601 with an offset), or 'now'")
        String when;

        @Override
        boolean isFailover() {
            return false;
        }

        @Override
        String leaderOption() {
            return leader;
        }

        @Override
        String scheduled() {
            return when;
        }
    }

    @Command(name = "failover", description = "Fail over to a named member (also when there is no leader).")
    static final class Failover extends Move {
        @Override
        boolean isFailover() {
            return true;
        }
    }

    // ------------------------------------------------------------------ pause, resume

    abstract static class PauseResume implements Callable<Integer> {
        @ParentCommand
        Ctl ctl;
        @Parameters(arity = "0..1", paramLabel = "CLUSTER")
        String cluster;
        @Option(names = "--wait", description = "wait until every member reports it")
        boolean await;

        abstract boolean pause();

        @Override
        public Integer call() throws InterruptedException {
            PrintWriter out = ctl.spec.commandLine().getOut();
            DcsSession s = ctl.session(cluster);
            try {
                ClusterView c = ctl.cluster(s);
                boolean paused = c.paused();
                if (paused == pause()) {
                    out.println("Cluster is " + (pause() ? "already paused" : "not paused"));
                    return 1;
                }
                ObjectNode patch = JSON.createObjectNode();
                if (pause()) {
                    patch.put("pause", true);
                } else {
                    patch.putNull("pause");
                }
                ctl.patchConfig(s, c, patch);
                out.println(pause() ? "Success: cluster management is paused" : "Success: cluster management is resumed");
                if (await) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (System.nanoTime() < deadline) {
                        boolean all = true;
                        for (Member m : ctl.cluster(s).members().values()) {
                            JsonNode st = JSON.readTree(ctl.rest(m, "GET", "/patroni", null).body());
                            all &= st.path("pause").asBoolean(false) == pause();
                        }
                        if (all) {
                            return 0;
                        }
                        Thread.sleep(500);
                    }
                    out.println("not every member reports it yet");
                    return 1;
                }
                return 0;
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new PghaException("a member answered with something that is not JSON");
            } finally {
                s.close();
                ctl.close();
            }
        }
    }

    @Command(name = "pause", description = "Disable automatic failover (maintenance mode).")
    static final class Pause extends PauseResume {
        @Override
        boolean pause() {
            return true;
        }
    }

    @Command(name = "resume", description = "Resume automatic failover.")
    static final class Resume extends PauseResume {
        @Override
        boolean pause() {
            return false;
        }
    }

    /** PATCH /config through the leader's REST API, or a compare-and-set in the store when no API answers. */
    void patchConfig(DcsSession s, ClusterView c, ObjectNode patch) {
        Optional<Member> leader = c.leaderMember().filter(m -> m.apiUrl().isPresent());
        if (leader.isPresent()) {
            HttpResponse<String> r = rest(leader.get(), "PATCH", "/config", patch.toString());
            if (r.statusCode() != 200) {
                throw new PghaException("the leader refused the change (" + r.statusCode() + "): " + r.body());
            }
            return;
        }
        ClusterSnapshot snap = snapshot(s);
        DcsEntry current = snap.get(ClusterKey.CONFIG).orElseThrow(() -> new PghaException("the cluster has no dynamic configuration"));
        ObjectNode merged;
        try {
            merged = (ObjectNode) JSON.readTree(current.value());
        } catch (Exception e) {
            throw new PghaException("the stored configuration is not JSON");
        }
        merged = patched(merged, patch);
        boolean ok;
        try {
            ok = s.compareAndSet(ClusterKey.CONFIG, merged.toString(), current.version()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new PghaException("cannot write the configuration: " + cause(e));
        }
        if (!ok) {
            throw new PghaException("the configuration changed meanwhile; try again");
        }
    }

    /** {@code base} with {@code patch} applied, by ha-core's one patch operation (what the REST API does). */
    static ObjectNode patched(ObjectNode base, JsonNode patch) {
        try {
            return (ObjectNode) JSON.readTree(DynamicConfigCheck.patched(base.toString(), patch.toString()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new PghaException("cannot apply the change: " + e.getOriginalMessage());
        }
    }

    // ------------------------------------------------------------------ history, show-config, edit-config

    @Command(name = "history", description = "Show the timeline history.")
    static final class History implements Callable<Integer> {
        @ParentCommand
        Ctl ctl;
        @Parameters(arity = "0..1", paramLabel = "CLUSTER")
        String cluster;

        @Override
        public Integer call() {
            DcsSession s = ctl.session(cluster);
            try {
                Table t = new Table(List.of("TL", "LSN", "Reason", "Timestamp", "New Leader"), List.of(true, true, false, false, false));
                for (HistoryEntry h : ctl.cluster(s).history()) {
                    t.add(List.of(String.valueOf(h.timeline()), String.valueOf(h.lsn().value()), h.reason(), h.timestamp().orElse(""),
                            h.newLeader().orElse("")));
                }
                ctl.spec.commandLine().getOut().print(t.render(null));
                return 0;
            } finally {
                s.close();
                ctl.close();
            }
        }
    }

    /** The cluster's dynamic configuration as a JSON object. */
    static ObjectNode dynamicConfig(ClusterView c) {
        try {
            return (ObjectNode) JSON.readTree(c.dynamicConfig());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("ClusterView.dynamicConfig is always a JSON object", e);
        }
    }

    static String toYaml(JsonNode json) {
        Object plain = JSON.convertValue(json, Object.class);
        return new Dump(DumpSettings.builder().setDefaultFlowStyle(FlowStyle.BLOCK).build()).dumpToString(plain);
    }

    @Command(name = "show-config", description = "Show the cluster's dynamic configuration.")
    static final class ShowConfig implements Callable<Integer> {
        @ParentCommand
        Ctl ctl;
        @Parameters(arity = "0..1", paramLabel = "CLUSTER")
        String cluster;

        @Override
        public Integer call() {
            DcsSession s = ctl.session(cluster);
            try {
                ClusterView c = ctl.cluster(s);
                ctl.spec.commandLine().getOut().print(toYaml(dynamicConfig(c)));
                return 0;
            } finally {
                s.close();
                ctl.close();
            }
        }
    }

    @Command(name = "edit-config", description = "Change the cluster's dynamic configuration: -s key.sub=value ...")
    static final class EditConfig implements Callable<Integer> {
        @ParentCommand
        Ctl ctl;
        @Parameters(arity = "0..1", paramLabel = "CLUSTER")
        String cluster;
        @Option(names = {"-s", "--set"}, paramLabel = "KEY=VALUE",
                description = "set a key (dotted for nested ones; the value is read as YAML: 10, true, 'text'; 'null' deletes)")
        List<String> sets = new ArrayList<>();
        @Option(names = {"-p", "--pg"}, paramLabel = "NAME=VALUE", description = "set postgresql.parameters.NAME")
        List<String> pgSets = new ArrayList<>();
        @Option(names = "--force", description = "do not ask for confirmation")
        boolean force;

        @Override
        public Integer call() {
            PrintWriter out = ctl.spec.commandLine().getOut();
            if (sets.isEmpty() && pgSets.isEmpty()) {
                throw new PghaException("edit-config needs at least one change: -s KEY=VALUE or -p NAME=VALUE");
            }
            ObjectNode patch = JSON.createObjectNode();
            for (String kv : sets) {
                put(patch, kv, "");
            }
            for (String kv : pgSets) {
                put(patch, kv, "postgresql.parameters.");
            }
            DcsSession s = ctl.session(cluster);
            try {
                ClusterView c = ctl.cluster(s);
                ObjectNode before = dynamicConfig(c);
                ObjectNode after = patched(before, patch);
                if (after.equals(before)) {
                    out.println("Not changed");
                    return 0;
                }
                out.println("---");
                out.print(toYaml(before));
                out.println("+++");
                out.print(toYaml(after));
                if (!confirm(out, "Apply these changes?", force)) {
                    out.println("Aborted");
                    return 1;
                }
                ctl.patchConfig(s, c, patch);
                out.println("Configuration changed");
                return 0;
            } finally {
                s.close();
                ctl.close();
            }
        }

        private static void put(ObjectNode patch, String kv, String prefix) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new PghaException("'" + kv + "' is not KEY=VALUE");
            }
            String[] path = (prefix + kv.substring(0, eq).strip()).split("\\.");
            Object value = new Load(LoadSettings.builder().build()).loadFromString(kv.substring(eq + 1));
            ObjectNode node = patch;
            for (int i = 0; i < path.length - 1; i++) {
                node = node.has(path[i]) && node.get(path[i]).isObject() ? (ObjectNode) node.get(path[i]) : node.putObject(path[i]);
            }
            node.set(path[path.length - 1], JSON.valueToTree(value));
        }
    }

    // ------------------------------------------------------------------ restart, reinit

    abstract static class MemberAction implements Callable<Integer> {
        @ParentCommand
        Ctl ctl;
        @Parameters(index = "0", paramLabel = "CLUSTER")
        String cluster;
        @Parameters(index = "1..*", paramLabel = "MEMBER", description = "members (default: all)")
        List<String> members = new ArrayList<>();
        @Option(names = "--force", description = "do not ask for confirmation")
        boolean force;

        abstract String path();

        abstract String verb();

        String body() {
            return "{}";
        }

        @Override
        public Integer call() {
            PrintWriter out = ctl.spec.commandLine().getOut();
            DcsSession s = ctl.session(cluster);
            try {
                ClusterView c = ctl.cluster(s);
                List<Member> targets = new ArrayList<>();
                if (members.isEmpty()) {
                    targets.addAll(c.members().values());
                } else {
                    for (String m : members) {
                        targets.add(c.member(m).orElseThrow(() -> new PghaException("'" + m + "' is not a member of cluster '"
                                + ctl.scope(cluster) + "'")));
                    }
                }
                out.print(membersTable(ctl.scope(cluster), c));
                if (!confirm(out, "Are you sure you want to " + verb() + " members "
                        + String.join(", ", targets.stream().map(Member::name).toList()) + "?", force)) {
                    out.println("Aborted");
                    return 1;
                }
                int rc = 0;
                for (Member m : targets) {
                    HttpResponse<String> r = ctl.rest(m, "POST", path(), body());
                    boolean ok = r.statusCode() < 300;
                    out.println((ok ? "Success: " : "Failed: ") + verb() + " on member " + m.name() + ": " + r.body());
                    rc |= ok ? 0 : 1;
                }
                return rc;
            } finally {
                s.close();
                ctl.close();
            }
        }
    }

    @Command(name = "restart", description = "Restart PostgreSQL on members.")
    static final class Restart extends MemberAction {
        @Override
        String path() {
            return "/restart";
        }

        @Override
        String verb() {
            return "restart";
        }
    }

    @Command(name = "reinit", description = "Reinitialize replicas: remove their data and clone again from the leader.")
    static final class Reinit extends MemberAction {
        @Override
        String path() {
            return "/reinitialize";
        }

        @Override
        String verb() {
            return "reinitialize";
        }

        @Override
        String body() {
            return "{\"force\":" + force + "}";
        }
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
