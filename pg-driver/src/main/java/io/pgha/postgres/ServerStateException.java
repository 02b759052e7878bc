package io.pgha.postgres;

import io.pgha.spi.PostgresException;

/**
 * The operation does not fit the server's current state: promoting a primary, following while
 * running as a primary, rewinding a running server, or talking to a server of another cluster.
 */
public class ServerStateException extends PostgresException {
    public ServerStateException(String message) {
        super(message);
    }
}
