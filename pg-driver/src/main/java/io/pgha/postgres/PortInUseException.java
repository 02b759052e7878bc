package io.pgha.postgres;

import io.pgha.spi.PostgresException;

/** Another process listens on the port the server is configured for. */
public class PortInUseException extends PostgresException {
    private final int port;

    public PortInUseException(String message, int port) {
        super(message);
        this.port = port;
    }

    /** The port that was taken. */
    public int port() {
        return port;
    }
}
