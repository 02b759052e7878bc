package io.pgha.spi;

/**
 * The store could not be reached, or did not answer within {@code retry_timeout}. The outcome of
 * a write is <em>unknown</em>: it may or may not have been applied. This is different from losing
 * a compare-and-set, which a {@link DcsSession} reports as a {@code false} result.
 */
public class DcsUnreachableException extends DcsException {
    public DcsUnreachableException(String message) {
        super(message);
    }

    public DcsUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
