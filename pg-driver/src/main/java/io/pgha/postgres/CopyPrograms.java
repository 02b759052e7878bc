package io.pgha.postgres;

import io.pgha.spi.PostgresException;

import java.util.Optional;

/**
 * pg_basebackup and pg_rewind, the programs that copy from a source server: the connection string
 * they are given, and what their failures mean.
 */
final class CopyPrograms {
    private CopyPrograms() {
    }

    /** A libpq connection string without a password: libpq finds it in the pass file (PGPASSFILE). */
    static String conninfo(ConnUrl u, PgUser user, Optional<String> db, String applicationName) {
        return u.conninfoHosts() + " user=" + Gucs.conninfoValue(user.name())
                + db.map(d -> " dbname=" + Gucs.conninfoValue(d)).orElse("")
                + " application_name=" + Gucs.conninfoValue(applicationName) + " connect_timeout=10";
    }

    /** Turns a failed pg_basebackup / pg_rewind into the exception that names the problem. */
    static PostgresException failure(String member, Commands.Result r, ConnUrl u, PgUser user, String what) {
        String out = r.stderr() + "\n" + r.stdout();
        if (out.contains("password authentication failed") || out.contains("no pg_hba.conf entry")
                || out.contains("no password supplied") || out.contains("authentication failed")) {
            return new AuthenticationFailedException(member + ": " + what + ": " + u.hostPort() + " rejected user '"
                    + user.name() + "' (" + r.tail() + ")");
        }
        if (out.contains("Connection refused") || out.contains("could not connect") || out.contains("connection to server")) {
            return new PostgresException(member + ": " + what + ": cannot connect to " + u.hostPort() + " (" + r.tail() + ")");
        }
        if (out.contains("timeout expired")) {
            return new PostgresTimeoutException(member + ": " + what + ": " + u.hostPort() + " did not answer (" + r.tail() + ")");
        }
        return new CommandFailedException(member + ": " + what + ": " + r.program() + " failed (exit " + r.exitCode() + "): "
                + r.tail(), r.program(), r.exitCode());
    }
}
