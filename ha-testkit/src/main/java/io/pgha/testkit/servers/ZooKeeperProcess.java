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
 * A standalone ZooKeeper server in a process of its own: {@code QuorumPeerMain} from the
 * zookeeper 3.9 jar, which must be on the caller's own class path, on a free loopback port, in a
 * temp folder, with the admin server off. Always killed by {@link #close()} (and by a shutdown
 * hook if the JVM exits first). Uses only the JDK.
 */
public final class ZooKeeperProcess implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final Process process;
    private final Thread killer;

    private ZooKeeperProcess(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
        this.killer = new Thread(process::destroyForcibly, "kill-zookeeper-" + port);
        Runtime.getRuntime().addShutdownHook(killer);
    }

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
        cfg.put("4lw.commands.whitelist", "ruok,srvr,stat");
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
        cmd.add("-cp");
        cmd.add(serverClassPath());
        cmd.add("org.apache.zookeeper.server.quorum.QuorumPeerMain");
        cmd.add(conf.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("zookeeper.log").toFile()).start();
        ZooKeeperProcess zk = new ZooKeeperProcess(dir, port, p);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < until) {
            if (!p.isAlive()) {
                String log = Files.readString(dir.resolve("zookeeper.log"));
                zk.close();
                throw new IOException("ZooKeeper exited with " + p.exitValue() + ":\n" + log);
            }
            if ("imok".equals(zk.fourLetterWordOrNull("ruok"))) {
                return zk;
            }
            Thread.sleep(50);
        }
        zk.close();
        throw new IOException("ZooKeeper did not answer 'ruok' within 20 s");
    }

    /** The jars of this test's class path (surefire puts the real one in java.class.path). */
    private static String serverClassPath() {
        String cp = System.getProperty("java.class.path");
        StringBuilder out = new StringBuilder();
        for (String e : cp.split(File.pathSeparator)) {
            if (e.endsWith(".jar")) {
                out.append(out.length() == 0 ? "" : File.pathSeparator).append(e);
            }
        }
        if (!out.toString().contains("zookeeper-3.9")) {
            throw new IllegalStateException("no zookeeper jar on the class path: " + cp);
        }
        return out.toString();
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    public String connectString() {
        return "127.0.0.1:" + port;
    }

    public long pid() {
        return process.pid();
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

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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

}
