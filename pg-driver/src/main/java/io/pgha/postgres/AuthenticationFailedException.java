package io.pgha.postgres;

import io.pgha.spi.PostgresException;

/**
 * A server rejected pgha's credentials (a wrong password, or no {@code pg_hba.conf} entry). The
 * message names the user and the server, never the password.
 */
public class AuthenticationFailedException extends PostgresException {
    public AuthenticationFailedException(String message) {
        super(message);
    }

    public AuthenticationFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
