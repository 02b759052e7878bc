package io.pgha.testkit.servers;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real Consul agent for tests and test programs: {@code consul agent -dev} on free loopback
 * ports, with {@code session_ttl_min = "1s"} so that short session TTLs can be tested, in a temp
 * folder; or, from {@link #startWithData()}, a single Consul server that keeps its data on disk, so
 * that it comes back from {@link #stop()} and {@link #restart()} with its keys and sessions. Always
 * stop it ({@link #close()}; try-with-resources, or dcs-consul's {@code ConsulAgentExtension} in
 * tests); a shutdown hook and a watchdog process also kill it if the JVM dies first. Uses only the
 * JDK.
 *
 * <p>The binary: {@code -Dpgha.consul.binary} or {@code $PGHA_CONSUL_BINARY} if set, else
 * {@code consul} in {@code $PGHA_CONSUL_HOME} (default {@code ~/.cache/pgha/consul}), which
 * {@code dcs-consul/fetch-consul.sh} fills on first use (Debian bullseye's consul 1.8.7).
 */
public final class ConsulAgent implements AutoCloseable {
    private static final AtomicInteger NODES = new AtomicInteger();
    private static final Object FETCH = new Object();
    private static final List<ConsulAgent> RUNNING = new ArrayList<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            List<ConsulAgent> left;
            synchronized (RUNNING) {
                left = new ArrayList<>(RUNNING);
            }
            left.forEach(ConsulAgent::kill);
        }, "consul-agent-reaper"));
    }

    private final Path binary;
    private final Path dir;
    private final String extraHcl;
    private final String node;
    private int httpPort;
    private int serfLanPort;
    private int serfWanPort;
    private int serverPort;
    private int httpsPort;
    private final String token;
    /** A server that writes its state to {@code dir/data} (not {@code -dev}, which keeps it in memory only). */
    private final boolean keepsData;
    /** The agent's {@code -log-level}. */
    private String logLevel = "warn";
    private Process process;
    private Process watchdog;

    private ConsulAgent(String extraHcl, boolean https, String token) {
        this(extraHcl, https, token, false);
    }

    private ConsulAgent(String extraHcl, boolean https, String token, boolean keepsData) {
        this.keepsData = keepsData;
        this.binary = binary();
        this.extraHcl = extraHcl;
        this.token = token;
        this.node = "pgha-test-" + ProcessHandle.current().pid() + "-" + NODES.incrementAndGet();
        try {
            this.dir = Files.createTempDirectory("pgha-consul-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (https) {
            this.httpsPort = -2; // allocated with the others
        }
    }

    /** Starts an agent with the default configuration; ready (it has a Raft leader) when this returns. */
    public static ConsulAgent start() {
        return start("");
    }

    /** Starts an agent with extra HCL configuration (ACLs, TLS, ...). */
    public static ConsulAgent start(String extraHcl) {
        ConsulAgent a = new ConsulAgent(extraHcl, false, null);
        a.launchWithFreshPorts();
        return a;
    }

    /**
     * Starts a single Consul server (a one-member "cluster", {@code -server -bootstrap-expect 1},
     * not {@code -dev}) that keeps its Raft log and snapshots in its folder: after {@link #stop()}
     * or {@link #kill()}, {@link #restart()} brings it back on the same ports with its keys and
     * sessions, as a real server's restart does. Ready (it has elected itself) when this returns.
     */
    public static ConsulAgent startWithData() {
        ConsulAgent a = new ConsulAgent("", false, null, true);
        a.launchWithFreshPorts();
        return a;
    }

    /**
     * Starts an agent with extra HCL configuration that logs at {@code logLevel} ({@code "debug"}
     * logs every HTTP request: method, URL, client address and latency) into {@link #logLines()}.
     */
    public static ConsulAgent startLogging(String extraHcl, String logLevel) {
        ConsulAgent a = new ConsulAgent(extraHcl, false, null);
        a.logLevel = logLevel;
        a.launchWithFreshPorts();
        return a;
    }

    /** Starts an agent whose ACLs deny everything to anyone without a token; {@code masterToken} may do anything. */
    public static ConsulAgent startWithAcls(String masterToken) {
        String hcl = "acl {\n  enabled = true\n  default_policy = \"deny\"\n  enable_token_persistence = false\n"
                + "  tokens {\n    master = \"" + masterToken + "\"\n    agent = \"" + masterToken + "\"\n  }\n}\n";
        ConsulAgent a = new ConsulAgent(hcl, false, masterToken);
        a.launchWithFreshPorts();
        return a;
    }

    /** Starts an agent that also serves HTTPS on {@link #httpsPort()}; {@code extraHcl} names the certificate files. */
    public static ConsulAgent startWithHttps(String extraHcl) {
        ConsulAgent a = new ConsulAgent(extraHcl, true, null);
        a.launchWithFreshPorts();
        return a;
    }

    /** The HTTP API's URL, {@code http://127.0.0.1:PORT}. */
    public String url() {
        return "http://127.0.0.1:" + httpPort;
    }

    public int httpPort() {
        return httpPort;
    }

    public int httpsPort() {
        return httpsPort;
    }

    /** The agent's folder (its config file and log). */
    public Path dir() {
        return dir;
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** The agent's process id, while it runs. */
    public synchronized long pid() {
        if (process == null) {
            throw new IllegalStateException("the agent is not running");
        }
        return process.pid();
    }

    /** Graceful stop: SIGTERM, then SIGKILL if it has not exited within 10 s. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        resumeQuietly();
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        reaped();
    }

    private void resumeQuietly() {
        try {
            new ProcessBuilder("kill", "-CONT", String.valueOf(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // a stopped process still dies of SIGKILL below
        }
    }

    /** A crash: SIGKILL. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        reaped();
    }

    /** Freezes the agent (SIGSTOP): it accepts connections but never answers, like a hung server. */
    public synchronized void pause() {
        signal("STOP");
    }

    /** Thaws a paused agent (SIGCONT). */
    public synchronized void resume() {
        signal("CONT");
    }

    private void signal(String sig) {
        if (process == null) {
            throw new IllegalStateException("the agent is not running");
        }
        try {
            Process k = new ProcessBuilder("kill", "-" + sig, String.valueOf(process.pid())).start();
            k.waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A plain HTTP call to the agent's API (for tests that look behind the Dcs): the status and the body. */
    public HttpResponse<String> http(String method, String path, String body) {
        return http(method, path, body == null ? null : body.getBytes(StandardCharsets.UTF_8), null);
    }

    /** A plain HTTP call with a binary body and an optional ACL token. */
    public HttpResponse<String> http(String method, String path, byte[] body, String token) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url() + path)).timeout(Duration.ofSeconds(5))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
            if (token != null) {
                b.header("X-Consul-Token", token);
            }
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Starts the agent again on the same ports, stopping it first if it runs. A {@code -dev} agent
     * comes back empty; one from {@link #startWithData()} comes back with its data.
     */
    public synchronized void restart() {
        if (process != null) {
            stop();
        }
        IOException last = null;
        for (int attempt = 0; attempt < 20; attempt++) {
            try {
                launch();
                return;
            } catch (IOException e) {
                // the old agent's ports may take a moment to be free again
                last = e;
                sleepQuietly(250);
            }
        }
        throw new IllegalStateException("consul agent did not come back on its ports: " + last.getMessage() + "\n" + logTail());
    }

    /** Stops the agent and deletes its folder. */
    @Override
    public synchronized void close() {
        stop();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException e) {
            // a temp folder left behind is harmless
        }
    }

    /** Every line the agent has logged so far (at its log level; WARN by default), across restarts. */
    public List<String> logLines() {
        try {
            return Files.readAllLines(dir.resolve("agent.log"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The last lines of the agent's log, for failure messages. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("agent.log"), StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    // ------------------------------------------------------------------------------------------

    private void launchWithFreshPorts() {
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int[] p = freePorts(httpsPort == -2 || httpsPort > 0 ? 5 : 4);
            httpPort = p[0];
            serfLanPort = p[1];
            serfWanPort = p[2];
            serverPort = p[3];
            if (p.length > 4) {
                httpsPort = p[4];
            }
            try {
                launch();
                return;
            } catch (IOException e) {
                last = e; // a port was taken in between: try others
            }
        }
        close();
        throw new IllegalStateException("could not start a consul agent: " + last.getMessage());
    }

    private void launch() throws IOException {
        String hcl = "session_ttl_min = \"1s\"\n"
                // Raft timings as -dev has them (a restarted server leads again within about 2 s, not 5), and no update check on the network
                + (keepsData ? "performance {\n  raft_multiplier = 1\n}\ndisable_update_check = true\n" : "")
                + (httpsPort > 0 ? "ports { https = " + httpsPort + " }\n" : "")
                + extraHcl + "\n";
        Files.writeString(dir.resolve("agent.hcl"), hcl);
        List<String> cmd = new ArrayList<>(keepsData
                ? List.of(binary.toString(), "agent", "-server", "-bootstrap-expect", "1")
                : List.of(binary.toString(), "agent", "-dev"));
        cmd.addAll(List.of("-bind", "127.0.0.1", "-client", "127.0.0.1",
                "-http-port", String.valueOf(httpPort), "-dns-port", "-1", "-grpc-port", "-1",
                "-serf-lan-port", String.valueOf(serfLanPort), "-serf-wan-port", String.valueOf(serfWanPort),
                "-server-port", String.valueOf(serverPort),
                "-node", node, "-data-dir", dir.resolve("data").toString(),
                "-config-file", dir.resolve("agent.hcl").toString(), "-log-level", logLevel));
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("agent.log").toFile()))
                .start();
        synchronized (this) {
            process = p;
        }
        synchronized (RUNNING) {
            RUNNING.add(this);
        }
        watchdog = startWatchdog(p.pid());
        if (!awaitReady(p, Duration.ofSeconds(30))) {
            boolean died = !p.isAlive();
            kill();
            if (died) {
                throw new IOException("consul agent exited at start:\n" + logTail());
            }
            throw new IllegalStateException("consul agent had no leader after 30 s:\n" + logTail());
        }
    }

    /** Kills the agent if this JVM dies without stopping it (the shutdown hook does not run on SIGKILL). */
    private static Process startWatchdog(long agentPid) {
        long jvm = ProcessHandle.current().pid();
        String script = "while kill -0 " + jvm + " 2>/dev/null; do kill -0 " + agentPid + " 2>/dev/null || exit 0; sleep 1; done; "
                + "kill -9 " + agentPid + " 2>/dev/null";
        try {
            return new ProcessBuilder("sh", "-c", script).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            return null; // the shutdown hook still covers an orderly JVM exit
        }
    }

    private boolean awaitReady(Process p, Duration max) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline && p.isAlive()) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url() + "/v1/status/leader"))
                        .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().contains(":")) {
                    // sessions need the agent's node in the catalog, which anti-entropy adds just after the election
                    HttpRequest.Builder nb = HttpRequest.newBuilder(URI.create(url() + "/v1/catalog/node/" + node))
                            .timeout(Duration.ofSeconds(1));
                    if (token != null) {
                        nb.header("X-Consul-Token", token);
                    }
                    HttpResponse<String> n = http.send(nb.build(), HttpResponse.BodyHandlers.ofString());
                    if (n.statusCode() == 200 && n.body().contains("\"Node\"")) {
                        return true;
                    }
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            sleepQuietly(50);
        }
        return false;
    }

    private void reaped() {
        process = null;
        if (watchdog != null) {
            watchdog.destroy();
            watchdog = null;
        }
        synchronized (RUNNING) {
            RUNNING.remove(this);
        }
    }

    /** A loopback port nothing listens on (it was free a moment ago): for "unreachable agent" tests. */
    public static int closedPort() {
        return freePorts(1)[0];
    }

    private static int[] freePorts(int n) {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException e) {
                    // nothing to do
                }
            }
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ the binary

    /** The consul binary, fetched with {@code dcs-consul/fetch-consul.sh} the first time. */
    public static Path binary() {
        Optional<String> given = Optional.ofNullable(System.getProperty("pgha.consul.binary"))
                .or(() -> Optional.ofNullable(System.getenv("PGHA_CONSUL_BINARY")));
        if (given.isPresent()) {
            return Path.of(given.get());
        }
        Path home = Optional.ofNullable(System.getenv("PGHA_CONSUL_HOME")).map(Path::of)
                .orElse(Path.of(System.getProperty("user.home"), ".cache", "pgha", "consul"));
        Path bin = home.resolve("consul");
        synchronized (FETCH) {
            if (Files.isExecutable(bin)) {
                return bin;
            }
            Path script = fetchScript();
            try {
                Process p = new ProcessBuilder("bash", script.toString(), home.toString()).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0 || !Files.isExecutable(bin)) {
                    throw new IllegalStateException(script + " did not provide " + bin + ":\n" + out);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            return bin;
        }
    }

    /** dcs-consul/fetch-consul.sh, found from the working folder (this module's or another module's of the repo). */
    private static Path fetchScript() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path s = d.resolve("dcs-consul").resolve("fetch-consul.sh");
            if (Files.isRegularFile(s)) {
                return s;
            }
            Path here = d.resolve("fetch-consul.sh");
            if (Files.isRegularFile(here) && d.getFileName() != null && d.getFileName().toString().equals("dcs-consul")) {
                return here;
            }
        }
        throw new IllegalStateException("no consul binary and no dcs-consul/fetch-consul.sh above " + Path.of("").toAbsolutePath()
                + ": set -Dpgha.consul.binary or PGHA_CONSUL_BINARY");
    }
}
