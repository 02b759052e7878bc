package io.pgha.postgres;

import io.pgha.spi.PostgresException;
import org.postgresql.Driver;

import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;

/**
 * JDBC access with bounded waits. Every connection has a connect, login and socket timeout, and
 * SQL connections a {@code statement_timeout}, so a hung server costs at most
 * {@code connectTimeout + statementTimeout} and never blocks the engine past its retry_timeout.
 * The local server's superuser connection is kept in a one-slot pool (observe runs every cycle);
 * remote connections are short-lived.
 */
final class Jdbc implements AutoCloseable {

    @FunctionalInterface
    interface SqlWork<T> {
        T apply(Connection c) throws SQLException;
    }

    private static final Driver DRIVER = new Driver();

    private final PgConfig cfg;
    private final Redactor redactor;
    private final AtomicReference<Connection> idle = new AtomicReference<>();
    private volatile boolean closed;

    Jdbc(PgConfig cfg, Redactor redactor) {
        this.cfg = cfg;
        this.redactor = redactor;
    }

    /** Runs {@code work} on the local server as the superuser, reusing the pooled connection when it is free. */
    <T> T local(String what, SqlWork<T> work) {
        Connection c = idle.getAndSet(null);
        boolean reused = c != null;
        try {
            if (c == null) {
                c = open(cfg.localHost(), cfg.port(), "postgres", cfg.superuser(), false);
            }
            T result = work.apply(c);
            release(c);
            return result;
        } catch (SQLException e) {
            closeQuietly(c);
            if (reused && isBrokenConnection(e)) {
                // the pooled connection died with its server (a restart): one fresh attempt
                return remote(what, cfg.localHost(), cfg.port(), cfg.superuser(), false, work);
            }
            throw translate(e, what, cfg.localHost() + ":" + cfg.port(), cfg.superuser());
        } catch (RuntimeException e) {
            closeQuietly(c);
            throw e;
        }
    }

    /** Runs {@code work} on the local server as the superuser in {@code database}, on a connection closed afterwards. */
    <T> T localIn(String what, String database, SqlWork<T> work) {
        try (Connection c = open(cfg.localHost(), cfg.port(), database, cfg.superuser(), false)) {
            return work.apply(c);
        } catch (SQLException e) {
            throw translate(e, what, cfg.localHost() + ":" + cfg.port() + "/" + database, cfg.superuser());
        }
    }

    /** Runs {@code work} on a fresh connection that is closed afterwards. */
    <T> T remote(String what, String host, int port, PgUser user, boolean replication, SqlWork<T> work) {
        return remote(what, host, port, user, replication, cfg.statementTimeout(), work);
    }

    /** Like {@link #remote(String, String, int, PgUser, boolean, SqlWork)} for statements that may run up to {@code statementTimeout}. */
    <T> T remote(String what, String host, int port, PgUser user, boolean replication, java.time.Duration statementTimeout,
                 SqlWork<T> work) {
        try (Connection c = open(host, port, "postgres", user, replication, statementTimeout)) {
            return work.apply(c);
        } catch (SQLException e) {
            throw translate(e, what, hostPort(host, port), user);
        }
    }

    Connection open(String host, int port, String db, PgUser user, boolean replication) throws SQLException {
        return open(host, port, db, user, replication, cfg.statementTimeout());
    }

    /** The {@code application_name} of the postmaster watch's connection (see {@link #openWatcher()}). */
    String watcherApplicationName() {
        return "pgha-" + cfg.name() + "-postmaster-watch";
    }

    /**
     * A connection to the local server as the superuser that is meant to stay idle: its backend
     * exits when the postmaster dies, so a read blocked on it returns then. It has no socket
     * timeout (the read blocks until the backend ends it, or {@link Connection#abort} closes it) and
     * no {@code idle_session_timeout}; it runs no statements after this one.
     */
    Connection openWatcher() throws SQLException {
        Connection c = open(cfg.localHost(), cfg.port(), "postgres", cfg.superuser(), false);
        try {
            try (java.sql.Statement st = c.createStatement()) {
                st.execute("SET application_name = '" + watcherApplicationName().replace("'", "''") + "'");
                if (c.getMetaData().getDatabaseMajorVersion() >= 14) {
                    st.execute("SET idle_session_timeout = 0");
                }
            }
            c.setNetworkTimeout(Runnable::run, 0);
            return c;
        } catch (SQLException | RuntimeException e) {
            closeQuietly(c);
            throw e;
        }
    }

    Connection open(String host, int port, String db, PgUser user, boolean replication, java.time.Duration statementTimeout)
            throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user.name());
        p.setProperty("password", user.password());
        int connect = seconds(cfg.connectTimeout());
        p.setProperty("connectTimeout", Integer.toString(connect));
        p.setProperty("loginTimeout", Integer.toString(connect));
        p.setProperty("socketTimeout", Integer.toString(seconds(statementTimeout) + 1));
        p.setProperty("ApplicationName", "pgha-" + cfg.name());
        p.setProperty("tcpKeepAlive", "true");
        if (replication) {
            // a physical replication (walsender) connection: only the simple query protocol is understood
            p.setProperty("replication", "true");
            p.setProperty("preferQueryMode", "simple");
            p.setProperty("assumeMinServerVersion", "10");
        } else {
            p.setProperty("options", "-c statement_timeout=" + statementTimeout.toMillis());
        }
        boolean ownServer = user.equals(cfg.superuser()) && host.equals(cfg.localHost()) && port == cfg.port();
        if (!user.hasPassword() && !ownServer) {
            throw new SQLException("user '" + user.name() + "' has no password: pgha can log in as it only on its own server,"
                    + " over the local socket", "28000");
        }
        if (ownServer && cfg.superuserSocket().isPresent()) {
            // a password-less superuser (peer authentication), or Patroni's use_unix_socket
            p.setProperty("socketFactory", io.pgha.internal.postgres.UnixSocketFactory.class.getName());
            p.setProperty(io.pgha.internal.postgres.UnixSocketFactory.SOCKET_PATH, cfg.superuserSocket().get().toString());
            p.remove("tcpKeepAlive");
            if (!user.hasPassword()) {
                p.remove("password");
            }
        }
        if (!p.containsKey(io.pgha.internal.postgres.UnixSocketFactory.SOCKET_PATH)) {
            tls(p, user.ssl());
        }
        String h = host.contains(":") ? "[" + host + "]" : host;
        Connection c = DRIVER.connect("jdbc:postgresql://" + h + ":" + port + "/" + db, p);
        if (c == null) {
            throw new SQLException("pgjdbc refused the URL");
        }
        return c;
    }

    /**
     * The role's TLS keys as pgjdbc properties. Over the Unix-domain socket there is no TLS, as with
     * libpq, and neither GSSAPI encryption nor channel binding (that connection uses peer authentication). Without keys pgjdbc keeps its own defaults ({@code sslmode=prefer}, as libpq's).
     */
    private static void tls(Properties p, PgSsl ssl) {
        if (!ssl.configured()) {
            return;
        }
        p.setProperty("sslmode", ssl.mode());
        p.setProperty("sslfactory", io.pgha.internal.postgres.PgTlsSocketFactory.class.getName());
        p.setProperty(io.pgha.internal.postgres.PgTlsSocketFactory.SETTING, ssl.setting());
        ssl.get("sslrootcert").ifPresent(v -> p.setProperty("sslrootcert", v));
        ssl.get("sslcert").ifPresent(v -> p.setProperty("sslcert", v));
        ssl.get("sslkey").ifPresent(v -> p.setProperty("sslkey", v));
        ssl.get("sslpassword").ifPresent(v -> p.setProperty("sslpassword", v));
        ssl.get("sslcrl").ifPresent(v -> p.setProperty(io.pgha.internal.postgres.PgTlsSocketFactory.CRL, v));
        ssl.get("sslcrldir").ifPresent(v -> p.setProperty(io.pgha.internal.postgres.PgTlsSocketFactory.CRL_DIR, v));
        ssl.get("sslnegotiation").ifPresent(v -> p.setProperty("sslNegotiation", v));
        // libpq's values are pgjdbc's too (pgjdbc also knows gssEncMode=allow, which libpq does not)
        ssl.get("gssencmode").ifPresent(v -> p.setProperty("gssEncMode", v));
        ssl.get("channel_binding").ifPresent(v -> p.setProperty("channelBinding", v));
    }

    /** Drops the pooled connection (the server is being stopped or restarted). */
    void invalidate() {
        closeQuietly(idle.getAndSet(null));
    }

    @Override
    public void close() {
        closed = true;
        invalidate();
    }

    private void release(Connection c) {
        if (closed || !idle.compareAndSet(null, c)) {
            closeQuietly(c);
        }
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException | RuntimeException e) {
                // nothing to do: it is being thrown away
            }
        }
    }

    private static int seconds(java.time.Duration d) {
        return (int) Math.max(1, (d.toMillis() + 999) / 1000);
    }

    static String hostPort(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    private static boolean isBrokenConnection(SQLException e) {
        String state = e.getSQLState();
        return state != null && state.startsWith("08") && !isTimeout(e);
    }

    static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketTimeoutException) {
                return true;
            }
            if (t instanceof SQLException s && "57014".equals(s.getSQLState())) {
                return true; // statement_timeout
            }
            String m = t.getMessage();
            if (m != null && m.contains("timed out")) {
                return true; // pgjdbc's loginTimeout: "Connection attempt timed out."
            }
        }
        return false;
    }

    /** The server is starting up or shutting down (SQLSTATE 57P03). */
    static boolean isNotAcceptingYet(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && "57P03".equals(s.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    /** Maps a JDBC failure to a typed exception whose message names the server and user, never the password. */
    PostgresException translate(SQLException e, String what, String target, PgUser user) {
        String msg = redactor.scrub(e.getMessage());
        String state = e.getSQLState();
        if (isNotAcceptingYet(e)) {
            return new NotAcceptingConnectionsException(what + ": " + target + " is starting up or shutting down: " + msg);
        }
        if ("28P01".equals(state) || "28000".equals(state)) {
            return new AuthenticationFailedException(what + ": " + target + " rejected user '" + user.name() + "': " + msg);
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof io.pgha.ConfigurationException bad) {
                return new TlsFailedException(bad.setting(), what + ": " + target + ": " + redactor.scrub(bad.getMessage()));
            }
        }
        Optional<String> tlsKey = tlsKey(e, user.ssl());
        if (tlsKey.isPresent()) {
            return new TlsFailedException(tlsKey.get(), what + ": " + target + " as user '" + user.name() + "' with sslmode="
                    + user.ssl().mode() + ": " + msg);
        }
        if (isTimeout(e)) {
            return new PostgresTimeoutException(what + ": " + target + " did not answer in time (connect timeout "
                    + cfg.connectTimeout().toMillis() + " ms, statement timeout " + cfg.statementTimeout().toMillis() + " ms): " + msg);
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException) {
                return new PostgresException(what + ": cannot connect to " + target + ": " + redactor.scrub(t.getMessage()));
            }
        }
        return new PostgresException(what + " on " + target + " failed: " + msg + (state == null ? "" : " (SQLSTATE " + state + ")"));
    }

    /**
     * Which of the role's TLS keys refuses {@code host:port}, by pgha's own handshake with the same
     * files; empty if it connects or fails for another reason.
     */
    Optional<String> tlsDiagnosis(String host, int port, PgUser user, boolean replication) {
        try (Connection c = open(host, port, "postgres", user, replication)) {
            return Optional.empty();
        } catch (SQLException e) {
            return tlsKey(e, user.ssl());
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Which of the role's TLS keys a failed handshake points at, if the failure is TLS's. */
    static Optional<String> tlsKey(Throwable e, PgSsl ssl) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            // first, anywhere in the chain: a revocation (the JDK wraps it in a CertificateException)
            if (t instanceof java.security.cert.CertPathValidatorException cpv
                    && (cpv.getReason() == java.security.cert.CertPathValidatorException.BasicReason.REVOKED
                    || cpv.getReason() == java.security.cert.CertPathValidatorException.BasicReason.UNDETERMINED_REVOCATION_STATUS)) {
                return Optional.of(ssl.setting() + (ssl.get("sslcrl").isPresent() ? ".sslcrl" : ".sslcrldir"));
            }
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (ssl.get("channel_binding").isPresent() && m.toLowerCase(java.util.Locale.ROOT).contains("channel binding")) {
                return Optional.of(ssl.setting() + ".channel_binding");
            }
            if (ssl.get("gssencmode").filter("require"::equals).isPresent() && m.contains("GSS")) {
                return Optional.of(ssl.setting() + ".gssencmode");
            }
            if (t instanceof java.security.cert.CertificateException || t instanceof java.security.cert.CertPathValidatorException
                    || t instanceof java.security.cert.CertPathBuilderException) {
                return Optional.of(ssl.setting() + ".sslrootcert");
            }
            if (m.contains("Received fatal alert") && ssl.get("sslcert").isPresent()) {
                return Optional.of(ssl.setting() + ".sslcert"); // the server refused our certificate in the handshake
            }
            if (m.contains("could not be verified by hostnameverifier") || m.contains("does not support SSL")) {
                return Optional.of(ssl.setting() + ".sslmode");
            }
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof javax.net.ssl.SSLException) {
                return Optional.of(ssl.setting() + ".sslmode");
            }
        }
        return Optional.empty();
    }

    /** SQLSTATE 57P03: the postmaster runs but does not take connections yet (recovery) or any more (shutdown). */
    static final class NotAcceptingConnectionsException extends PostgresException {
        NotAcceptingConnectionsException(String message) {
            super(message);
        }
    }
}
