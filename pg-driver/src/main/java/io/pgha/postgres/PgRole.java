package io.pgha.postgres;

import java.util.List;
import java.util.Objects;

/**
 * A role created when a new cluster is bootstrapped (Patroni's {@code bootstrap.users}), with its
 * {@code CREATE ROLE} options as keywords ({@code CREATEDB}, {@code CREATEROLE}, ...).
 * {@link #toString()} never shows the password.
 */
record PgRole(PgUser user, List<String> options) {
    PgRole {
        Objects.requireNonNull(user, "user");
        options = List.copyOf(options);
    }
}
