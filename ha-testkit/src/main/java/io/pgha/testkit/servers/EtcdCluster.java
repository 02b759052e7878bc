package io.pgha.testkit.servers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * One or more real etcd members on 127.0.0.1, each on free ports of its own, in a fresh temporary
 * folder (on {@code /dev/shm} when there is one: etcd fsyncs every write). Close it to kill every
 * member and delete the folder.
 *
 * <pre>{@code
 * try (EtcdCluster etcd = EtcdCluster.start(3)) {
 *     EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrls()).build();
 *     etcd.member(etcd.leaderIndex()).kill();
 *     ...
 * }
 * }</pre>
 */
public final class EtcdCluster implements AutoCloseable {
    private static final AtomicInteger CLUSTERS = new AtomicInteger();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final Path root;
    private final List<EtcdProcess> members;

    private EtcdCluster(Path root, List<EtcdProcess> members) {
        this.root = root;
        this.members = List.copyOf(members);
    }

    /** A single-member etcd, started and healthy. */
    public static EtcdCluster single() {
        return start(1);
    }

    /** An etcd cluster of {@code size} members, started and healthy (it has a leader). */
    public static EtcdCluster start(int size) {
        return start(size, List.of());
    }

    /** Like {@link #start(int)}, with extra etcd flags for every member (e.g. {@code --auto-compaction-retention}). */
    public static EtcdCluster start(int size, List<String> extraArgs) {
        return start(size, extraArgs, "http");
    }

    /**
     * One member whose client URL is https, serving {@code tls}'s server certificate and requiring
     * a client certificate signed by its CA ({@code --client-cert-auth}). Peers stay on plain http.
     */
    public static EtcdCluster startTls(EtcdTls tls) {
        return start(1, List.of("--cert-file", tls.serverCertificate().toString(), "--key-file", tls.serverKey().toString(),
                "--trusted-ca-file", tls.ca().toString(), "--client-cert-auth"), "https");
    }

    private static EtcdCluster start(int size, List<String> extraArgs, String scheme) {
        if (size < 1) {
            throw new IllegalArgumentException("size must be >= 1");
        }
        EtcdProcess.binary(); // fail first, with the install hint, if there is no etcd
        Path root;
        try {
            root = Files.createTempDirectory(dataRoot(), "pgha-etcd-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String token = "pgha-" + ProcessHandle.current().pid() + "-" + CLUSTERS.incrementAndGet();
        int[] clientPorts = new int[size];
        int[] peerPorts = new int[size];
        List<ServerSocket> held = new ArrayList<>();
        try {
            // hold every port until all are chosen, so no two members get the same one
            for (int i = 0; i < size; i++) {
                clientPorts[i] = hold(held);
                peerPorts[i] = hold(held);
            }
        } finally {
            held.forEach(EtcdCluster::closeQuietly);
        }
        List<String> initial = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            initial.add("e" + i + "=http://127.0.0.1:" + peerPorts[i]);
        }
        String initialCluster = String.join(",", initial);
        List<EtcdProcess> members = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            members.add(new EtcdProcess("e" + i, scheme, "127.0.0.1", clientPorts[i], peerPorts[i], root.resolve("e" + i + ".data"),
                    root.resolve("e" + i + ".log"), initialCluster, token, extraArgs));
        }
        EtcdCluster c = new EtcdCluster(root, members);
        try {
            members.forEach(EtcdProcess::start);
            for (EtcdProcess m : members) {
                m.awaitHealthy(START_TIMEOUT);
            }
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    private static Path dataRoot() throws IOException {
        String configured = System.getProperty("pgha.etcd.dataRoot");
        if (configured != null) {
            return Files.createDirectories(Paths.get(configured));
        }
        Path shm = Paths.get("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Paths.get(System.getProperty("java.io.tmpdir"));
    }

    private static int hold(List<ServerSocket> held) {
        try {
            ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
            held.add(s);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A port on 127.0.0.1 with nothing listening (for "unreachable" tests). */
    public static int closedPort() {
        List<ServerSocket> held = new ArrayList<>();
        int port = hold(held);
        held.forEach(EtcdCluster::closeQuietly);
        return port;
    }

    private static void closeQuietly(ServerSocket s) {
        try {
            s.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    public int size() {
        return members.size();
    }

    public EtcdProcess member(int i) {
        return members.get(i);
    }

    public List<EtcdProcess> members() {
        return members;
    }

    /** Every member's client URL. */
    public List<String> clientUrls() {
        return members.stream().map(EtcdProcess::clientUrl).collect(Collectors.toList());
    }

    /** The first member's client URL (the only one of a single-member cluster). */
    public String clientUrl() {
        return members.get(0).clientUrl();
    }

    /** Waits until every running member is healthy again (after a restart). */
    public void awaitHealthy() {
        for (EtcdProcess m : members) {
            if (m.isRunning()) {
                m.awaitHealthy(START_TIMEOUT);
            }
        }
    }

    /**
     * The index of the current raft leader, asked from the running members through etcd's
     * JSON gateway ({@code /v3/maintenance/status}).
     */
    public int leaderIndex() {
        for (EtcdProcess m : members) {
            if (!m.isRunning()) {
                continue;
            }
            try {
                String body = post(m.clientUrl() + "/v3/maintenance/status", "{}");
                String self = field(body, "member_id");
                String leader = field(body, "leader");
                if (leader == null || "0".equals(leader)) {
                    continue;
                }
                if (leader.equals(self)) {
                    return members.indexOf(m);
                }
                for (EtcdProcess other : members) {
                    if (other != m && other.isRunning()) {
                        String otherSelf = field(post(other.clientUrl() + "/v3/maintenance/status", "{}"), "member_id");
                        if (leader.equals(otherSelf)) {
                            return members.indexOf(other);
                        }
                    }
                }
            } catch (IOException e) {
                // try the next member
            }
        }
        throw new IllegalStateException("no etcd member reports a leader");
    }

    /** Prometheus text from a member's {@code /metrics}. */
    public String metrics(int i) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(member(i).clientUrl() + "/metrics"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return r.body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String post(String url, String json) throws IOException {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2))
                    .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
            return r.body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"?([0-9]+)\"?").matcher(json);
        return m.find() ? m.group(1) : null;
    }

    /** Kills every member and deletes the data folder. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (EtcdProcess m : members) {
            try {
                m.kill();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temp folder is not worth failing a test for
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return "EtcdCluster" + members;
    }
}
