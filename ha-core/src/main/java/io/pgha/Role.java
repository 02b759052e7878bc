package io.pgha;

/** The role of a node, derived each cycle from its PostgreSQL and its hold on the leader lock. */
public enum Role {
    /** No data directory yet: waiting to bootstrap or to clone. */
    UNINITIALIZED,
    /** PostgreSQL is not running (stopped, crashed, fenced). */
    STOPPED,
    /** PostgreSQL is starting (crash recovery, catching up). */
    STARTING,
    /** A read-only standby. */
    REPLICA,
    /** Accepts writes and holds the leader lock. */
    PRIMARY,
    /**
     * Holds the leader lock in a standby cluster (Patroni's {@code standby_cluster}): a read-only
     * standby that streams from the remote primary and that the other members cascade from. It is
     * never promoted while the cluster stays a standby cluster.
     */
    STANDBY_LEADER,
    /** Runs as a primary without holding the leader lock: the engine is demoting it. */
    DEMOTING,
    /** Stopped for good by a fatal error (for example a system identifier that belongs to another cluster). */
    FAILED
}
