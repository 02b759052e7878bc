package io.pgha;

import java.time.Duration;
import java.util.Objects;

/**
 * A node's timing and replication settings, immutable. Built and validated by {@link HaNode.Builder};
 * the cluster's dynamic configuration ({@code config} key) overrides the cluster-wide ones at run
 * time, as in Patroni.
 *
 * @param ttl                  lease time to live: how long the leader key outlives the last renewal
 * @param loopWait             time between HA cycles
 * @param retryTimeout         bound on every DCS and PostgreSQL call
 * @param maximumLagOnFailover bytes a replica may be behind the leader's last optime and still be promoted
 * @param primaryStartTimeout  how long a crashed primary is restarted in place before failing over ({@code 0}: fail over at once)
 * @param fencingMargin        how long before its lease could expire a primary that could not renew stops writing
 * @param peerTimeout          bound on asking a peer for its status during a leader race
 * @param synchronousMode      synchronous replication mode
 * @param synchronousNodeCount how many synchronous standbys to keep
 * @param usePgRewind          rewind a diverged former primary instead of leaving it broken
 * @param checkTimeline        refuse to promote a member whose timeline is behind the cluster's
 */
public record HaSettings(Duration ttl, Duration loopWait, Duration retryTimeout, long maximumLagOnFailover,
                         Duration primaryStartTimeout, Duration fencingMargin, Duration peerTimeout,
                         SynchronousMode synchronousMode, int synchronousNodeCount, boolean usePgRewind,
                         boolean checkTimeline) {

    public static final Duration MIN_TTL = Duration.ofSeconds(2);
    public static final Duration MIN_LOOP_WAIT = Duration.ofMillis(100);
    public static final Duration MIN_RETRY_TIMEOUT = Duration.ofMillis(100);
    public static final Duration MIN_FENCING_MARGIN = Duration.ofMillis(50);

    public HaSettings {
        Objects.requireNonNull(ttl, "ttl");
        Objects.requireNonNull(loopWait, "loop_wait");
        Objects.requireNonNull(retryTimeout, "retry_timeout");
        Objects.requireNonNull(primaryStartTimeout, "primary_start_timeout");
        Objects.requireNonNull(fencingMargin, "fencing_margin");
        Objects.requireNonNull(peerTimeout, "peer_timeout");
        Objects.requireNonNull(synchronousMode, "synchronous_mode");
        requireAtLeast("ttl", ttl, MIN_TTL);
        requireAtLeast("loop_wait", loopWait, MIN_LOOP_WAIT);
        requireAtLeast("retry_timeout", retryTimeout, MIN_RETRY_TIMEOUT);
        requireAtLeast("fencing_margin", fencingMargin, MIN_FENCING_MARGIN);
        requireAtLeast("peer_timeout", peerTimeout, Duration.ofMillis(1));
        if (maximumLagOnFailover < 0) {
            throw new ConfigurationException("maximum_lag_on_failover", "must be >= 0, got " + maximumLagOnFailover);
        }
        if (primaryStartTimeout.isNegative()) {
            throw new ConfigurationException("primary_start_timeout", "must be >= 0, got " + primaryStartTimeout);
        }
        if (synchronousNodeCount < 1) {
            throw new ConfigurationException("synchronous_node_count", "must be >= 1, got " + synchronousNodeCount);
        }
        Duration cycle = loopWait.plus(retryTimeout.multipliedBy(2));
        if (cycle.compareTo(ttl) > 0) {
            throw new ConfigurationException("ttl", "loop_wait (" + fmt(loopWait) + ") + 2 * retry_timeout ("
                    + fmt(retryTimeout) + ") = " + fmt(cycle) + " must not exceed ttl (" + fmt(ttl)
                    + "), or a primary that lost the store could not demote before its lease expires");
        }
        Duration renewBudget = loopWait.plus(retryTimeout).plus(fencingMargin);
        if (renewBudget.compareTo(ttl) > 0) {
            throw new ConfigurationException("fencing_margin", "loop_wait (" + fmt(loopWait) + ") + retry_timeout ("
                    + fmt(retryTimeout) + ") + fencing_margin (" + fmt(fencingMargin) + ") = " + fmt(renewBudget)
                    + " must not exceed ttl (" + fmt(ttl) + "), or a renewal that succeeds late would fence a healthy primary");
        }
        if (fencingMargin.compareTo(ttl.dividedBy(2)) > 0) {
            throw new ConfigurationException("fencing_margin", "must not exceed half the ttl (" + fmt(ttl.dividedBy(2)) + "), got "
                    + fmt(fencingMargin));
        }
    }

    /** Patroni's defaults (ttl 30 s, loop_wait 10 s, retry_timeout 10 s, 1 MiB lag, 300 s start timeout). */
    public static HaSettings defaults() {
        return new HaSettings(Duration.ofSeconds(30), Duration.ofSeconds(10), Duration.ofSeconds(10), 1024 * 1024,
                Duration.ofSeconds(300), defaultFencingMargin(Duration.ofSeconds(30), Duration.ofSeconds(10)),
                Duration.ofSeconds(2), SynchronousMode.OFF, 1, true, false);
    }

    /** A tenth of the ttl, at least 100 ms, at most half the retry timeout (so the default always fits). */
    public static Duration defaultFencingMargin(Duration ttl, Duration retryTimeout) {
        Duration m = ttl.dividedBy(10);
        if (m.compareTo(Duration.ofMillis(100)) < 0) {
            m = Duration.ofMillis(100);
        }
        Duration cap = retryTimeout.dividedBy(2);
        if (m.compareTo(cap) > 0) {
            m = cap;
        }
        return m.compareTo(MIN_FENCING_MARGIN) < 0 ? MIN_FENCING_MARGIN : m;
    }

    private static void requireAtLeast(String name, Duration value, Duration min) {
        if (value.compareTo(min) < 0) {
            throw new ConfigurationException(name, "must be at least " + fmt(min) + ", got " + fmt(value));
        }
    }

    static String fmt(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + "s" : ms + "ms";
    }
}
