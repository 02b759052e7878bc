package io.pgha.testkit.servers;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One real etcd server process (Debian's {@code etcd-server}), started by a test on loopback ports
 * with a data directory of its own. {@link #kill()} is {@code kill -9}, {@link #stop()} a
 * graceful stop, {@link #pause()} {@code SIGSTOP}; {@link #start()} starts it again on the same
 * ports and data. Every process still running when the JVM exits is killed by a shutdown hook, so a
 * crashed test run leaves no etcd behind.
 *
 * <p>Usually built through {@link EtcdCluster}. The binary is looked up in the system property
 * {@code pgha.etcd.binary}, the environment variable {@code ETCD_BINARY}, {@code /usr/bin/etcd},
 * {@code /usr/local/bin/etcd} and the {@code PATH}.
 */
public final class EtcdProcess implements AutoCloseable {
    /** How to get the binary, in the one message a test run without it fails with. */
    public static final String INSTALL_HINT = "the etcd server binary was not found: install it with "
            + "`apt-get install -y etcd-server` (Debian/Ubuntu; etcd 3.4 or newer), or point -Dpgha.etcd.binary "
            + "(or ETCD_BINARY) at one";

    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Process p : LIVE) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }, "etcd-process-reaper"));
    }

    private final String name;
    private final String scheme;
    private final String host;
    private final int clientPort;
    private final int peerPort;
    private final Path dataDir;
    private final Path logFile;
    private final List<String> command;
    private volatile Process process;

    EtcdProcess(String name, String scheme, String host, int clientPort, int peerPort, Path dataDir, Path logFile,
                String initialCluster, String clusterToken, List<String> extraArgs) {
        this.name = name;
        this.scheme = scheme;
        this.host = host;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.dataDir = dataDir;
        this.logFile = logFile;
        List<String> c = new ArrayList<>(List.of(binary().toString(),
                "--name", name,
                "--data-dir", dataDir.toString(),
                "--listen-client-urls", clientUrl(),
                "--advertise-client-urls", clientUrl(),
                "--listen-peer-urls", peerUrl(),
                "--initial-advertise-peer-urls", peerUrl(),
                "--initial-cluster", initialCluster,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", clusterToken,
                // etcd's defaults, spelled out: leases shorter than 1.5 x election timeout are raised
                "--heartbeat-interval", "100",
                "--election-timeout", "1000",
                "--logger", "zap",
                "--log-level", "warn"));
        c.addAll(extraArgs);
        this.command = List.copyOf(c);
    }

    /** The etcd binary, or an {@link IllegalStateException} with {@link #INSTALL_HINT}. */
    public static Path binary() {
        Optional<String> configured = Optional.ofNullable(System.getProperty("pgha.etcd.binary"))
                .or(() -> Optional.ofNullable(System.getenv("ETCD_BINARY")));
        if (configured.isPresent()) {
            // an explicit choice is not second-guessed with another etcd found elsewhere
            Path p = Paths.get(configured.get());
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
            throw new IllegalStateException("no executable etcd at " + p + " (from -Dpgha.etcd.binary or ETCD_BINARY); "
                    + "install one with `apt-get install -y etcd-server`");
        }
        List<String> candidates = new ArrayList<>();
        candidates.add("/usr/bin/etcd");
        candidates.add("/usr/local/bin/etcd");
        for (String dir : Optional.ofNullable(System.getenv("PATH")).orElse("").split(":")) {
            if (!dir.isEmpty()) {
                candidates.add(dir + "/etcd");
            }
        }
        for (String c : candidates) {
            Path p = Paths.get(c);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        throw new IllegalStateException(INSTALL_HINT);
    }

    public String name() {
        return name;
    }

    /** {@code http://host:port} (or https) of the client listener. */
    public String clientUrl() {
        return scheme + "://" + host + ":" + clientPort;
    }

    String peerUrl() {
        return "http://" + host + ":" + peerPort;
    }

    public int clientPort() {
        return clientPort;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path logFile() {
        return logFile;
    }

    public boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** The OS process id, while running. */
    public long pid() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            throw new IllegalStateException(name + " is not running");
        }
        return p.pid();
    }

    /** Starts the process (again, after a kill or stop: same ports, same data). Returns at once; see {@link #awaitHealthy}. */
    public synchronized void start() {
        if (isRunning()) {
            throw new IllegalStateException(name + " is already running");
        }
        try {
            Files.createDirectories(dataDir.getParent());
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            process = pb.start();
            LIVE.add(process);
        } catch (IOException e) {
            throw new IllegalStateException("could not start " + command.get(0) + ": " + e.getMessage(), e);
        }
    }

    /**
     * Waits until the member answers {@code /health} with true (it has a raft leader). A member
     * with TLS client URLs is only waited for until it accepts connections.
     */
    public void awaitHealthy(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            Process p = process;
            if (p == null || !p.isAlive()) {
                throw new IllegalStateException(name + " exited with " + (p == null ? "?" : p.exitValue()) + "; its log:\n" + logTail());
            }
            if ("https".equals(scheme)) {
                try (java.net.Socket s = new java.net.Socket()) {
                    s.connect(new java.net.InetSocketAddress(host, clientPort), 500);
                    return;
                } catch (IOException e) {
                    last = e.toString();
                    sleep(50);
                    continue;
                }
            }
            try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(clientUrl() + "/health"))
                        .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
                last = r.statusCode() + " " + r.body();
                if (r.statusCode() == 200 && r.body().contains("\"health\":\"true\"")) {
                    return;
                }
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            sleep(50);
        }
        throw new IllegalStateException(name + " was not healthy within " + timeout + " (last: " + last + "); its log:\n" + logTail());
    }

    /** {@code kill -9} (the whole process tree), waiting until it is gone. */
    public synchronized void kill() {
        Process p = process;
        if (p == null) {
            return;
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        waitFor(p, Duration.ofSeconds(10));
        LIVE.remove(p);
    }

    /** {@code SIGTERM}, then {@code kill -9} if it has not exited within 5 s. */
    public synchronized void stop() {
        Process p = process;
        if (p == null) {
            return;
        }
        resume();
        p.destroy();
        if (!waitFor(p, Duration.ofSeconds(5))) {
            kill();
        }
        LIVE.remove(p);
    }

    /** {@code SIGSTOP}: the process stays, its sockets stay open, it answers nothing. */
    public void pause() {
        signal("STOP");
    }

    /** {@code SIGCONT} after {@link #pause()}. */
    public void resume() {
        signal("CONT");
    }

    private void signal(String sig) {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        try {
            Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).redirectErrorStream(true).start();
            k.waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new IllegalStateException("could not send SIG" + sig + " to " + name, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The last lines of the process's output. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Kills the process. The data directory belongs to whoever made it (see {@link EtcdCluster#close()}). */
    @Override
    public void close() {
        kill();
    }

    private static boolean waitFor(Process p, Duration d) {
        try {
            return p.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "etcd " + name + " at " + clientUrl() + (isRunning() ? " (running)" : " (stopped)");
    }
}
