package io.pgha.postgres;

import java.util.Objects;

/** A database role pgha logs in as. {@link #toString()} never shows the password. */
record PgUser(String name, String password) {
    PgUser {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(password, "password");
    }

    @Override
    public String toString() {
        return name + "/" + Redactor.MASK;
    }
}
