package io.pgha.internal.decision;

import io.pgha.spi.StopMode;

/** Patroni's demotion modes (see {@code ha.py: Ha.demote}). */
public enum DemoteMode {
    /** DCS unreachable: stop fast, keep no lock (we cannot release it), come back read-only with no upstream. */
    OFFLINE(StopMode.FAST, false, false),
    /** Switchover: checkpoint, stop fast, release the lock once stopped. */
    GRACEFUL(StopMode.FAST, true, true),
    /** Node unfit to lead (start timeout): stop immediately, release the lock. */
    IMMEDIATE(StopMode.IMMEDIATE, false, true),
    /** Lock lost: stop immediately; there is no lock to release. */
    IMMEDIATE_NOLOCK(StopMode.IMMEDIATE, false, false);

    private final StopMode stopMode;
    private final boolean checkpointFirst;
    private final boolean releasesLock;

    DemoteMode(StopMode stopMode, boolean checkpointFirst, boolean releasesLock) {
        this.stopMode = stopMode;
        this.checkpointFirst = checkpointFirst;
        this.releasesLock = releasesLock;
    }

    public StopMode stopMode() {
        return stopMode;
    }

    public boolean checkpointFirst() {
        return checkpointFirst;
    }

    public boolean releasesLock() {
        return releasesLock;
    }
}
