package io.pgha.postgres;

import io.pgha.spi.PostgresException;

/** The PostgreSQL programs pgha needs (initdb, pg_ctl, pg_basebackup, ...) are missing or of an unsupported version. */
public class BinaryNotFoundException extends PostgresException {
    public BinaryNotFoundException(String message) {
        super(message);
    }
}
