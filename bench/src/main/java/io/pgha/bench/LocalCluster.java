package io.pgha.bench;

import io.pgha.testkit.servers.EtcdCluster;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A real cluster for end-to-end tests: one etcd, and N pgha agents each running as its own process
 * ({@code java ... Agent node.yml}) with its own real PostgreSQL, on free loopback ports in a temp
 * folder. Everything it starts is stopped by {@link #close()}.
 */
public final class LocalCluster implements AutoCloseable {
    public static final String API_USER = "admin";
    public static final String API_PASSWORD = "api-Secret-7";
    public static final String SUPERUSER_PASSWORD = "su-Secret-7";
    public static final String REPLICATION_PASSWORD = "repl-Secret-7";

    /** One member: its config, ports and (when running) its agent process. */
    public static final class Node {
        public final String name;
        public final int pgPort;
        public final int apiPort;
        public final Path config;
        public final Path dataDir;
        public final Path log;
        /** This member's own link to etcd, which a test can cut. */
        public final io.pgha.testkit.FaultProxy etcdLink;
        Process process;
        boolean stopped;

        Node(String name, int pgPort, int apiPort, Path config, Path dataDir, Path log, io.pgha.testkit.FaultProxy etcdLink) {
            this.etcdLink = etcdLink;
            this.name = name;
            this.pgPort = pgPort;
            this.apiPort = apiPort;
            this.config = config;
            this.dataDir = dataDir;
            this.log = log;
        }

        public boolean running() {
            return process != null && process.isAlive();
        }

        public long pid() {
            return process.pid();
        }

        /** The agent's exit code once it has exited. */
        public java.util.OptionalInt exitCode() {
            return process != null && !process.isAlive() ? java.util.OptionalInt.of(process.exitValue()) : java.util.OptionalInt.empty();
        }
    }

    public final EtcdCluster etcd;
    public final Path root;
    public final String scope;
    private final String postgresqlExtra;
    private final Map<String, Node> nodes = new LinkedHashMap<>();
    /** The agents' store section when it is not this class's etcd, else null. */
    private final String storeSection;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /**
     * @param dcs the {@code bootstrap.dcs} section's inner lines (indented by 4), e.g. ttl and loop_wait
     */
    public LocalCluster(int size, String dcs) {
        this(size, dcs, null);
    }

    /**
     * @param configFor when given, writes each member's configuration instead of the default one
     *                  (it gets the member and the etcd address {@code host:port})
     */
    public LocalCluster(int size, String dcs, java.util.function.BiFunction<Node, String, String> configFor) {
        this(size, dcs, configFor, null);
    }

    /**
     * A cluster whose agents use another store: {@code storeSection} is that store's top-level YAML
     * section (e.g. {@code "zookeeper:\n  hosts: 127.0.0.1:2181\n"}). The etcd this class starts is
     * then unused, and {@link #leader()} asks the members' REST APIs instead.
     */
    public static LocalCluster onStore(int size, String dcs, String storeSection) {
        return new LocalCluster(size, dcs, null, storeSection, "");
    }

    /** The default configuration with {@code postgresqlExtra} (YAML lines indented two spaces) added to its postgresql section. */
    public static LocalCluster withPostgresql(int size, String dcs, String postgresqlExtra) {
        return new LocalCluster(size, dcs, null, null, postgresqlExtra);
    }

    private LocalCluster(int size, String dcs, java.util.function.BiFunction<Node, String, String> configFor, String storeSection) {
        this(size, dcs, configFor, storeSection, "");
    }

    /**
     * The default configuration with members named {@code prefix1}, {@code prefix2}, ...: two
     * clusters that replicate from one another (a standby cluster) need member names unique across
     * both, as Patroni warns (they are the {@code application_name}s on the remote primary).
     */
    public static LocalCluster named(String prefix, int size, String dcs) {
        return new LocalCluster(size, dcs, null, null, "", prefix);
    }

    private LocalCluster(int size, String dcs, java.util.function.BiFunction<Node, String, String> configFor, String storeSection,
                         String postgresqlExtra) {
        this(size, dcs, configFor, storeSection, postgresqlExtra, "n");
    }

    private LocalCluster(int size, String dcs, java.util.function.BiFunction<Node, String, String> configFor, String storeSection,
                         String postgresqlExtra, String namePrefix) {
        this.storeSection = storeSection;
        this.postgresqlExtra = postgresqlExtra;
        try {
            this.etcd = EtcdCluster.single();
            this.root = Files.createTempDirectory("pgha-cluster-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
            this.scope = "pgha" + Long.toHexString(System.nanoTime() & 0xFFFF);
            for (int i = 1; i <= size; i++) {
                String name = namePrefix + i;
                Path dir = Files.createDirectories(root.resolve(name));
                java.net.URI etcdUri = java.net.URI.create(etcd.clientUrl());
                io.pgha.testkit.FaultProxy link = io.pgha.testkit.FaultProxy.to(etcdUri.getHost(), etcdUri.getPort());
                Node n = new Node(name, freePort(), freePort(), dir.resolve(name + ".yml"), dir.resolve("data"), dir.resolve("agent.log"),
                        link);
                Files.writeString(n.config, configFor != null ? configFor.apply(n, link.address()) : config(n, dcs));
                nodes.put(name, n);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot set up the cluster folder", e);
        }
    }

    private String config(Node n, String dcs) {
        return """
                scope: %s
                name: %s
                %s
                restapi:
                  listen: 127.0.0.1:%d
                  authentication: {username: %s, password: '%s'}
                bootstrap:
                  dcs:
                %s
                  initdb:
                  - encoding: UTF8
                  pg_hba:
                  - host all all 127.0.0.1/32 scram-sha-256
                  - host replication replicator 127.0.0.1/32 scram-sha-256
                  users:
                    app: {password: 'app-Secret-7', options: [createdb]}
                postgresql:
                  listen: 127.0.0.1:%d
                  data_dir: %s
                  authentication:
                    superuser: {username: postgres, password: '%s'}
                    replication: {username: replicator, password: '%s'}
                  parameters: {shared_buffers: 16MB, fsync: 'off'}
                %s""".formatted(scope, n.name,
                storeSection != null ? storeSection.strip() : "etcd3:\n  hosts: " + n.etcdLink.address(), n.apiPort, API_USER, API_PASSWORD, dcs,
                n.pgPort, n.dataDir, SUPERUSER_PASSWORD, REPLICATION_PASSWORD, postgresqlExtra);
    }

    public List<Node> nodes() {
        return new ArrayList<>(nodes.values());
    }

    public Node node(String name) {
        return nodes.get(name);
    }

    public void startAll() {
        nodes.values().forEach(this::start);
    }

    /** Starts the member's agent as a separate JVM. */
    public void start(Node n) {
        start(n, Map.of());
    }

    /** Starts the member's agent as a separate JVM with extra environment variables. */
    public void start(Node n, Map<String, String> env) {
        List<String> cmd = new ArrayList<>();
        // an agent is reloaded with SIGHUP, as an operator does; a signal this JVM inherited as ignored (the suite run
        // under nohup) stays ignored in its children, and the JVM then cannot take SIGHUP: env resets it before the exec
        cmd.addAll(List.of("env", "--default-signal=HUP"));
        String launcher = System.getProperty(AGENT_LAUNCHER);
        if (launcher != null) {
            // as an operator starts it: bin/pgha (its JVM options and class-data archive, the shaded jar); it execs java, so the pid is the JVM's
            cmd.addAll(List.of(launcher, n.config.toString()));
        } else {
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(agentJvmOptions());
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.pgha.agent.Agent", n.config.toString()));
        }
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(n.log.toFile()));
            pb.environment().put("MALLOC_ARENA_MAX", "2");
            pb.environment().putAll(env);
            n.stopped = false;
            n.process = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the agent of " + n.name, e);
        }
    }

    /**
     * The agent's JVM options: those of {@code bin/pgha} (a small heap, serial GC, C1 only), or
     * {@code PGHA_JAVA_OPTS} when set, as {@code bin/pgha} does.
     */
    static List<String> agentJvmOptions() {
        String opts = System.getenv("PGHA_JAVA_OPTS");
        if (opts == null || opts.isBlank()) {
            opts = DEFAULT_AGENT_JVM_OPTIONS;
        }
        return List.of(opts.trim().split("\\s+"));
    }

    /**
     * A system property: the path of {@code bin/pgha}, to start each agent with it instead of
     * {@code java -cp <this JVM's class path>} (bench/run.sh sets it, so the benchmark measures the
     * agent as it is deployed). Unset (the tests), agents run from the class path with {@link #agentJvmOptions()}.
     */
    public static final String AGENT_LAUNCHER = "pgha.bench.agentLauncher";

    /** Keep in step with bin/pgha. */
    static final String DEFAULT_AGENT_JVM_OPTIONS =
            "-Xms16m -Xmx64m -XX:+UseSerialGC -Xss512k -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=24m "
                    + "-XX:MaxMetaspaceSize=64m -XX:CICompilerCount=1 -XX:-UsePerfData -Dio.netty.allocator.numDirectArenas=1 "
                    + "-Dio.netty.allocator.numHeapArenas=1 -XX:+UnlockDiagnosticVMOptions -XX:GuaranteedSafepointInterval=0 "
                    + "-XX:AsyncDeflationInterval=5000 -XX:ArchiveRelocationMode=0 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20 "
                    + "-XX:TrimNativeHeapInterval=60000";

    /** SIGTERM: a graceful stop; waits for the agent to exit. */
    public void stop(Node n) {
        if (n.process == null) {
            return;
        }
        n.stopped = true;
        n.process.destroy();
        try {
            if (!n.process.waitFor(60, TimeUnit.SECONDS)) {
                n.process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** kill -9 of the agent and its postmaster: a node crash. */
    public void crash(Node n) {
        n.stopped = true;
        Optional<Long> pm = postmasterPid(n);
        n.process.destroyForcibly();
        pm.ifPresent(LocalCluster::kill9);
        try {
            n.process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** kill -9 of the agent only: its PostgreSQL keeps running, left to the agent's out-of-process fence. */
    public void crashAgent(Node n) {
        n.stopped = true;
        n.process.destroyForcibly();
        try {
            n.process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGTERM to the agent (a graceful stop) without waiting for it to exit. */
    public void requestStop(Node n) {
        n.stopped = true;
        n.process.destroy();
    }

    /** Waits up to {@code limit} for an agent asked to stop to exit; kills it then. */
    public void awaitExit(Node n, Duration limit) {
        try {
            if (!n.process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                n.process.destroyForcibly();
                n.process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** kill -9 of the postmaster only (the agent lives on). */
    public void crashPostgres(Node n) {
        postmasterPid(n).ifPresent(LocalCluster::kill9);
    }

    public Optional<Long> postmasterPid(Node n) {
        try {
            Path pidFile = n.dataDir.resolve("postmaster.pid");
            if (!Files.exists(pidFile)) {
                return Optional.empty();
            }
            return Optional.of(Long.parseLong(Files.readAllLines(pidFile).get(0).strip()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static void kill9(long pid) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** The leader key's value (on another store: the one running member whose REST API says primary). */
    public Optional<String> leader() {
        if (storeSection != null) {
            List<String> primaries = nodes.values().stream().filter(Node::running)
                    .filter(n -> get(n, "/primary") == 200).map(n -> n.name).toList();
            return primaries.size() == 1 ? Optional.of(primaries.get(0)) : Optional.empty();
        }
        return key("leader");
    }

    /** The value of the cluster's key {@code name} ({@code leader}, {@code sync}, ...) in this class's etcd, if present. */
    public Optional<String> key(String name) {
        try {
            HttpRequest r = HttpRequest.newBuilder(URI.create(etcd.clientUrl() + "/v3/kv/range")).timeout(Duration.ofSeconds(3))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"" + Base64.getEncoder().encodeToString(
                            ("/service/" + scope + "/" + name).getBytes(StandardCharsets.UTF_8)) + "\"}")).build();
            String body = http.send(r, HttpResponse.BodyHandlers.ofString()).body();
            int v = body.indexOf("\"value\":\"");
            if (v < 0) {
                return Optional.empty();
            }
            String b64 = body.substring(v + 9, body.indexOf('"', v + 9));
            return Optional.of(new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8));
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** GET on a member's REST API; the status code, or -1 when it does not answer. */
    public int get(Node n, String path) {
        return call(n, "GET", path, null, false).statusCode();
    }

    public HttpResponse<String> call(Node n, String method, String path, String body, boolean auth) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.apiPort + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (auth) {
            b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString((API_USER + ":" + API_PASSWORD)
                    .getBytes(StandardCharsets.UTF_8)));
        }
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return new FailedResponse(e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new FailedResponse("interrupted");
        }
    }

    /** A SQL connection to a member's PostgreSQL as the superuser. */
    public Connection sql(int port) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("password", SUPERUSER_PASSWORD);
        p.setProperty("connectTimeout", "3");
        p.setProperty("socketTimeout", "10");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", p);
    }

    /** One writable leader (the key holder), every other running member a streaming replica of it. */
    public boolean healthy() {
        Optional<String> l = leader();
        if (l.isEmpty() || !node(l.get()).running() || get(node(l.get()), "/primary") != 200) {
            return false;
        }
        for (Node n : nodes.values()) {
            if (n.running() && !n.name.equals(l.get())
                    && get(n, "/replica?replication_state=streaming") != 200) {
                return false;
            }
        }
        return true;
    }

    /** Whether an agent that was started has exited (a test should stop waiting for health then). */
    public boolean anAgentDied() {
        return nodes.values().stream().anyMatch(n -> n.process != null && !n.process.isAlive() && !n.stopped);
    }

    /** The last lines of every agent's log, for a failing test's report. */
    public String logs(int lines) {
        StringBuilder sb = new StringBuilder();
        sb.append("leader key: ").append(leader().orElse("none")).append('\n');
        for (Node n : nodes.values()) {
            sb.append(n.name).append(n.running() ? " running" : " not running").append(": /patroni -> ")
                    .append(n.running() ? call(n, "GET", "/patroni", null, false).body() : "-").append('\n');
        }
        for (Node n : nodes.values()) {
            sb.append("---- ").append(n.name).append(" ----\n");
            try {
                List<String> all = Files.readAllLines(n.log);
                all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> sb.append(l).append('\n'));
            } catch (IOException e) {
                sb.append("(no log)\n");
            }
        }
        return sb.toString();
    }

    /**
     * Stops every agent and PostgreSQL and etcd, and deletes the folder; with
     * {@code -Dpgha.bench.keepLogs=true} the agents' logs and configs stay (for a trace).
     */
    @Override
    public void close() {
        for (Node n : nodes.values()) {
            if (n.process != null && n.process.isAlive()) {
                n.process.destroy();
            }
        }
        for (Node n : nodes.values()) {
            try {
                if (n.process != null && !n.process.waitFor(30, TimeUnit.SECONDS)) {
                    n.process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            postmasterPid(n).ifPresent(LocalCluster::kill9);
            n.etcdLink.close();
        }
        etcd.close();
        if (Boolean.getBoolean("pgha.bench.keepLogs")) {
            for (Node n : nodes.values()) {
                deleteTree(n.dataDir);
            }
            System.out.println("agent logs kept under " + root);
        } else {
            deleteTree(root);
        }
    }

    private static void deleteTree(Path p) {
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A response for a member that did not answer. */
    private record FailedResponse(String error) implements HttpResponse<String> {
        @Override public int statusCode() { return -1; }
        @Override public HttpRequest request() { return null; }
        @Override public Optional<HttpResponse<String>> previousResponse() { return Optional.empty(); }
        @Override public java.net.http.HttpHeaders headers() { return java.net.http.HttpHeaders.of(Map.of(), (a, b) -> true); }
        @Override public String body() { return error; }
        @Override public Optional<javax.net.ssl.SSLSession> sslSession() { return Optional.empty(); }
        @Override public URI uri() { return null; }
        @Override public HttpClient.Version version() { return HttpClient.Version.HTTP_1_1; }
    }
}
