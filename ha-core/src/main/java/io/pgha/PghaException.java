package io.pgha;

/**
 * The root of every exception pgha throws. Unchecked: callers that can react to a specific
 * failure catch the specific subtype; everyone else lets it propagate.
 */
public class PghaException extends RuntimeException {
    public PghaException(String message) {
        super(message);
    }

    public PghaException(String message, Throwable cause) {
        super(message, cause);
    }
}
