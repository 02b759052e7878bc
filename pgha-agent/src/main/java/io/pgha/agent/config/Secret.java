package io.pgha.agent.config;

import java.util.Arrays;
import java.util.Objects;

/** A password from the configuration. Never printed: {@link #toString()} masks it. */
public final class Secret {
    private final char[] value;

    public Secret(String value) {
        this.value = Objects.requireNonNull(value).toCharArray();
    }

    /** A copy of the secret; wipe it after use. */
    public char[] reveal() {
        return value.clone();
    }

    public String revealString() {
        return new String(value);
    }

    public boolean isEmpty() {
        return value.length == 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Secret s && Arrays.equals(value, s.value);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(value);
    }

    @Override
    public String toString() {
        return "****";
    }
}
