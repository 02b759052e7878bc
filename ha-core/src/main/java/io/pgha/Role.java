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
    /** Runs as a primary without holding the leader lock: the engine is demoting it. */
    DEMOTING,
    /** Stopped for good by a fatal error (for example a system identifier that belongs to another cluster). */
    FAILED
}
