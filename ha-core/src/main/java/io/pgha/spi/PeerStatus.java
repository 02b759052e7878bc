package io.pgha.spi;

import java.util.Objects;

/**
 * What a peer says about itself when asked during a leader race (Patroni's {@code GET /patroni}).
 * A {@link PeerClient} builds one with {@link #builder(String)}, so that a field added later breaks
 * no implementation.
 *
 * @param member           the peer's name
 * @param running          its PostgreSQL is running
 * @param inRecovery       running as a standby
 * @param walPosition      its furthest WAL position (a primary's write LSN, a standby's received/replayed)
 * @param timeline         its current timeline
 * @param nofailover       it never takes part in a leader race
 * @param failoverPriority its priority for ties (higher wins; {@code 0} means never)
 * @param failsafeActive   failsafe mode is active there (Patroni's {@code failsafe_mode_is_active}): a standby
 *                         confirmed a primary's {@code POST /failsafe} within the ttl, or a primary runs on so
 */
public record PeerStatus(String member, boolean running, boolean inRecovery, Lsn walPosition, int timeline,
                         boolean nofailover, int failoverPriority, boolean failsafeActive) {
    public PeerStatus {
        Objects.requireNonNull(member, "member");
        Objects.requireNonNull(walPosition, "walPosition");
    }

    /** A status without failsafe mode active. */
    public PeerStatus(String member, boolean running, boolean inRecovery, Lsn walPosition, int timeline, boolean nofailover,
                      int failoverPriority) {
        this(member, running, inRecovery, walPosition, timeline, nofailover, failoverPriority, false);
    }

    /** A builder for {@code member}'s status: not running, WAL position 0, timeline 1, may fail over with priority 1. */
    public static Builder builder(String member) {
        return new Builder(member);
    }

    /** Builds a {@link PeerStatus}; unset fields keep the defaults {@link #builder(String)} names. */
    public static final class Builder {
        private final String member;
        private boolean running;
        private boolean inRecovery;
        private Lsn walPosition = Lsn.ZERO;
        private int timeline = 1;
        private boolean nofailover;
        private int failoverPriority = 1;
        private boolean failsafeActive;

        private Builder(String member) {
            this.member = Objects.requireNonNull(member, "member");
        }

        public Builder running(boolean running) {
            this.running = running;
            return this;
        }

        public Builder inRecovery(boolean inRecovery) {
            this.inRecovery = inRecovery;
            return this;
        }

        public Builder walPosition(Lsn walPosition) {
            this.walPosition = Objects.requireNonNull(walPosition, "walPosition");
            return this;
        }

        public Builder timeline(int timeline) {
            this.timeline = timeline;
            return this;
        }

        public Builder nofailover(boolean nofailover) {
            this.nofailover = nofailover;
            return this;
        }

        public Builder failoverPriority(int failoverPriority) {
            this.failoverPriority = failoverPriority;
            return this;
        }

        public Builder failsafeActive(boolean active) {
            this.failsafeActive = active;
            return this;
        }

        public PeerStatus build() {
            return new PeerStatus(member, running, inRecovery, walPosition, timeline, nofailover, failoverPriority, failsafeActive);
        }
    }
}
