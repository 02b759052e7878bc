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

    /**
     * A libpq connection string without a password: libpq finds it in the pass file (PGPASSFILE),
     * and a key's passphrase in pgha's service file (PGSERVICEFILE, {@code service=}).
     */
    static String conninfo(ConnUrl u, PgUser user, Optional<String> db, String applicationName) {
        return u.conninfoHosts() + " user=" + Gucs.conninfoValue(user.name())
                + db.map(d -> " dbname=" + Gucs.conninfoValue(d)).orElse("")
                + " application_name=" + Gucs.conninfoValue(applicationName) + " connect_timeout=10"
                + user.ssl().conninfo(Optional.of(user.serviceName()));
    }

    /** Which of the role's TLS keys libpq's message points at, if the failure is TLS's. */
    static Optional<String> tlsKey(String out, PgSsl ssl) {
        if (!ssl.configured()) {
            return Optional.empty();
        }
        if (ssl.get("channel_binding").isPresent() && out.contains("channel binding")) {
            return Optional.of(ssl.setting() + ".channel_binding");
        }
        if (ssl.get("gssencmode").filter("require"::equals).isPresent() && out.contains("GSSAPI")) {
            return Optional.of(ssl.setting() + ".gssencmode");
        }
        if (out.contains("certificate has been revoked") || out.contains("unable to get certificate CRL")
                || out.contains("could not load SSL certificate revocation list")) {
            return Optional.of(ssl.setting() + (ssl.get("sslcrl").isPresent() ? ".sslcrl" : ".sslcrldir"));
        }
        if (out.contains("certificate verify failed") || out.contains("root certificate file")
                || out.contains("could not read root certificate file")) {
            return Optional.of(ssl.setting() + ".sslrootcert");
        }
        if (out.contains("bad decrypt") || out.contains("could not load private key file")) {
            return Optional.of(ssl.setting() + (out.contains("bad decrypt") ? ".sslpassword" : ".sslkey"));
        }
        if (out.contains("could not read certificate file") || out.contains("alert unknown ca") || out.contains("alert bad certificate")
                || out.contains("alert certificate required")) {
            return Optional.of(ssl.setting() + ".sslcert");
        }
        if (out.contains("does not match host name") || out.contains("server does not support SSL") || out.contains("SSL error")
                || out.contains("SSL SYSCALL error")) {
            return Optional.of(ssl.setting() + ".sslmode");
        }
        return Optional.empty();
    }

    /** Turns a failed pg_basebackup / pg_rewind into the exception that names the problem. */
    static PostgresException failure(String member, Commands.Result r, ConnUrl u, PgUser user, String what, Jdbc jdbc,
                                     boolean replication) {
        String out = r.stderr() + "\n" + r.stdout();
        Optional<String> tls = tlsKey(out, user.ssl());
        if (tls.isPresent() && tls.get().endsWith(".sslrootcert")
                && (user.ssl().get("sslcrl").isPresent() || user.ssl().get("sslcrldir").isPresent())) {
            // libpq says only "certificate verify failed", for a foreign CA and a revoked certificate alike: pgha's own
            // check of the same files tells them apart
            Optional<String> precise = jdbc.tlsDiagnosis(u.host(), u.port(), user, replication);
            if (precise.isPresent()) {
                tls = precise;
            }
        }
        if (tls.isPresent()) {
            return new TlsFailedException(tls.get(), member + ": " + what + ": " + u.hostPort() + " as user '" + user.name()
                    + "' with sslmode=" + user.ssl().mode() + " (" + r.tail() + ")");
        }
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
