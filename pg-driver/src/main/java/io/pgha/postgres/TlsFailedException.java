package io.pgha.postgres;

import io.pgha.spi.PostgresException;

import java.util.Objects;

/**
 * A TLS connection to PostgreSQL failed on pgha's side of the handshake: the server's certificate
 * is not signed by a CA in {@code sslrootcert}, does not name the host ({@code sslmode=verify-full}),
 * is revoked ({@code sslcrl}), or the server does not offer TLS where {@code sslmode} requires it.
 * {@link #setting()} is the Patroni key to look at ({@code postgresql.authentication.replication.sslrootcert}).
 * The message names the server, the role and that key, never a password or passphrase.
 */
public class TlsFailedException extends PostgresException {
    private final String setting;

    public TlsFailedException(String setting, String message) {
        super(Objects.requireNonNull(setting, "setting") + ": " + message);
        this.setting = setting;
    }

    /** The key whose value refused the connection, in Patroni's spelling. */
    public String setting() {
        return setting;
    }
}
