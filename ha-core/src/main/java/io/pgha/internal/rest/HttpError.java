package io.pgha.internal.rest;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** A request the client got wrong: answered with this code and message. */
final class HttpError extends RuntimeException {
    final int code;

    HttpError(int code, String message) {
        super(message);
        this.code = code;
    }

    /** The message of a failure, unwrapped from the future that carried it, to answer with. */
    static String describe(Throwable e) {
        Throwable t = e;
        while ((t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
