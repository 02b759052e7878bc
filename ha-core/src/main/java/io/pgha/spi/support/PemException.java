package io.pgha.spi.support;

import io.pgha.ConfigurationException;

import java.util.Objects;

/**
 * A PEM file pgha cannot use: which setting named it ({@link #setting()}) and what is wrong with it
 * ({@link #problem()}). The message names the file, never its content or a passphrase.
 */
public final class PemException extends ConfigurationException {
    /** What is wrong with the file. */
    public enum Problem {
        /** Not PEM at all, or a block that does not decode. */
        NOT_PEM,
        /** A certificate file without a certificate. */
        NO_CERTIFICATE,
        /** A key file without a private key block. */
        NO_KEY,
        /** A key or an encryption pgha does not read (with the openssl command that converts it). */
        UNSUPPORTED_FORMAT,
        /** An encrypted key and no passphrase. */
        PASSWORD_REQUIRED,
        /** An encrypted key the passphrase does not decrypt. */
        WRONG_PASSWORD
    }

    private final Problem problem;
    private final java.nio.file.Path path;

    PemException(PemTls.PemFile file, Problem problem, String message) {
        super(file.setting(), message);
        this.problem = Objects.requireNonNull(problem, "problem");
        this.path = file.path();
    }

    public Problem problem() {
        return problem;
    }

    /** The file that was read. */
    public java.nio.file.Path path() {
        return path;
    }
}
