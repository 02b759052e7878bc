package io.pgha.postgres;

import io.pgha.spi.PostgresException;

/**
 * The data directory cannot be used for what was asked: not empty when bootstrapping or cloning,
 * owned by another user, unreachable for the server's user, or not a PostgreSQL data directory.
 */
public class DataDirectoryException extends PostgresException {
    public DataDirectoryException(String message) {
        super(message);
    }

    public DataDirectoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
