package io.pgha.dcs.zookeeper;

import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

/** What the tests of this module share: reaching into a session's ZooKeeper handle, raw reads, listeners. */
final class ZkTestSupport {
    private ZkTestSupport() {
    }

    /** The ZooKeeper handle a session uses right now. */
    static ZooKeeper handle(DcsSession s) {
        try {
            return ((ZkSession) s).connection().client().getZookeeperClient().getZooKeeper();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static long sessionId(DcsSession s) {
        return ((ZkSession) s).connection().connectedSessionId();
    }

    /** The port of the server (or proxy) a handle is connected to, or -1. */
    static int remotePort(ZooKeeper zk) {
        try {
            Method m = ZooKeeper.class.getDeclaredMethod("testableRemoteSocketAddress");
            m.setAccessible(true);
            InetSocketAddress a = (InetSocketAddress) m.invoke(zk);
            return a == null ? -1 : a.getPort();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Ends a session on the server, as its expiry would: a second client joins the session with its
     * id and password and closes it. The server deletes the session's ephemeral nodes at once; the
     * original client learns it at its next contact.
     */
    static void expireOnServer(String connectString, ZooKeeper victim) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper impostor = new ZooKeeper(connectString, 10_000, e -> {
            if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                connected.countDown();
            }
        }, victim.getSessionId(), victim.getSessionPasswd());
        try {
            if (!connected.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("could not join session 0x" + Long.toHexString(victim.getSessionId()));
            }
        } finally {
            impostor.close();
        }
    }

    /** A plain Curator client for looking at znodes the way another tool would. */
    static CuratorFramework rawClient(String connectString) {
        CuratorFramework c = CuratorFrameworkFactory.builder().connectString(connectString).sessionTimeoutMs(10_000)
                .connectionTimeoutMs(5_000).retryPolicy(new RetryOneTime(100)).build();
        c.start();
        try {
            if (!c.blockUntilConnected(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("raw client: no connection to " + connectString);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return c;
    }

    /**
     * Whether the server on this client port leads the ensemble, from its answer to the {@code srvr}
     * four-letter command (on ZooKeeper's default whitelist): its {@code Mode:} line says
     * {@code leader}, {@code follower} or {@code standalone}.
     */
    static boolean isLeader(int clientPort) {
        try (Socket s = new Socket("127.0.0.1", clientPort)) {
            s.setSoTimeout(5_000);
            OutputStream out = s.getOutputStream();
            out.write("srvr".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            if (!answer.contains("Mode:")) {
                throw new IllegalStateException("no Mode in the srvr answer of port " + clientPort + ": " + answer);
            }
            return answer.contains("Mode: leader");
        } catch (IOException e) {
            throw new IllegalStateException("srvr on port " + clientPort + " failed", e);
        }
    }

    /** One session and one write, so that a test's first call does not pay for a fresh server's first transaction. */
    static void warmUp(String connectString) {
        try (CuratorFramework c = rawClient(connectString)) {
            c.create().forPath("/warm-up");
            c.delete().forPath("/warm-up");
        } catch (Exception e) {
            throw new IllegalStateException("warming up ZooKeeper at " + connectString + " failed", e);
        }
    }

    static Optional<Stat> stat(CuratorFramework raw, String path) {
        try {
            raw.sync().forPath(path);
            return Optional.ofNullable(raw.checkExists().forPath(path));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static <T> T get(CompletionStage<T> stage, Duration max) {
        try {
            return stage.toCompletableFuture().get(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError("no answer within " + max.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The failure of a stage, or an AssertionError if it succeeded. */
    static Throwable failure(CompletionStage<?> stage, Duration max) {
        try {
            stage.toCompletableFuture().get(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError("no answer within " + max.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        throw new AssertionError("the call succeeded");
    }

    /** Remembers what a listener heard, with the time it heard it. */
    static final class Recorder implements DcsListener {
        record Heard(long nanos, Optional<String> path) {
        }

        final List<Heard> changes = new CopyOnWriteArrayList<>();
        final List<String> lost = new CopyOnWriteArrayList<>();

        @Override
        public void clusterChanged(Optional<String> path) {
            changes.add(new Heard(System.nanoTime(), path));
        }

        @Override
        public void leaseLost(String reason) {
            lost.add(reason);
        }

        boolean heard(String path) {
            return changes.stream().anyMatch(h -> h.path().equals(Optional.of(path)));
        }

        boolean heardUnknown() {
            return changes.stream().anyMatch(h -> h.path().isEmpty());
        }
    }
}
