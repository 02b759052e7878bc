package io.pgha.spi;

import io.pgha.PghaException;

/**
 * The store refused or failed a request for a reason other than being out of reach (for example
 * an authentication or permission error). The outcome of the request is unknown only when the
 * subtype says so.
 */
public class DcsException extends PghaException {
    public DcsException(String message) {
        super(message);
    }

    public DcsException(String message, Throwable cause) {
        super(message, cause);
    }
}
