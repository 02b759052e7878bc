package io.pgha.internal.decision;

import io.pgha.ConfigurationException;
import io.pgha.HaSettings;
import io.pgha.SynchronousMode;
import io.pgha.internal.cluster.DynamicConfig;
import io.pgha.internal.cluster.StandbyCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The settings one cycle runs with: the node's own {@link HaSettings} overridden by the cluster's
 * dynamic configuration, adjusted (never rejected) when the combination would be unsafe, as
 * Patroni does. The lease's ttl is fixed for the life of the session and is not taken from the
 * store.
 */
public record EffectiveConfig(HaSettings settings, boolean paused, List<String> warnings,
                              java.util.Optional<StandbyCluster> standbyCluster, java.util.Optional<String> unreadableStandbyCluster) {
    /** Logged once by each node of a standby cluster whose dynamic configuration asks for synchronous mode. */
    public static final String SYNC_IGNORED_IN_STANDBY_CLUSTER =
            "synchronous_mode is ignored in a standby cluster (as in Patroni): the standby leader streams asynchronously";

    public EffectiveConfig {
        warnings = List.copyOf(warnings);
        java.util.Objects.requireNonNull(standbyCluster);
        java.util.Objects.requireNonNull(unreadableStandbyCluster);
    }

    public EffectiveConfig(HaSettings settings, boolean paused, List<String> warnings) {
        this(settings, paused, warnings, java.util.Optional.empty(), java.util.Optional.empty());
    }

    /**
     * This configuration with the {@code standby_cluster} section of {@code dynamic} (see
     * {@link #withStandbyCluster}); a section of the wrong shape is kept as
     * {@link #unreadableStandbyCluster()}, so no node promotes or runs initdb because of a typo in it.
     */
    public EffectiveConfig withStandbyClusterOf(DynamicConfig dynamic) {
        EffectiveConfig c = withStandbyCluster(dynamic.standbyCluster());
        return new EffectiveConfig(c.settings, c.paused, c.warnings, c.standbyCluster, dynamic.standbyClusterProblem());
    }

    public static EffectiveConfig of(HaSettings s) {
        return new EffectiveConfig(s, false, List.of());
    }

    /**
     * This configuration in a standby cluster (or not, when empty): synchronous mode is off there,
     * as in Patroni, with a warning when it was asked for.
     */
    public EffectiveConfig withStandbyCluster(java.util.Optional<StandbyCluster> standby) {
        if (standby.isEmpty() || !settings.synchronousMode().enabled()) {
            return new EffectiveConfig(settings, paused, warnings, standby, java.util.Optional.empty());
        }
        List<String> w = new ArrayList<>(warnings);
        w.add(SYNC_IGNORED_IN_STANDBY_CLUSTER);
        HaSettings s = new HaSettings(settings.ttl(), settings.loopWait(), settings.retryTimeout(), settings.maximumLagOnFailover(),
                settings.primaryStartTimeout(), settings.fencingMargin(), settings.peerTimeout(), SynchronousMode.OFF,
                settings.synchronousNodeCount(), settings.usePgRewind(), settings.checkTimeline());
        return new EffectiveConfig(s, paused, w, standby, java.util.Optional.empty());
    }

    /** Whether the cluster is a standby cluster (Patroni's {@code is_standby_cluster}). */
    public boolean isStandbyCluster() {
        return standbyCluster.isPresent();
    }

    public static EffectiveConfig merge(HaSettings local, DynamicConfig dynamic) {
        return merge(local, dynamic, local.ttl());
    }

    /**
     * @param leaseGuarantee how long the store certainly keeps a renewed lease (the session's
     *                       {@code leaseGuarantee()}); when shorter than the ttl, it is the ttl the
     *                       engine's belief and timings work with
     */
    public static EffectiveConfig merge(HaSettings local, DynamicConfig dynamic, Duration leaseGuarantee) {
        List<String> warnings = new ArrayList<>();
        Duration requested = local.ttl();
        dynamic.ttl().filter(t -> !t.equals(requested)).ifPresent(t -> warnings.add(
                "ttl " + t.toMillis() + "ms in the dynamic configuration differs from this node's " + requested.toMillis()
                        + "ms; the lease keeps this node's ttl until the node restarts"));
        Duration ttl = requested;
        if (leaseGuarantee.compareTo(requested) < 0) {
            ttl = leaseGuarantee;
            warnings.add("the store guarantees a renewed lease for only " + leaseGuarantee.toMillis() + "ms of the ttl "
                    + requested.toMillis() + "ms; leadership is believed, and timings fitted, within that");
        }
        Duration loopWait = dynamic.loopWait().orElse(local.loopWait());
        Duration retry = dynamic.retryTimeout().orElse(local.retryTimeout());
        if (loopWait.compareTo(HaSettings.MIN_LOOP_WAIT) < 0) {
            warnings.add("loop_wait raised to the minimum " + HaSettings.MIN_LOOP_WAIT.toMillis() + "ms");
            loopWait = HaSettings.MIN_LOOP_WAIT;
        }
        if (retry.compareTo(HaSettings.MIN_RETRY_TIMEOUT) < 0) {
            warnings.add("retry_timeout raised to the minimum " + HaSettings.MIN_RETRY_TIMEOUT.toMillis() + "ms");
            retry = HaSettings.MIN_RETRY_TIMEOUT;
        }
        if (loopWait.plus(retry.multipliedBy(2)).compareTo(ttl) > 0) {
            Duration adjusted = ttl.minus(retry.multipliedBy(2));
            if (adjusted.compareTo(HaSettings.MIN_LOOP_WAIT) >= 0) {
                warnings.add("loop_wait lowered to " + adjusted.toMillis() + "ms so that loop_wait + 2*retry_timeout <= ttl");
                loopWait = adjusted;
            } else {
                loopWait = HaSettings.MIN_LOOP_WAIT;
                retry = ttl.minus(loopWait).dividedBy(2);
                warnings.add("loop_wait and retry_timeout lowered to " + loopWait.toMillis() + "ms and " + retry.toMillis()
                        + "ms so that loop_wait + 2*retry_timeout <= ttl");
            }
        }
        Duration margin = local.fencingMargin();
        Duration maxMargin = ttl.minus(loopWait).minus(retry);
        if (margin.compareTo(maxMargin) > 0) {
            margin = maxMargin.compareTo(HaSettings.MIN_FENCING_MARGIN) < 0 ? HaSettings.MIN_FENCING_MARGIN : maxMargin;
            warnings.add("fencing_margin lowered to " + margin.toMillis() + "ms to fit loop_wait + retry_timeout + fencing_margin <= ttl");
        }
        long lag = dynamic.maximumLagOnFailover().orElse(local.maximumLagOnFailover());
        if (lag < 0) {
            warnings.add("maximum_lag_on_failover " + lag + " ignored: must be >= 0");
            lag = local.maximumLagOnFailover();
        }
        Duration startTimeout = dynamic.primaryStartTimeout().orElse(local.primaryStartTimeout());
        SynchronousMode mode = dynamic.synchronousMode().orElse(local.synchronousMode());
        int count = dynamic.synchronousNodeCount().orElse(local.synchronousNodeCount());
        if (count < 1) {
            warnings.add("synchronous_node_count " + count + " ignored: must be >= 1");
            count = local.synchronousNodeCount();
        }
        boolean rewind = dynamic.usePgRewind().orElse(local.usePgRewind());
        boolean checkTimeline = dynamic.checkTimeline().orElse(local.checkTimeline());
        boolean paused = dynamic.paused().orElse(false);
        dynamic.standbyCluster(); // read before the problems are collected, so a bad section is named
        warnings.addAll(dynamic.problems());
        HaSettings merged;
        try {
            merged = new HaSettings(ttl, loopWait, retry, lag, startTimeout, margin, local.peerTimeout(), mode, count, rewind,
                    checkTimeline);
        } catch (ConfigurationException e) {
            warnings.add("dynamic configuration ignored: " + e.getMessage());
            merged = local;
        }
        return new EffectiveConfig(merged, paused, warnings).withStandbyClusterOf(dynamic);
    }

    public long ttlNanos() {
        return settings.ttl().toNanos();
    }

    public long loopWaitNanos() {
        return settings.loopWait().toNanos();
    }

    public SynchronousMode syncMode() {
        return settings.synchronousMode();
    }
}
