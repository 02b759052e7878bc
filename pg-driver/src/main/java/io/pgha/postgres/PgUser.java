package io.pgha.postgres;

import java.util.Objects;

/**
 * A database role pgha logs in as. {@link #toString()} never shows the password. An empty password
 * (only the superuser may have one) means the role has none: pgha logs in over the local socket
 * with peer authentication.
 */
record PgUser(String name, String password) {
    PgUser {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(password, "password");
    }

    boolean hasPassword() {
        return !password.isEmpty();
    }

    @Override
    public String toString() {
        return name + "/" + Redactor.MASK;
    }
}
