package io.pgha.postgres;

import io.pgha.spi.PostgresException;

/** A server or a PostgreSQL program did not answer or finish within its time limit. */
public class PostgresTimeoutException extends PostgresException {
    public PostgresTimeoutException(String message) {
        super(message);
    }

    public PostgresTimeoutException(String message, Throwable cause) {
        super(message, cause);
    }
}
