package io.pgha.spi;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What a {@link Dcs} needs to open one member's session on one cluster.
 *
 * @param scope        the cluster name (Patroni's {@code scope})
 * @param member       this member's name, or empty for a read-only observer (a CLI) that never
 *                     takes the leader key nor writes a member entry
 * @param ttl          lease / session time to live: the leader key and the member entry vanish this
 *                     long after the last successful renewal
 * @param retryTimeout the bound on every call; a call that cannot finish in time fails with
 *                     {@link DcsUnreachableException}
 */
public record SessionSpec(String scope, Optional<String> member, Duration ttl, Duration retryTimeout) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    public SessionSpec {
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(member, "member");
        Objects.requireNonNull(ttl, "ttl");
        Objects.requireNonNull(retryTimeout, "retryTimeout");
        if (!NAME.matcher(scope).matches()) {
            throw new IllegalArgumentException("scope '" + scope + "' must match " + NAME.pattern());
        }
        member.ifPresent(m -> {
            if (!NAME.matcher(m).matches()) {
                throw new IllegalArgumentException("member name '" + m + "' must match " + NAME.pattern());
            }
        });
        if (ttl.isNegative() || ttl.isZero() || retryTimeout.isNegative() || retryTimeout.isZero()) {
            throw new IllegalArgumentException("ttl and retryTimeout must be positive");
        }
    }

    /** A member's session. */
    public static SessionSpec member(String scope, String member, Duration ttl, Duration retryTimeout) {
        return new SessionSpec(scope, Optional.of(member), ttl, retryTimeout);
    }

    /** A read-only observer's session (no lease is created). */
    public static SessionSpec observer(String scope, Duration retryTimeout) {
        return new SessionSpec(scope, Optional.empty(), Duration.ofSeconds(30), retryTimeout);
    }

    /** The member name; throws for an observer session. */
    public String memberName() {
        return member.orElseThrow(() -> new IllegalStateException("an observer session has no member name"));
    }

    /** The rule member and scope names follow (letters, digits, '.', '_', '-'; at most 63). */
    public static boolean isValidName(String name) {
        return name != null && NAME.matcher(name).matches();
    }
}
