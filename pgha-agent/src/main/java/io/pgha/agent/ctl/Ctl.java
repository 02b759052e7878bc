package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgha.ClusterView.Member;
import io.pgha.ConfigurationException;
import io.pgha.PghaException;
import io.pgha.PghaVersion;
import io.pgha.agent.Stores;
import io.pgha.agent.config.AgentConfig;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.Optional;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pghactl -c <config.yml> <command>}: patronictl for pgha clusters (and Patroni ones on etcd).
 * It reads the store directly and acts through the members' REST APIs, as patronictl does.
 *
 * <p>This class is the root command and the plumbing every command shares: the configuration file,
 * the store, the members' REST APIs and the questions asked on standard input. Each command is a
 * class of its own ({@link ListCommand}, {@link RestartCommand}, ...).
 */
@Command(name = "pghactl", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Looks at and operates a pgha (or Patroni) cluster.",
        subcommands = {ListCommand.class, TopologyCommand.class, SwitchoverCommand.class, FailoverCommand.class,
                PauseCommand.class, ResumeCommand.class, HistoryCommand.class, ShowConfigCommand.class, EditConfigCommand.class,
                RestartCommand.class, ReinitCommand.class, ReloadCommand.class, FlushCommand.class, QueryCommand.class,
                DsnCommand.class, RemoveCommand.class, PromoteClusterCommand.class, DemoteClusterCommand.class, VersionCommand.class})
public final class Ctl implements Callable<Integer> {
    /** pghactl's own version ({@code pghactl version}, {@code --version}): the library's, {@link PghaVersion}. */
    static final String VERSION = PghaVersion.current();
    static final ObjectMapper JSON = new ObjectMapper();

    /** {@code --version} of pghactl and each of its commands: {@code pghactl 0.1.0}. */
    public static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"pghactl " + VERSION};
        }
    }

    @Option(names = {"-c", "--config-file"}, required = true, description = "a node's configuration (Patroni's format)")
    Path configFile;

    @Spec
    CommandLine.Model.CommandSpec spec;

    private AgentConfig.CtlConfig config;
    private Dcs dcs;
    private HttpClient http;
    private final Supplier<Dcs> stores;
    private final Prompt prompt;
    /** The environment the commands see ({@code EDITOR}, {@code PATH}); tests give their own. */
    final Map<String, String> environment;

    private Ctl(Prompt prompt, Map<String, String> environment, Supplier<Dcs> stores) {
        this.prompt = prompt;
        this.environment = environment;
        this.stores = stores;
    }

    public static void main(String[] args) {
        io.pgha.agent.Agent.quietJul();
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given output streams (tests); questions are read from standard input. Returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return run(args, null, out, err);
    }

    /**
     * Runs the CLI with the given streams; {@code in} answers the questions a command asks (the
     * confirmations of {@code remove}, for example), {@code null} for standard input. Returns the exit code.
     */
    public static int run(String[] args, Reader in, PrintWriter out, PrintWriter err) {
        return run(args, in, out, err, System.getenv(), null);
    }

    /** {@link #run(String[], Reader, PrintWriter, PrintWriter)} with an environment and, when not null, a store of the test's own. */
    static int run(String[] args, Reader in, PrintWriter out, PrintWriter err, Map<String, String> environment,
                   Supplier<Dcs> stores) {
        Prompt prompt = in != null ? new Prompt(in, out, false)
                : new Prompt(new InputStreamReader(System.in, StandardCharsets.UTF_8), out, System.console() != null);
        CommandLine cl = new CommandLine(new Ctl(prompt, environment, stores)).setOut(out).setErr(err);
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

    // ------------------------------------------------------------------ the configuration file

    /**
     * The file, read once for what pghactl uses: the store section, {@code scope}, {@code ctl} (TLS
     * to the members' REST APIs) and the REST credentials. A file with only those is enough; a
     * CLUSTER argument stands in for a missing scope.
     */
    AgentConfig.CtlConfig config() {
        if (config == null) {
            java.util.Map<String, String> env = new java.util.HashMap<>(System.getenv());
            if (clusterArgument != null) {
                env.put("PATRONI_SCOPE", clusterArgument);
            }
            config = AgentConfig.readForCtl(configFile, env);
        }
        return config;
    }

    private String clusterArgument;

    /**
     * {@code postgresql.authentication.superuser}, the login of {@code query} when no {@code -U} is
     * given, if the file is a whole node configuration; empty for a pghactl-only file.
     */
    Optional<AgentConfig.Credentials> superuser() {
        try {
            java.util.Map<String, String> env = new java.util.HashMap<>(System.getenv());
            env.putIfAbsent("PATRONI_NAME", "pghactl");
            env.putIfAbsent("PATRONI_SCOPE", scope(null));
            return Optional.ofNullable(AgentConfig.read(configFile, env).postgresql()).flatMap(AgentConfig.Postgresql::superuser);
        } catch (ConfigurationException e) {
            return Optional.empty();
        }
    }

    String scope(String override) {
        if (override != null) {
            return override;
        }
        return config().scope().orElseThrow(() -> new ConfigurationException("scope",
                "is not in " + configFile + ": name the cluster on the command line"));
    }

    /** The HTTP client for the members' REST APIs, with {@code ctl}'s TLS settings. */
    private HttpClient http() {
        if (http == null) {
            HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3));
            AgentConfig.CtlConfig.RestTls tls = config().restTls();
            if (tls.insecure()) {
                // Patroni's ctl.insecure: no certificate or host name check (the property is read once, by this CLI process)
                System.setProperty("jdk.internal.httpclient.disableHostnameVerification", "true");
                b.sslContext(TrustEveryone.context(tls));
            } else if (tls.cacert().isPresent() || tls.certfile().isPresent()) {
                b.sslContext(io.pgha.spi.support.PemTls.sslContext(
                        tls.cacert().map(p -> new io.pgha.spi.support.PemTls.PemFile("ctl.cacert", p)),
                        tls.certfile().map(p -> new io.pgha.spi.support.PemTls.PemFile("ctl.certfile", p)),
                        tls.certfile().map(p -> new io.pgha.spi.support.PemTls.PemFile("ctl.keyfile", tls.keyfile().orElse(p))),
                        tls.keyfilePassword().map(io.pgha.agent.config.Secret::revealString)));
            }
            http = b.build();
        }
        return http;
    }

    // ------------------------------------------------------------------ the store

    DcsSession session(String cluster) {
        if (cluster != null) {
            clusterArgument = cluster;
        }
        if (dcs == null) {
            // patronictl's retry timeout: Patroni's default, 10 s
            dcs = stores != null ? stores.get() : Stores.open(config().dcs(), config().namespace(), Duration.ofSeconds(10));
            config().warnings().forEach(w -> spec.commandLine().getErr().println("pghactl: " + w));
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

    /** One read of the cluster {@code cluster} (null: the configuration's scope), decoded. */
    ClusterState read(DcsSession s, String cluster) {
        return ClusterState.of(scope(cluster), snapshot(s));
    }

    void close() {
        if (dcs != null) {
            dcs.close();
        }
    }

    // ------------------------------------------------------------------ the members' REST APIs

    /** Calls a member's REST API; {@code path} like {@code /switchover}. */
    HttpResponse<String> rest(Member m, String method, String path, String body) {
        String api = m.apiUrl().orElseThrow(() -> new PghaException("member '" + m.name() + "' publishes no REST API (api_url)"));
        URI base = URI.create(api);
        URI uri = base.resolve(path);
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        config().restAuth().ifPresent(a -> b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                (a.username() + ":" + a.password().revealString()).getBytes(StandardCharsets.UTF_8))));
        try {
            return http().send(b.build(), HttpResponse.BodyHandlers.ofString());
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

    // ------------------------------------------------------------------ the terminal

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** Questions to the operator (confirmations, member names, passwords). */
    Prompt prompt() {
        return prompt;
    }
}
