package io.pgha.examples.witness;

import io.pgha.spi.support.DaemonThreads;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The watches of one {@link WitnessDcs}: one dedicated connection that {@code LISTEN}s on the
 * schema's channel, on one daemon thread, started by the first watch. The triggers on the tables
 * notify every changed key and every deleted lease; the thread hands each notification to the
 * watching sessions of that scope.
 *
 * <p><b>Expiry.</b> PostgreSQL has no timers, so nothing would notify when a lease simply runs
 * out. The thread therefore asks the witness when the earliest lease of the watched scopes expires
 * (by the witness clock), wakes up then, and deletes the expired leases itself ({@code DELETE ...
 * FOR UPDATE SKIP LOCKED}): their keys go with them ({@code ON DELETE CASCADE}) and the triggers
 * notify every watcher, in this process and in the others. A renewed lease simply is not expired
 * when the thread looks. It looks at least once a second, which also proves the connection alive.
 *
 * <p><b>Reconnecting.</b> When the connection fails, the thread reconnects (from 100 ms up to 2 s
 * apart), {@code LISTEN}s again and then reports an unknown change (empty path) to every watch: what
 * changed while nobody listened is caught up by the engine's next read.
 */
final class WitnessWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WitnessWatcher.class);
    private static final long HEARTBEAT_MS = 1000;
    private static final long LISTEN_TIMEOUT_MS = 5000;

    private final WitnessSettings settings;
    private final WitnessSchema schema;
    private final Set<WitnessSession> sessions = new CopyOnWriteArraySet<>();
    private final Object lock = new Object();
    // guarded by lock
    private Thread thread;
    private boolean closed;
    /** When to look for expired leases next (System.nanoTime); 0: at once. */
    private volatile long checkAt;

    WitnessWatcher(WitnessSettings settings, WitnessSchema schema) {
        this.settings = settings;
        this.schema = schema;
    }

    void register(WitnessSession s) {
        sessions.add(s);
        checkAt = 0; // a new scope may have leases that expire soon
        synchronized (lock) {
            if (thread == null && !closed) {
                thread = DaemonThreads.thread("pgha-witness-watch", this::run);
                thread.start();
            }
        }
    }

    void unregister(WitnessSession s) {
        sessions.remove(s);
    }

    private boolean isClosed() {
        synchronized (lock) {
            return closed;
        }
    }

    private void run() {
        Connection c = null;
        long backoffMs = 100;
        boolean warned = false;
        while (!isClosed()) {
            try {
                if (c == null) {
                    c = WitnessCalls.connect(settings, LISTEN_TIMEOUT_MS);
                    c.setNetworkTimeout(Runnable::run, (int) LISTEN_TIMEOUT_MS);
                    schema.ensure(c);
                    try (Statement st = c.createStatement()) {
                        st.execute("LISTEN " + schema.channel);
                    }
                    if (warned) {
                        LOG.info("the watch is connected to the witness database again");
                    }
                    warned = false;
                    backoffMs = 100;
                    checkAt = 0;
                    // whatever changed while nobody listened: the engine reads afresh
                    for (WitnessSession s : sessions) {
                        s.listeners().clusterChanged(Optional.empty());
                    }
                }
                long now = System.nanoTime();
                if (now - checkAt >= 0 || checkAt == 0) {
                    long untilExpiry = reapAndFindNextExpiry(c);
                    checkAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.min(HEARTBEAT_MS, untilExpiry + 5));
                }
                long waitMs = Math.max(1, Math.min(250, TimeUnit.NANOSECONDS.toMillis(checkAt - System.nanoTime())));
                PGNotification[] got = c.unwrap(PGConnection.class).getNotifications((int) waitMs);
                if (got != null) {
                    for (PGNotification n : got) {
                        deliver(n.getParameter());
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (!warned && !isClosed()) {
                    LOG.warn("the watch lost the witness database ({}); reconnecting", e.getMessage());
                    warned = true;
                }
                close(c);
                c = null;
                pause(backoffMs);
                backoffMs = Math.min(2000, backoffMs * 2);
            }
        }
        close(c);
    }

    /** Deletes the watched scopes' expired leases; returns the milliseconds until the next one expires (HEARTBEAT_MS if none). */
    private long reapAndFindNextExpiry(Connection c) throws SQLException {
        Set<String> scopes = new TreeSet<>();
        for (WitnessSession s : sessions) {
            scopes.add(s.scope());
        }
        if (scopes.isEmpty()) {
            try (Statement st = c.createStatement()) {
                st.execute("SELECT 1");
            }
            return HEARTBEAT_MS;
        }
        java.sql.Array array = c.createArrayOf("text", scopes.toArray(new String[0]));
        try (PreparedStatement st = c.prepareStatement(schema.reapExpired)) {
            st.setArray(1, array);
            st.executeUpdate();
        }
        try (PreparedStatement st = c.prepareStatement(schema.nextExpiry)) {
            st.setArray(1, array);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                long ms = rs.getLong(1);
                return rs.wasNull() ? HEARTBEAT_MS : Math.max(0, ms);
            }
        }
    }

    /** {@code k/<scope>/<path>}: a key changed; {@code l/<scope>/<id>}: a lease was deleted. */
    private void deliver(String payload) {
        String[] p = payload.split("/", 3);
        if (p.length != 3) {
            return;
        }
        for (WitnessSession s : sessions) {
            if (!s.scope().equals(p[1])) {
                continue;
            }
            if (p[0].equals("k")) {
                s.listeners().clusterChanged(Optional.of(p[2]));
            } else if (p[0].equals("l")) {
                try {
                    s.leaseDeleted(Long.parseLong(p[2]));
                } catch (NumberFormatException e) {
                    // not ours
                }
            }
        }
    }

    private void pause(long ms) {
        synchronized (lock) {
            if (closed) {
                return;
            }
            try {
                lock.wait(ms); // close() wakes it early
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                closed = true;
            }
        }
    }

    private static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // going anyway
            }
        }
    }

    /** Stops the thread (it closes its connection) and waits a little for it. */
    @Override
    public void close() {
        Thread t;
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
            t = thread;
        }
        sessions.clear();
        if (t != null) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
