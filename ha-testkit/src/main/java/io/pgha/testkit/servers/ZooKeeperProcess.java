package io.pgha.testkit.servers;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A standalone ZooKeeper server (a single-server "ensemble") in a process of its own, on a free
 * loopback port, in a temp folder, with the admin server off and the monitoring four-letter words on
 * ({@link #fourLetterWord}: {@code mntr}, {@code cons}, {@code wchs}, ...). Its log, at WARN, is
 * {@code zookeeper.log} in its folder ({@link #logLines()}). {@link #stop()} is a graceful stop,
 * {@link #kill()} {@code kill -9}, {@link #pause()} {@code SIGSTOP}; {@link #start()} starts it
 * again on the same port with the same data, so the sessions and znodes it had come back with it.
 * {@link #close()} kills it and deletes its folder (and a shutdown hook kills it if the JVM exits
 * first).
 *
 * <p>The server is {@code QuorumPeerMain} from the <em>caller's own class path</em>: the
 * {@code org.apache.zookeeper:zookeeper} jar (3.9) and its runtime dependencies must be on
 * {@code java.class.path} (a test of a module that depends on {@code dcs-zookeeper}, or a program
 * started with such a class path). This class itself uses only the JDK, so ha-testkit gains no
 * dependency.
 *
 * <p>A fresh server's first session and first transaction are slower than the next ones; tests
 * that time their first calls warm the server up with their own client first.
 */
public final class ZooKeeperProcess implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final List<String> command;
    private final Thread killer;
    private volatile Process process;

    private ZooKeeperProcess(Path dir, int port, List<String> command) {
        this.dir = dir;
        this.port = port;
        this.command = command;
        this.killer = new Thread(() -> {
            Process p = process;
            if (p != null) {
                p.destroyForcibly();
            }
        }, "kill-zookeeper-" + port);
        Runtime.getRuntime().addShutdownHook(killer);
    }

    /**
     * Starts a server with a short tick (500 ms; session timeouts from 1 s to 60 s) and
     * {@code extra} zoo.cfg entries on top; returns once it answers {@code ruok}.
     */
    public static ZooKeeperProcess start(Map<String, String> extra) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("pgha-zk-process");
        int port = freePort();
        Map<String, String> cfg = new LinkedHashMap<>();
        cfg.put("tickTime", "500");
        cfg.put("initLimit", "10");
        cfg.put("syncLimit", "5");
        cfg.put("dataDir", dir.resolve("data").toString());
        cfg.put("clientPort", Integer.toString(port));
        cfg.put("clientPortAddress", "127.0.0.1");
        cfg.put("admin.enableServer", "false");
        cfg.put("4lw.commands.whitelist", "ruok,srvr,stat,mntr,cons,wchs,wchc,dump");
        cfg.put("minSessionTimeout", "1000");
        cfg.put("maxSessionTimeout", "60000");
        // a 64 MB preallocated transaction log makes the first write of a fresh server slow on a busy disk
        cfg.put("preAllocSize", "1024");
        cfg.putAll(extra);
        Files.createDirectories(dir.resolve("data"));
        StringBuilder text = new StringBuilder();
        cfg.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
        Path conf = dir.resolve("zoo.cfg");
        Files.writeString(conf, text);
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx128m");
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        // a class path with logback (rather than slf4j-simple) would log everything at DEBUG without this
        Path logback = dir.resolve("logback.xml");
        Files.writeString(logback, "<configuration>\n  <appender name=\"OUT\" class=\"ch.qos.logback.core.ConsoleAppender\">\n"
                + "    <encoder><pattern>%d{HH:mm:ss.SSS} [%thread] %-5level %logger - %msg%n</pattern></encoder>\n  </appender>\n"
                + "  <root level=\"WARN\"><appender-ref ref=\"OUT\"/></root>\n</configuration>\n");
        cmd.add("-Dlogback.configurationFile=" + logback);
        cmd.add("-cp");
        cmd.add(serverClassPath());
        cmd.add("org.apache.zookeeper.server.quorum.QuorumPeerMain");
        cmd.add(conf.toString());
        ZooKeeperProcess zk = new ZooKeeperProcess(dir, port, List.copyOf(cmd));
        try {
            zk.launch();
        } catch (IOException | InterruptedException | RuntimeException e) {
            zk.close();
            throw e;
        }
        return zk;
    }

    /**
     * zoo.cfg entries (for {@link #start(Map)}) that open a secure client port serving TLS with
     * {@code certificates}' server certificate and requiring a client certificate their CA signed;
     * the plain client port stays open too. Everything is PEM: ZooKeeper reads a PEM key store as
     * the key and its certificate chain in one file, so this writes {@code server-bundle.pem} next
     * to the server key. The clients' certificates name no host, so the server does not check
     * their host names.
     */
    public static Map<String, String> secureClientPortConfig(EtcdTls certificates, int securePort) throws IOException {
        Path bundle = certificates.serverKey().resolveSibling("server-bundle.pem");
        Files.writeString(bundle, Files.readString(certificates.serverKey()) + Files.readString(certificates.serverCertificate()));
        Map<String, String> cfg = new LinkedHashMap<>();
        cfg.put("secureClientPort", Integer.toString(securePort));
        cfg.put("serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory");
        cfg.put("authProvider.x509", "org.apache.zookeeper.server.auth.X509AuthenticationProvider");
        cfg.put("ssl.keyStore.location", bundle.toString());
        cfg.put("ssl.keyStore.type", "PEM");
        cfg.put("ssl.trustStore.location", certificates.ca().toString());
        cfg.put("ssl.trustStore.type", "PEM");
        cfg.put("ssl.clientAuth", "need");
        cfg.put("ssl.clientHostnameVerification", "false");
        return cfg;
    }

    /**
     * Starts the server again after {@link #stop()} or {@link #kill()}: the same port, the same
     * data (its znodes and open sessions, whose timeouts the server counts again from its start).
     * Returns once it answers {@code ruok}.
     */
    public synchronized void start() {
        if (isRunning()) {
            throw new IllegalStateException("ZooKeeper on port " + port + " is already running");
        }
        try {
            launch();
        } catch (IOException e) {
            throw new IllegalStateException("could not start ZooKeeper again on port " + port + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting ZooKeeper", e);
        }
    }

    private void launch() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("zookeeper.log").toFile())).start();
        process = p;
        // a restart may find the port in TIME_WAIT or the old process's socket just closed: the server retries binding itself
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < until) {
            if (!p.isAlive()) {
                throw new IOException("ZooKeeper exited with " + p.exitValue() + ":\n" + logTail());
            }
            if ("imok".equals(fourLetterWordOrNull("ruok"))) {
                return;
            }
            Thread.sleep(50);
        }
        p.destroyForcibly();
        throw new IOException("ZooKeeper did not answer 'ruok' within 30 s:\n" + logTail());
    }

    /** The jars of the caller's class path (surefire puts the real one in java.class.path). */
    private static String serverClassPath() {
        String cp = System.getProperty("java.class.path");
        StringBuilder out = new StringBuilder();
        for (String e : cp.split(File.pathSeparator)) {
            if (e.endsWith(".jar")) {
                out.append(out.length() == 0 ? "" : File.pathSeparator).append(e);
            }
        }
        if (!out.toString().contains("zookeeper-3.9")) {
            throw new IllegalStateException("no zookeeper 3.9 jar on the class path (ZooKeeperProcess runs the server from it): " + cp);
        }
        return out.toString();
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** {@code 127.0.0.1:port}, for a client's connect string. */
    public String connectString() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** The server's folder: zoo.cfg, data/ and zookeeper.log. */
    public Path dir() {
        return dir;
    }

    public boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** The OS process id, while running. */
    public long pid() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            throw new IllegalStateException("ZooKeeper on port " + port + " is not running");
        }
        return p.pid();
    }

    /** Requests the server has received from all clients ({@code srvr}'s "Received"). */
    public long packetsReceived() throws IOException {
        String s = fourLetterWordOrNull("srvr");
        Matcher m = Pattern.compile("Received: (\\d+)").matcher(s == null ? "" : s);
        if (!m.find()) {
            throw new IOException("no 'Received' in srvr output: " + s);
        }
        return Long.parseLong(m.group(1));
    }

    /**
     * The server's answer to a four-letter word ({@code mntr}, {@code cons}, {@code wchs}, {@code wchc},
     * {@code dump}, {@code srvr}, {@code stat}, {@code ruok}), from a connection of its own (which
     * {@code cons} lists too).
     *
     * @throws IOException if the server does not answer
     */
    public String fourLetterWord(String word) throws IOException {
        String s = fourLetterWordOrNull(word);
        if (s == null) {
            throw new IOException("ZooKeeper on port " + port + " did not answer '" + word + "'");
        }
        return s;
    }

    private String fourLetterWordOrNull(String word) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            s.setSoTimeout(2000);
            OutputStream out = s.getOutputStream();
            out.write(word.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            return null;
        }
    }

    /** {@code SIGTERM} (after a {@code SIGCONT}, should it be paused), then {@code kill -9} if it has not exited within 10 s. */
    public synchronized void stop() {
        Process p = process;
        if (p == null) {
            return;
        }
        resume();
        p.destroy();
        if (!waitFor(p, Duration.ofSeconds(10))) {
            p.destroyForcibly();
            waitFor(p, Duration.ofSeconds(10));
        }
    }

    /** {@code kill -9}, waiting until it is gone. */
    public synchronized void kill() {
        Process p = process;
        if (p == null) {
            return;
        }
        p.destroyForcibly();
        waitFor(p, Duration.ofSeconds(10));
    }

    /** {@code SIGSTOP}: the process stays, its socket stays open, it answers nothing. */
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
            new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).redirectErrorStream(true).start().waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new IllegalStateException("could not send SIG" + sig + " to ZooKeeper", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Every line the server has logged so far (WARN and above, and whatever it printed), across restarts. */
    public List<String> logLines() {
        try {
            return Files.readAllLines(dir.resolve("zookeeper.log"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The last lines of the server's output. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("zookeeper.log"), StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Kills the server and deletes its folder. */
    @Override
    public void close() {
        kill();
        try {
            Runtime.getRuntime().removeShutdownHook(killer);
        } catch (IllegalStateException e) {
            // shutting down already
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // a temp folder left behind is harmless
        }
    }

    private static boolean waitFor(Process p, Duration d) {
        try {
            return p.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public String toString() {
        return "ZooKeeper at " + connectString() + (isRunning() ? " (running)" : " (stopped)");
    }
}
