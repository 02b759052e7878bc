package io.pgha.spi;

import io.pgha.PghaException;

/**
 * A PostgreSQL operation failed. Implementations throw subtypes that name the problem (a missing
 * binary, a busy port, a timeout); the message never contains a password.
 */
public class PostgresException extends PghaException {
    public PostgresException(String message) {
        super(message);
    }

    public PostgresException(String message, Throwable cause) {
        super(message, cause);
    }
}
