package io.pgha.internal.engine;

import io.pgha.spi.Lsn;

/** How this member answers a primary's {@code POST /failsafe}. */
public sealed interface FailsafeAnswer {
    /** Accepted; with this member's received/replayed position (Patroni's {@code lsn} header). */
    record Accepted(Lsn position) implements FailsafeAnswer {
    }

    /** Refused: this member runs as a primary itself. */
    record RunningAsLeader() implements FailsafeAnswer {
    }

    /** Refused: failsafe_mode is off here. */
    record NotEnabled() implements FailsafeAnswer {
    }
}
