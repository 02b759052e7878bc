package io.pgha.dcs.zookeeper;

import io.pgha.spi.DcsException;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.support.StoreOutage;
import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.imps.CuratorFrameworkState;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.ConnectionStateListener;
import org.apache.zookeeper.ZooKeeper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link CuratorFramework} as this module uses it: Curator keeps the connection (it moves to
 * another server when one dies and replaces an expired session with a new one); the requests go
 * through the raw ZooKeeper handle, asynchronously, so that this class alone decides how long a call
 * may take and when it is retried. Curator's own blocking retry loops are not used, so they cannot
 * stretch a call beyond {@code retry_timeout}.
 *
 * <p>Sessions are followed by their id, not by Curator's state names: Curator's {@code LOST} may be
 * simulated by a client timer, may arrive after the replacement session is already connected, and
 * a {@code RECONNECTED} may carry a new session. What counts is whether the handle's session id
 * changed (two-leaders-after-reconnect, CURATOR-696) or the handle is dead.
 *
 * <p>An ensemble that cannot be reached is logged as the store's {@link StoreOutage}, shared
 * by its connections: one WARN line naming the cause when calls begin to fail, a reminder with the
 * count now and then, one INFO line when a call is answered again ("ZooKeeper at [h:2181] is
 * reachable again after 12.3 s, 12 failed calls"). A failure of a call begun before the newest
 * answer is not news and starts nothing, nor does an answer to a call begun before the newest
 * failure end anything.
 */
final class ZkConnection {
    private static final Logger LOG = LoggerFactory.getLogger(ZkConnection.class);
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final long RETRY_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    /** What a session hears about the connection. Called on Curator's or ZooKeeper's threads; must not block. */
    interface Events {
        /** Connected: for the first time, again after a disconnection, or with a new session. */
        void connected(ZooKeeper zk, boolean newSession);

        /** The session with this id is gone for certain (expired, or closed by us). */
        void sessionEnded(long sessionId, String reason);
    }

    /** One attempt of a call, on a connected handle; {@code attempt} counts from 0. */
    @FunctionalInterface
    interface Attempt<T> {
        CompletableFuture<T> run(ZooKeeper zk, int attempt);
    }

    private final String name;
    /** Makes a new client for an owned connection (ending a session means replacing the client); null when shared. */
    private final Supplier<CuratorFramework> factory;
    private volatile CuratorFramework client;
    private final boolean owned;
    private final ScheduledExecutorService timer;
    private final ExecutorService blocking;
    private final long stallNanos;
    private final Set<Events> listeners = new CopyOnWriteArraySet<>();
    private final ConnectionStateListener stateListener = (c, state) -> refresh(state);
    /** The store's "ZooKeeper unreachable" condition, shared by its connections. */
    private final StoreOutage outage;

    // guarded by this
    private boolean started;
    private boolean closed;
    private long knownSession;

    /**
     * @param stallNanos after how long without an answer a connected server is taken for hung and the
     *                   socket closed, so the client moves to another server of the ensemble; 0 never
     */
    private ZkConnection(String name, Supplier<CuratorFramework> factory, CuratorFramework client, ScheduledExecutorService timer,
                         ExecutorService blocking, long stallNanos, StoreOutage outage) {
        this.name = name;
        this.outage = outage;
        this.factory = factory;
        this.client = client;
        this.owned = factory != null;
        this.timer = timer;
        this.blocking = blocking;
        this.stallNanos = stallNanos;
    }

    /** A connection over clients of its own, made by {@code factory} (one now, another each time a session is ended). */
    static ZkConnection owned(String name, Supplier<CuratorFramework> factory, ScheduledExecutorService timer, ExecutorService blocking,
                              long stallNanos, StoreOutage outage) {
        return new ZkConnection(name, factory, factory.get(), timer, blocking, stallNanos, outage);
    }

    /** A connection over the service's own client, which is neither started nor closed here. */
    static ZkConnection shared(String name, CuratorFramework client, ScheduledExecutorService timer, ExecutorService blocking,
                               StoreOutage outage) {
        return new ZkConnection(name, null, client, timer, blocking, 0, outage);
    }

    /** A call that did not reach the ensemble, with the reason in one line for the outage's log line. */
    private static final class Unreached extends DcsUnreachableException {
        private static final long serialVersionUID = 1L;
        private final String reason;

        Unreached(String message, String reason, Throwable cause) {
            super(message, cause);
            this.reason = reason;
        }
    }

    boolean owned() {
        return owned;
    }

    CuratorFramework client() {
        return client;
    }

    void addListener(Events e) {
        listeners.add(e);
    }

    void removeListener(Events e) {
        listeners.remove(e);
    }

    /** Starts an owned client on first use (opening a session sends nothing, as the SPI asks). */
    private void ensureStarted() {
        synchronized (this) {
            if (started || closed) {
                return;
            }
            started = true;
        }
        client.getConnectionStateListenable().addListener(stateListener);
        if (owned) {
            client.start();
        }
    }

    /** The current handle if it is connected, else {@code null}. */
    private ZooKeeper connectedHandle() {
        if (!client.getZookeeperClient().isConnected()) {
            return null;
        }
        ZooKeeper zk = handle();
        return zk != null && zk.getState().isConnected() ? zk : null;
    }

    private ZooKeeper handle() {
        try {
            return client.getZookeeperClient().getZooKeeper();
        } catch (Exception e) {
            // a background connection problem Curator queued for the next caller; the next poll tries again
            LOG.debug("{}: no ZooKeeper handle: {}", name, e.toString());
            return null;
        }
    }

    /** The current session id if connected, else 0. */
    long connectedSessionId() {
        ZooKeeper zk = connectedHandle();
        return zk == null ? 0 : zk.getSessionId();
    }

    /**
     * Works out from the handle whether the session we knew ended, and whether we are connected
     * (again, or with a new session), and tells the listeners.
     */
    private void refresh(ConnectionState state) {
        ZooKeeper zk = handle();
        if (zk == null) {
            // no handle to look at (Curator handed us a queued background error instead): conclude nothing
            return;
        }
        long sid = zk.getSessionId();
        boolean alive = zk.getState().isAlive();
        boolean connected = zk.getState().isConnected() && client.getZookeeperClient().isConnected();
        long ended = 0;
        boolean newSession = false;
        boolean resumed = false;
        synchronized (this) {
            if (closed) {
                return;
            }
            if (knownSession != 0 && (sid != knownSession || !alive)) {
                ended = knownSession;
                knownSession = 0;
            }
            if (connected && sid != 0) {
                if (sid != knownSession) {
                    knownSession = sid;
                    newSession = true;
                } else if (state != null && state.isConnected()) {
                    resumed = true;
                }
            }
        }
        if (ended != 0) {
            String why = state == ConnectionState.LOST
                    ? "ZooKeeper session 0x" + Long.toHexString(ended) + " expired"
                    : "ZooKeeper session 0x" + Long.toHexString(ended) + " ended (replaced by "
                    + (sid == 0 ? "a new session" : "0x" + Long.toHexString(sid)) + ")";
            LOG.info("{}: {}", name, why);
            for (Events e : listeners) {
                e.sessionEnded(ended, why);
            }
        }
        if (newSession || resumed) {
            LOG.debug("{}: connected, session 0x{} ({})", name, Long.toHexString(sid), newSession ? "new" : "resumed");
            for (Events e : listeners) {
                e.connected(zk, newSession);
            }
        }
    }

    /**
     * Runs a call within a deadline. Each attempt waits for a connection first (the client may be
     * between servers); an attempt that fails on the connection is retried while time is left if
     * {@code idempotent}, and otherwise reported as unreachable (the outcome is unknown: the request
     * may have been applied). Whatever happens, the future completes by the deadline.
     */
    <T> CompletableFuture<T> call(String what, long deadlineNanos, boolean idempotent, Attempt<T> attempt) {
        CompletableFuture<T> result = new CompletableFuture<>();
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            result.completeExceptionally(unreachable(what, "no time left", null));
            return result;
        }
        LastError last = new LastError();
        long budgetMs = TimeUnit.NANOSECONDS.toMillis(left);
        ScheduledFuture<?> timeout = timer.schedule(() -> result.completeExceptionally(
                unreachable(what, "no answer within retry_timeout (" + budgetMs + " ms)", last.error)), left, TimeUnit.NANOSECONDS);
        long started = System.nanoTime();
        result.whenComplete((v, e) -> {
            timeout.cancel(false);
            if (e == null || Zk.unwrap(e) instanceof org.apache.zookeeper.KeeperException) {
                outage.answered(started);
            } else if (Zk.unwrap(e) instanceof Unreached u) {
                outage.failed(started, u.reason);
            }
        });
        try {
            ensureStarted();
            requireUsable();
        } catch (RuntimeException e) {
            result.completeExceptionally(e);
            return result;
        }
        tryOnce(what, idempotent, attempt, 0, result, last);
        return result;
    }

    private static final class LastError {
        volatile Throwable error;
    }

    private <T> void tryOnce(String what, boolean idempotent, Attempt<T> attempt, int n, CompletableFuture<T> result,
                             LastError last) {
        whenConnected(result).thenAccept(zk -> {
            if (result.isDone()) {
                return;
            }
            refresh(null);
            CompletableFuture<T> a;
            try {
                a = attempt.run(zk, n);
            } catch (RuntimeException e) {
                a = CompletableFuture.failedFuture(e);
            }
            ScheduledFuture<?> stall = watchForStall(zk, a);
            a.whenComplete((v, e) -> {
                if (stall != null) {
                    stall.cancel(false);
                }
                if (e == null) {
                    result.complete(v);
                    return;
                }
                Throwable c = Zk.unwrap(e);
                if (!Zk.isConnectionProblem(c)) {
                    result.completeExceptionally(c);
                    return;
                }
                last.error = c;
                if (!idempotent) {
                    result.completeExceptionally(unreachable(what, "the connection failed while the request was out; "
                            + "it may or may not have been applied", c));
                    return;
                }
                timer.schedule(() -> tryOnce(what, idempotent, attempt, n + 1, result, last), RETRY_BACKOFF_NANOS,
                        TimeUnit.NANOSECONDS);
            });
        });
    }

    /** A future for a connected handle, polled until {@code done} completes (at the call's deadline). */
    private CompletableFuture<ZooKeeper> whenConnected(CompletableFuture<?> done) {
        CompletableFuture<ZooKeeper> f = new CompletableFuture<>();
        poll(f, done);
        return f;
    }

    private void poll(CompletableFuture<ZooKeeper> f, CompletableFuture<?> done) {
        if (done.isDone()) {
            return;
        }
        ZooKeeper zk = connectedHandle();
        if (zk != null) {
            f.complete(zk);
            return;
        }
        try {
            timer.schedule(() -> poll(f, done), POLL_NANOS, TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            done.completeExceptionally(new DcsUnreachableException("the ZooKeeper store was closed"));
        }
    }

    /**
     * A server that accepted our connection but stopped answering (hung, partitioned, black-holed)
     * is noticed by the ZooKeeper client only after two thirds of the session timeout, which leaves
     * little room to reach another server before the session expires. A call that waited
     * {@code stallNanos} on a connected server closes the socket instead: the client reconnects to
     * the next server with the same session, and the call is retried there.
     */
    private ScheduledFuture<?> watchForStall(ZooKeeper zk, CompletableFuture<?> attempt) {
        if (stallNanos <= 0) {
            return null;
        }
        return timer.schedule(() -> {
            if (attempt.isDone() || handle() != zk || !zk.getState().isConnected()) {
                return;
            }
            LOG.warn("{}: ZooKeeper server did not answer within {} ms; moving to another server", name,
                    TimeUnit.NANOSECONDS.toMillis(stallNanos));
            try {
                zk.getTestable().closeSocket();
            } catch (IOException | RuntimeException e) {
                LOG.debug("{}: closing the socket failed: {}", name, e.toString());
            }
        }, stallNanos, TimeUnit.NANOSECONDS);
    }

    private void requireUsable() {
        synchronized (this) {
            if (closed) {
                throw new DcsUnreachableException("the ZooKeeper session was closed");
            }
        }
        CuratorFrameworkState s = client.getState();
        if (s == CuratorFrameworkState.LATENT) {
            throw new DcsException("the shared CuratorFramework has not been started");
        }
        if (s == CuratorFrameworkState.STOPPED) {
            throw new DcsUnreachableException("the CuratorFramework was closed");
        }
    }

    private DcsUnreachableException unreachable(String what, String why, Throwable cause) {
        String detail = cause == null ? "" : " (last error: " + describe(cause) + ")";
        boolean connected = connectedHandle() != null;
        String reason = why + (connected ? "" : "; not connected to any server") + detail;
        return new Unreached("ZooKeeper: " + what + ": " + reason, reason, cause);
    }

    /** One line: the exception's message (its first line), or its class's name when it has none. */
    static String describe(Throwable t) {
        Throwable c = Zk.unwrap(t);
        String m = c.getMessage();
        if (m == null || m.isBlank()) {
            return c.getClass().getSimpleName();
        }
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl).strip();
    }

    /**
     * Ends session {@code sessionId} now, if it is still the current one: its client is closed (the
     * server deletes the session's ephemeral nodes at once) and a new client, with a new session,
     * takes its place. Owned connections only.
     */
    CompletableFuture<Void> endSession(long sessionId) {
        if (!owned) {
            throw new IllegalStateException("a shared client's session is not ours to end");
        }
        return CompletableFuture.runAsync(() -> {
            CuratorFramework old;
            CuratorFramework fresh;
            synchronized (this) {
                ZooKeeper zk = handle();
                if (closed || zk == null || zk.getSessionId() != sessionId) {
                    return;
                }
                old = client;
                fresh = factory.get();
                client = fresh;
                if (started) {
                    old.getConnectionStateListenable().removeListener(stateListener);
                    fresh.getConnectionStateListenable().addListener(stateListener);
                    fresh.start();
                }
            }
            try {
                old.close();
            } catch (RuntimeException e) {
                LOG.warn("{}: closing ZooKeeper session 0x{} failed: {}", name, Long.toHexString(sessionId), describe(e));
            }
            refresh(null);
        }, blocking);
    }

    /**
     * Closes an owned client (the server deletes the session's ephemeral nodes at once), waiting at
     * most {@code bound}; a shared client is only let go of.
     */
    void close(Duration bound) {
        boolean wasStarted;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            wasStarted = started;
        }
        listeners.clear();
        if (wasStarted) {
            client.getConnectionStateListenable().removeListener(stateListener);
        }
        if (!owned) {
            return;
        }
        CuratorFramework last = client;
        CompletableFuture<Void> f = CompletableFuture.runAsync(() -> {
            try {
                last.close();
            } catch (RuntimeException e) {
                LOG.debug("{}: closing the client failed: {}", name, e.toString());
            }
        }, blocking);
        try {
            f.get(bound.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn("{}: the ZooKeeper client did not close within {} ms; leaving it to finish in the background", name,
                    bound.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException e) {
            LOG.debug("{}: closing the client failed: {}", name, e.toString());
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
