package io.pgha.spi;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * When a running server started and how far its replay has come in time, as Patroni reports them
 * ({@code postmaster_start_time}, {@code xlog.replayed_timestamp}, {@code xlog.paused}).
 *
 * @param postmasterStart {@code pg_postmaster_start_time()}; empty when not running or unknown
 * @param lastReplayed    standby: {@code pg_last_xact_replay_timestamp()}, the commit time of the last
 *                        transaction replayed; empty on a primary or before any was replayed
 * @param replayPaused    standby: {@code pg_is_wal_replay_paused()}
 */
public record ServerTimes(Optional<Instant> postmasterStart, Optional<Instant> lastReplayed, boolean replayPaused) {
    /** Nothing known (a server that does not run, or a controller that does not read them). */
    public static final ServerTimes UNKNOWN = new ServerTimes(Optional.empty(), Optional.empty(), false);

    public ServerTimes {
        Objects.requireNonNull(postmasterStart, "postmasterStart");
        Objects.requireNonNull(lastReplayed, "lastReplayed");
    }
}
