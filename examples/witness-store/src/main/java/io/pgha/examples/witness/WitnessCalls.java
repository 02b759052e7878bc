package io.pgha.examples.witness;

import io.pgha.spi.DcsException;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.support.DaemonThreads;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The calls of one {@link WitnessDcs} to the witness database: a tiny pool of worker threads, each
 * with a JDBC connection of its own, opened when first needed and dropped after any failure that
 * may have broken it. The caller gets a stage at once and is never blocked by the database.
 *
 * <p>Every call has a deadline (the session's {@code retry_timeout}): a timer fails its stage with
 * {@link DcsUnreachableException} at the deadline whatever the connection does, and the work itself
 * is bounded as well, so that a worker never stays stuck on a dead server: the connect timeout, the
 * socket read timeout ({@code Connection.setNetworkTimeout}) and the server's
 * {@code statement_timeout} and {@code lock_timeout} all derive from it. A call that reaches a
 * worker after its deadline is not sent at all.
 *
 * <p>Failures are mapped as the SPI says: no connection, a broken one, a timeout, a server shutting
 * down, a lock or statement timeout, a deadlock or serialization failure that persisted are
 * {@link DcsUnreachableException} (the outcome is unknown); anything else the server refused
 * (authentication, permissions, a missing schema it could not create) is a {@link DcsException}.
 * Messages carry the server's message and SQLSTATE, never the password.
 */
final class WitnessCalls implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WitnessCalls.class);
    /** A deadlock or serialization failure rolled the transaction back: it is tried again while time remains. */
    private static final int MAX_ATTEMPTS = 3;
    /** The bound on creating the schema on first use. */
    private static final long SCHEMA_TIMEOUT_MS = 30_000;

    /** Work on a connection; {@code transactional} work runs between BEGIN and COMMIT. */
    @FunctionalInterface
    interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private final WitnessSettings settings;
    private final WitnessSchema schema;
    private final ThreadPoolExecutor workers;
    private final ScheduledThreadPoolExecutor timer;
    private final ThreadLocal<Conn> own = new ThreadLocal<>();
    private final Set<Conn> open = ConcurrentHashMap.newKeySet();
    /** Stages not completed yet: failed by {@link #close()}, so that nobody waits on a closed store. */
    private final Set<CompletableFuture<?>> pending = ConcurrentHashMap.newKeySet();
    private volatile boolean schemaReady;
    private volatile boolean closed;

    /** A worker's connection and the timeouts it was last set to. */
    private static final class Conn {
        final Connection c;
        long timeoutMs = -1;

        Conn(Connection c) {
            this.c = c;
        }
    }

    WitnessCalls(WitnessSettings settings, WitnessSchema schema) {
        this.settings = settings;
        this.schema = schema;
        this.workers = new ThreadPoolExecutor(settings.poolSize(), settings.poolSize(), 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                DaemonThreads.factory("pgha-witness-call"));
        this.workers.allowCoreThreadTimeOut(true);
        this.timer = new ScheduledThreadPoolExecutor(1, DaemonThreads.factory("pgha-witness-timer"));
        this.timer.setRemoveOnCancelPolicy(true);
    }

    /**
     * Runs {@code work} on a worker's connection; its stage completes within {@code timeout}.
     *
     * @param what          what the call does, for messages ("renew the leader key")
     * @param transactional whether the work runs in one transaction (several statements)
     */
    <T> CompletableFuture<T> call(String what, Duration timeout, boolean transactional, Work<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        ScheduledFuture<?> alarm = timer.schedule(() -> result.completeExceptionally(new DcsUnreachableException(
                "the witness database did not answer within " + timeout.toMillis() + " ms (" + what + ")")),
                timeout.toNanos(), TimeUnit.NANOSECONDS);
        pending.add(result);
        result.whenComplete((v, e) -> {
            alarm.cancel(false);
            pending.remove(result);
        });
        try {
            workers.execute(() -> runOnWorker(what, timeout, deadline, transactional, work, result));
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new DcsException("this WitnessDcs is closed (" + what + ")"));
        }
        if (closed) { // closed while submitting: close() may have missed it
            result.completeExceptionally(new DcsException("this WitnessDcs is closed (" + what + ")"));
        }
        return result;
    }

    private <T> void runOnWorker(String what, Duration timeout, long deadline, boolean transactional, Work<T> work,
                                 CompletableFuture<T> result) {
        for (int attempt = 1; !result.isDone(); attempt++) {
            long remainingMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (remainingMs <= 0) {
                return; // the timer fails the stage; nothing was sent
            }
            Conn conn = null;
            try {
                conn = connection(remainingMs);
                prepare(conn, timeout, remainingMs);
                T value;
                if (transactional) {
                    conn.c.setAutoCommit(false);
                    try {
                        value = work.run(conn.c);
                        conn.c.commit();
                    } catch (SQLException | RuntimeException e) {
                        rollbackQuietly(conn);
                        throw e;
                    } finally {
                        conn.c.setAutoCommit(true);
                    }
                } else {
                    value = work.run(conn.c);
                }
                result.complete(value);
                return;
            } catch (SQLException e) {
                if (conn == null || mayBeBroken(e)) {
                    drop(conn);
                }
                String state = e.getSQLState();
                if (("40P01".equals(state) || "40001".equals(state)) && attempt < MAX_ATTEMPTS) {
                    continue; // rolled back: nothing took effect, try again while time remains
                }
                result.completeExceptionally(map(what, e));
                return;
            } catch (RuntimeException e) {
                drop(conn);
                result.completeExceptionally(e);
                return;
            }
        }
    }

    /** The worker's connection, opened (and the schema created, once per WitnessDcs) if it has none. */
    private Conn connection(long remainingMs) throws SQLException {
        Conn conn = own.get();
        if (conn != null) {
            return conn;
        }
        if (closed) {
            throw new SQLException("this WitnessDcs is closed", "08003");
        }
        Connection c = connect(settings, remainingMs);
        conn = new Conn(c);
        own.set(conn);
        open.add(conn);
        if (closed) { // closed while connecting
            drop(conn);
            throw new SQLException("this WitnessDcs is closed", "08003");
        }
        if (!schemaReady) {
            // Not bounded by this call's deadline: if the DDL takes longer (a cold or busy server), the call's
            // stage fails at its deadline anyway, while the schema is still created for the calls that follow,
            // rather than rolled back again and again.
            c.setNetworkTimeout(Runnable::run, (int) Math.max(SCHEMA_TIMEOUT_MS, remainingMs));
            schema.ensure(c);
            schemaReady = true;
        }
        return conn;
    }

    /** A new connection; the connect and login timeouts are whole seconds in pgjdbc, rounded up. */
    static Connection connect(WitnessSettings settings, long remainingMs) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", settings.user());
        p.setProperty("password", settings.password());
        String seconds = Long.toString(Math.max(1, (remainingMs + 999) / 1000));
        p.setProperty("connectTimeout", seconds);
        p.setProperty("loginTimeout", seconds);
        p.setProperty("tcpKeepAlive", "true");
        p.setProperty("ApplicationName", "pgha-witness");
        Connection c = new org.postgresql.Driver().connect(settings.jdbcUrl(), p);
        if (c == null) {
            throw new SQLException("not a PostgreSQL JDBC URL", "08001");
        }
        return c;
    }

    /** Sets the socket read timeout to what remains, and the server's timeouts to the call's bound when they differ. */
    private static void prepare(Conn conn, Duration timeout, long remainingMs) throws SQLException {
        conn.c.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, Math.max(1, remainingMs)));
        long ms = timeout.toMillis();
        if (conn.timeoutMs != ms) {
            try (Statement st = conn.c.createStatement()) {
                // the server gives up on its side too, and a transaction left open by a vanished client ends
                st.execute("SET statement_timeout = " + ms + "; SET lock_timeout = " + ms
                        + "; SET idle_in_transaction_session_timeout = " + Math.max(2 * ms, 5000));
            }
            conn.timeoutMs = ms;
        }
    }

    private static void rollbackQuietly(Conn conn) {
        try {
            conn.c.rollback();
        } catch (SQLException e) {
            // the connection is broken: dropped by the caller
        }
    }

    private void drop(Conn conn) {
        Conn mine = own.get();
        if (mine != null && (conn == null || mine == conn)) {
            own.remove();
        }
        if (conn != null) {
            open.remove(conn);
            try {
                conn.c.close();
            } catch (SQLException e) {
                // already broken
            }
        }
    }

    /** Whether the connection may be unusable after {@code e}: anything but a plain refusal of one statement. */
    private static boolean mayBeBroken(SQLException e) {
        String state = e.getSQLState();
        return state == null || state.startsWith("08") || state.startsWith("57") || state.startsWith("53")
                || state.startsWith("58") || state.equals("25P03") || e.getCause() instanceof IOException;
    }

    /** Whether {@code e} means "the store did not answer", so that the outcome is unknown. */
    static boolean isUnreachable(SQLException e) {
        String state = e.getSQLState();
        if (state == null) {
            return true;
        }
        return state.startsWith("08") // connection exceptions, a timeout on the socket
                || state.startsWith("53") // insufficient resources (too many connections, out of memory)
                || state.equals("57P01") || state.equals("57P02") || state.equals("57P03") // shutting down, starting up
                || state.equals("57014") // statement_timeout
                || state.equals("55P03") // lock_timeout
                || state.equals("40P01") || state.equals("40001") // deadlock, serialization failure (after retries)
                || state.equals("25P03"); // idle_in_transaction_session_timeout
    }

    /** The SPI's failure for {@code e}; the message is the server's (never a password) and the SQLSTATE. */
    static DcsException map(String what, SQLException e) {
        String message = "witness database: could not " + what + ": " + e.getMessage() + " [SQLSTATE " + e.getSQLState() + "]";
        return isUnreachable(e) ? new DcsUnreachableException(message, e) : new DcsException(message, e);
    }

    /** Stops the workers and the timer and closes every connection; calls in flight fail. */
    @Override
    public void close() {
        closed = true;
        workers.shutdownNow();
        timer.shutdownNow();
        for (CompletableFuture<?> f : new ArrayList<>(pending)) {
            f.completeExceptionally(new DcsException("this WitnessDcs was closed"));
        }
        List<Conn> all = new ArrayList<>(open);
        open.clear();
        for (Conn c : all) {
            try {
                c.c.close();
            } catch (SQLException e) {
                // closing anyway
            }
        }
    }
}
