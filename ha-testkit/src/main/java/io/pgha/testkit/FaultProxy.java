package io.pgha.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy on loopback that can misbehave on command, to cut one node off from the store (or
 * from a peer) in real-process tests without root or network namespaces:
 * <ul>
 *   <li>{@link #pass()} forwards bytes both ways;</li>
 *   <li>{@link #blackhole()} stops moving bytes without closing anything, like a dropped link: the
 *       peers' calls hang until their timeouts, and what was sent is delivered after {@link #pass()},
 *       as TCP would;</li>
 *   <li>{@link #reset()} closes every connection with a reset and refuses new ones until {@link #pass()};</li>
 *   <li>{@link #delay(Duration)} forwards every chunk that much later.</li>
 * </ul>
 */
public final class FaultProxy implements AutoCloseable {
    private enum Mode { PASS, BLACKHOLE, RESET, DELAY }

    private final InetSocketAddress target;
    private final ServerSocket server;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Object modeLock = new Object();
    private volatile Mode mode = Mode.PASS;
    private volatile long delayNanos;
    private volatile boolean closed;

    private FaultProxy(InetSocketAddress target) throws IOException {
        this.target = Objects.requireNonNull(target);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "fault-proxy-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Listens on a free loopback port and forwards to {@code target}. */
    public static FaultProxy to(InetSocketAddress target) {
        try {
            return new FaultProxy(target);
        } catch (IOException e) {
            throw new IllegalStateException("fault proxy: cannot listen on loopback: " + e.getMessage(), e);
        }
    }

    public static FaultProxy to(String host, int port) {
        return to(new InetSocketAddress(host, port));
    }

    /** The port clients connect to. */
    public int port() {
        return server.getLocalPort();
    }

    /** {@code host:port} clients connect to. */
    public String address() {
        return "127.0.0.1:" + port();
    }

    public void pass() {
        setMode(Mode.PASS);
    }

    public void blackhole() {
        setMode(Mode.BLACKHOLE);
    }

    public void reset() {
        setMode(Mode.RESET);
        for (Socket s : sockets) {
            abort(s);
        }
    }

    public void delay(Duration d) {
        delayNanos = d.toNanos();
        setMode(Mode.DELAY);
    }

    private void setMode(Mode m) {
        synchronized (modeLock) {
            mode = m;
            modeLock.notifyAll();
        }
    }

    @Override
    public void close() {
        closed = true;
        setMode(Mode.RESET);
        try {
            server.close();
        } catch (IOException e) {
            // closing
        }
        for (Socket s : sockets) {
            abort(s);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            if (mode == Mode.RESET) {
                abort(client);
                continue;
            }
            Thread t = new Thread(() -> connect(client), "fault-proxy-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private void connect(Socket client) {
        sockets.add(client);
        Socket upstream = new Socket();
        try {
            awaitPassable();
            if (mode == Mode.RESET || closed) {
                abort(client);
                return;
            }
            upstream.connect(target, 5000);
            sockets.add(upstream);
            Thread back = new Thread(() -> pump(upstream, client), "fault-proxy-pump");
            back.setDaemon(true);
            back.start();
            pump(client, upstream);
        } catch (IOException e) {
            abort(client);
            abort(upstream);
        }
    }

    /** While black-holed, a new connection waits before it is even opened upstream. */
    private void awaitPassable() {
        synchronized (modeLock) {
            while (mode == Mode.BLACKHOLE && !closed) {
                try {
                    modeLock.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buf = new byte[16 * 1024];
        try {
            from.setSoTimeout(100);
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            while (!closed) {
                awaitPassable();
                if (mode == Mode.RESET) {
                    break;
                }
                int n;
                try {
                    n = in.read(buf);
                } catch (SocketTimeoutException e) {
                    continue;
                }
                if (n < 0) {
                    to.shutdownOutput();
                    return;
                }
                if (mode == Mode.DELAY && delayNanos > 0) {
                    Thread.sleep(delayNanos / 1_000_000, (int) (delayNanos % 1_000_000));
                }
                awaitPassable();
                if (mode == Mode.RESET) {
                    break;
                }
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // the connection ended
        }
        abort(from);
        abort(to);
    }

    private void abort(Socket s) {
        sockets.remove(s);
        try {
            if (!s.isClosed()) {
                s.setSoLinger(true, 0);
                s.close();
            }
        } catch (IOException e) {
            // already gone
        }
    }
}
