package io.pgha.postgres;

import java.util.Objects;

/**
 * A database role pgha logs in as, with the TLS keys of its connections. {@link #toString()} never
 * shows the password or the key's passphrase. An empty password (only the superuser may have one)
 * means the role has none: pgha logs in over the local socket with peer authentication.
 */
record PgUser(String name, String password, PgSsl ssl) {
    PgUser {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(password, "password");
        Objects.requireNonNull(ssl, "ssl");
    }

    PgUser(String name, String password) {
        this(name, password, PgSsl.NONE);
    }

    boolean hasPassword() {
        return !password.isEmpty();
    }

    PgUser withSsl(PgSsl s) {
        return new PgUser(name, password, s);
    }

    /** The section of pgha's service file that holds this role's {@code sslpassword}. */
    String serviceName() {
        return "pgha_" + ssl.setting().substring(ssl.setting().lastIndexOf('.') + 1);
    }

    @Override
    public String toString() {
        return name + "/" + Redactor.MASK + (ssl.configured() ? " " + ssl : "");
    }
}
