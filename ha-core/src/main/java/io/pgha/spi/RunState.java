package io.pgha.spi;

/** What the postmaster is doing, as the controller observed it. */
public enum RunState {
    /** There is no usable data directory (missing or empty): the node must bootstrap or clone. */
    UNINITIALIZED,
    /** Cleanly stopped. */
    STOPPED,
    /** Not running, and the last shutdown was not clean (postmaster killed, machine crashed). */
    CRASHED,
    /** Started but not yet accepting connections (crash recovery, catching up). */
    STARTING,
    /** Accepting connections. */
    RUNNING;

    /** True for {@link #STOPPED} and {@link #CRASHED}. */
    public boolean isDown() {
        return this == STOPPED || this == CRASHED;
    }
}
