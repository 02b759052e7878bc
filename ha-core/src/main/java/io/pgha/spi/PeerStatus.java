package io.pgha.spi;

import java.util.Objects;

/**
 * What a peer says about itself when asked during a leader race (Patroni's {@code GET /patroni}).
 *
 * @param member           the peer's name
 * @param running          its PostgreSQL is running
 * @param inRecovery       running as a standby
 * @param walPosition      its furthest WAL position (a primary's write LSN, a standby's received/replayed)
 * @param timeline         its current timeline
 * @param nofailover       it never takes part in a leader race
 * @param failoverPriority its priority for ties (higher wins; {@code 0} means never)
 */
public record PeerStatus(String member, boolean running, boolean inRecovery, Lsn walPosition, int timeline,
                         boolean nofailover, int failoverPriority) {
    public PeerStatus {
        Objects.requireNonNull(member, "member");
        Objects.requireNonNull(walPosition, "walPosition");
    }
}
