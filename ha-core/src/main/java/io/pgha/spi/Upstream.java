package io.pgha.spi;

import java.util.Objects;

/**
 * A member to replicate or clone from.
 *
 * @param member        its member name (becomes nothing on the wire; used for logs and slots)
 * @param connectionUrl its {@code conn_url} from the member entry, e.g.
 *                      {@code postgres://10.0.0.5:5432/postgres}; never carries a password
 */
public record Upstream(String member, String connectionUrl) {
    public Upstream {
        Objects.requireNonNull(member, "member");
        Objects.requireNonNull(connectionUrl, "connectionUrl");
    }
}
