package io.pgha.postgres;

import io.pgha.spi.PostgresException;

/**
 * A PostgreSQL program (initdb, pg_ctl, pg_basebackup, pg_rewind, ...) exited with an error. The
 * message carries the program, its exit code and the end of its output, with passwords removed.
 */
public class CommandFailedException extends PostgresException {
    private final String program;
    private final int exitCode;

    public CommandFailedException(String message, String program, int exitCode) {
        super(message);
        this.program = program;
        this.exitCode = exitCode;
    }

    /** The program's file name, e.g. {@code pg_rewind}. */
    public String program() {
        return program;
    }

    public int exitCode() {
        return exitCode;
    }
}
