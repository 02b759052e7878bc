package io.pgha.postgres;

import io.pgha.spi.Subscription;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Notices when the postmaster exits. The postmaster is not the JVM's child, so there is no wait()
 * to block in; {@link ProcessHandle#onExit()} polls for such processes with a back-off that reaches
 * seconds, and counts a zombie as alive.
 *
 * <p>What blocks instead is a read on an idle connection to the server (its own thread, the
 * {@linkplain Jdbc#openWatcher() watch connection}): a backend waiting for its client watches for
 * postmaster death and exits with it, so the read returns the moment the postmaster is gone, and an
 * idle agent is not woken at all. Whenever that read ends, the postmaster's {@code /proc/<pid>/stat}
 * is checked at once. The poll of that file stays as the fallback: every {@link #FALLBACK} (or the
 * configured interval if longer) while the connection is up; while it is not (the server is starting,
 * shutting down, refuses the login or has no free connection slot) at the configured interval,
 * starting at 10 ms after a connection loss, as a backend can end a moment before its postmaster is
 * reaped.
 *
 * <p>The stat file is opened once per postmaster and re-read in place: an open {@code /proc/<pid>}
 * file stays bound to that process (reads fail with ESRCH once it is reaped, even if the pid is
 * reused), so a poll is one pread(2) — no open, no path lookup, no cwd check.
 */
final class PostmasterWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PostmasterWatch.class);
    /** The poll interval while the watch connection is up: a fallback only. */
    static final Duration FALLBACK = Duration.ofSeconds(10);
    private static final long FIRST_RECHECK_MS = 10;
    private static final long RECONNECT_MIN_MS = 1_000;
    private static final long RECONNECT_MAX_MS = 30_000;
    /** A connection that lasted this long was not refused: the next attempt after its loss is not backed off. */
    private static final long STABLE_MS = 10_000;

    /** Opens the watch connection (see {@link Jdbc#openWatcher()}). */
    @FunctionalInterface
    interface Connector {
        Connection open() throws SQLException;
    }

    private final ScheduledExecutorService scheduler;
    private final Executor callbacks;
    private final Duration interval;
    private final Duration fallback;
    private final Connector connector;
    private final String member;
    private final BiConsumer<Long, Boolean> onExit;
    private final List<Runnable> subscribers = new CopyOnWriteArrayList<>();
    private long watched;
    private FileChannel stat;
    private final ByteBuffer buf = ByteBuffer.allocate(512);
    private int expectedExits;
    private ScheduledFuture<?> task;
    /** The delay of the next poll while no watch connection is up; doubles up to {@link #interval}. */
    private long disconnectedDelayMs;
    private Connection connection;
    private Thread waiter;
    private boolean closed;

    /**
     * @param interval  the poll interval while no watch connection is up
     * @param connector opens the watch connection; {@code null}: poll only
     * @param onExit    called with (pid, expected) for every exit seen, before the subscribers
     */
    PostmasterWatch(String member, ScheduledExecutorService scheduler, Executor callbacks, Duration interval,
                    Connector connector, BiConsumer<Long, Boolean> onExit) {
        this.member = member;
        this.scheduler = scheduler;
        this.callbacks = callbacks;
        this.interval = interval;
        this.fallback = interval.compareTo(FALLBACK) > 0 ? interval : FALLBACK;
        this.connector = connector;
        this.onExit = onExit;
        this.disconnectedDelayMs = interval.toMillis();
    }

    Subscription subscribe(Runnable callback) {
        subscribers.add(callback);
        return () -> subscribers.remove(callback);
    }

    /** Starts watching {@code pid} (a live postmaster of our data directory). */
    synchronized void watch(long pid) {
        if (closed || pid == watched) {
            return;
        }
        watched = pid;
        closeStat();
        try {
            // the caller found pid to be our postmaster (its cwd is our data directory)
            stat = FileChannel.open(Path.of("/proc", Long.toString(pid), "stat"), StandardOpenOption.READ);
        } catch (IOException e) {
            stat = null; // gone already: the next poll reports it
        }
        abortConnection(); // a connection to an earlier postmaster's server (none is left normally)
        disconnectedDelayMs = interval.toMillis();
        schedulePoll(disconnectedDelayMs);
        if (connector != null && waiter == null) {
            waiter = new Thread(null, this::waitForExits, "pgha-pg-postmaster-" + member, 256 * 1024);
            waiter.setDaemon(true);
            waiter.start();
        }
        notifyAll();
    }

    /** Whether the watch connection is up (tests). */
    synchronized boolean connected() {
        return connection != null;
    }

    /**
     * Brackets a stop or restart pgha itself performs: an exit inside is not reported to the
     * subscribers as a crash. Returns what ends the bracket.
     */
    synchronized Runnable expectingExit() {
        expectedExits++;
        return () -> {
            poll(); // an exit we caused is settled while still expected, not attributed to the next crash
            synchronized (PostmasterWatch.this) {
                expectedExits--;
            }
        };
    }

    /** The scheduled poll: checks, then schedules the next one at the interval that fits the connection's state. */
    private void tick() {
        poll();
        synchronized (this) {
            if (closed || watched == 0) {
                task = null;
                return;
            }
            if (connection != null) {
                schedulePoll(fallback.toMillis());
            } else {
                disconnectedDelayMs = Math.min(disconnectedDelayMs * 2, interval.toMillis());
                schedulePoll(disconnectedDelayMs);
            }
        }
    }

    private synchronized void schedulePoll(long delayMs) {
        if (task != null) {
            task.cancel(false);
        }
        try {
            task = scheduler.schedule(this::tick, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            task = null; // the controller is closing
        }
    }

    /** The watch thread: holds a watch connection to the watched postmaster's server and blocks reading it. */
    private void waitForExits() {
        // not at once: a server that has just started is being set up (bootstrap, users), on
        // connections with a short connect timeout that a second login at the same moment would
        // only slow down; the poll covers the first second
        long backoffMs = RECONNECT_MIN_MS;
        while (true) {
            long pid;
            synchronized (this) {
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoffMs);
                while (!closed && (watched == 0 || backoffMs > 0 && System.nanoTime() - until < 0)) {
                    try {
                        long left = TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime());
                        wait(watched == 0 ? 0 : Math.max(1, left));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) {
                    waiter = null;
                    return;
                }
                pid = watched;
            }
            Connection c;
            try {
                c = connector.open();
            } catch (SQLException | RuntimeException e) {
                LOG.debug("{}: no postmaster watch connection ({}); polling every {} ms", member, e.getClass().getSimpleName(),
                        interval.toMillis());
                backoffMs = Math.min(Math.max(RECONNECT_MIN_MS, backoffMs * 2), RECONNECT_MAX_MS);
                continue;
            }
            synchronized (this) {
                if (closed || watched != pid) {
                    abort(c);
                    backoffMs = 0;
                    continue;
                }
                connection = c;
                schedulePoll(fallback.toMillis());
            }
            long since = System.nanoTime();
            blockUntilLost(c);
            synchronized (this) {
                if (connection == c) {
                    connection = null;
                }
            }
            abort(c);
            poll(); // the usual reason: the postmaster is gone
            synchronized (this) {
                if (!closed && watched == pid) {
                    disconnectedDelayMs = Math.min(FIRST_RECHECK_MS, interval.toMillis());
                    schedulePoll(disconnectedDelayMs);
                }
            }
            boolean stable = System.nanoTime() - since > TimeUnit.MILLISECONDS.toNanos(STABLE_MS);
            backoffMs = stable ? RECONNECT_MIN_MS : Math.min(Math.max(RECONNECT_MIN_MS, backoffMs * 2), RECONNECT_MAX_MS);
        }
    }

    /** Reads the idle connection until it fails: its backend exited, or the connection was aborted. */
    private static void blockUntilLost(Connection c) {
        try {
            PGConnection pg = c.unwrap(PGConnection.class);
            while (!c.isClosed()) {
                pg.getNotifications(0); // blocks: nothing is LISTENed to, so only the end of the backend answers
            }
        } catch (SQLException | RuntimeException e) {
            // the end of the connection: what ended it is the postmaster's state, checked next
        }
    }

    private void poll() {
        long pid;
        boolean expected;
        synchronized (this) {
            if (closed || watched == 0 || alive()) {
                return; // closed: the stat file is, too, and an exit would be made up
            }
            pid = watched;
            watched = 0;
            closeStat();
            expected = expectedExits > 0;
            notifyAll();
        }
        LOG.debug("postmaster {} exited ({})", pid, expected ? "stopped by pgha" : "unexpectedly");
        onExit.accept(pid, expected);
        if (!expected) {
            for (Runnable r : subscribers) {
                callbacks.execute(() -> {
                    try {
                        r.run();
                    } catch (RuntimeException e) {
                        LOG.warn("state-change callback failed", e);
                    }
                });
            }
        }
    }

    /** Whether the watched postmaster still runs: one pread of its open stat file. */
    private boolean alive() {
        if (stat == null) {
            return false;
        }
        try {
            buf.clear();
            int n = stat.read(buf, 0);
            if (n <= 0) {
                return false;
            }
            String line = new String(buf.array(), 0, n, StandardCharsets.US_ASCII);
            int close = line.lastIndexOf(')');
            if (close < 0 || close + 2 >= line.length()) {
                return false;
            }
            char state = line.charAt(close + 2);
            return state != 'Z' && state != 'X' && state != 'x';
        } catch (IOException e) {
            return false; // ESRCH: reaped
        }
    }

    private void closeStat() {
        if (stat != null) {
            try {
                stat.close();
            } catch (IOException e) {
                // nothing held
            }
            stat = null;
        }
    }

    private synchronized void abortConnection() {
        if (connection != null) {
            abort(connection);
            connection = null;
        }
    }

    /** Closes the socket at once (a blocked read on it returns); no goodbye is sent to a backend that may be gone. */
    private static void abort(Connection c) {
        try {
            c.abort(Runnable::run);
        } catch (SQLException | RuntimeException e) {
            // nothing more to release
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        closeStat();
        if (task != null) {
            task.cancel(false);
            task = null;
        }
        abortConnection();
        subscribers.clear();
        notifyAll();
    }
}
