package io.pgha.internal.engine;

import io.pgha.HaEvent;
import io.pgha.HaListener;
import io.pgha.NodeStatus;
import io.pgha.Role;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.decision.Decision;
import io.pgha.internal.decision.EffectiveConfig;
import io.pgha.internal.decision.LeaseView;
import io.pgha.spi.PostgresState;
import java.time.Instant;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the node tells the world: its role and the reason of its last decision, the
 * {@link NodeStatus} and {@link EngineView} that {@code HaNode.status()} and the REST API read
 * (immutable, published whole), the events for the listeners, and each warning once. Lane-confined,
 * except the published status and view.
 */
final class NodeReport {
    private static final Logger LOG = LoggerFactory.getLogger(NodeReport.class);

    private final EngineConfig cfg;
    private final String me;
    /** True once the node must not say anything any more (a simulated crash). */
    private final BooleanSupplier silenced;
    private final Set<String> warned = new HashSet<>();
    private Role role = Role.STOPPED;
    private String reason = "not started";
    private volatile NodeStatus status;
    private volatile EngineView view;

    NodeReport(EngineConfig cfg, EffectiveConfig config, BooleanSupplier silenced) {
        this.cfg = cfg;
        this.me = cfg.name();
        this.silenced = silenced;
        this.status = new NodeStatus(me, cfg.scope(), Role.STOPPED, Optional.empty(), false, Optional.empty(), false,
                Optional.empty(), false, reason, 0, cfg.postgres().externalFence());
        this.view = new EngineView(status, Optional.empty(), Optional.empty(), LeaseView.NOT_HELD, config, cfg.ticker().read(),
                Optional.empty());
    }

    Role role() {
        return role;
    }

    NodeStatus status() {
        return status;
    }

    EngineView view() {
        return view;
    }

    /**
     * Keeps the reason of a decision; logged at info when it changed beyond its details, so that a
     * condition that lasts (the store unreachable, with a cause and a time left that differ each
     * cycle) is one line, and the next line is the change.
     */
    void decided(Decision d) {
        if (!condition(d.reason()).equals(condition(reason))) {
            LOG.info("{}: {}{}", me, d.reason(), d.isNothing() ? "" : " -> " + d.describe());
        } else {
            LOG.debug("{}: {}", me, d.reason());
        }
        reason = d.reason();
    }

    /** Reasons whose details (in parentheses: the cause, the time left) change from cycle to cycle while the condition lasts. */
    private static final java.util.List<String> LASTING_CONDITIONS = java.util.List.of("DCS is not accessible (",
            "could not observe postgres (");

    /**
     * A reason as a condition: for a lasting condition (the store unreachable, PostgreSQL not
     * observable) without what is in parentheses; any other reason as it is (a member name in
     * parentheses, "following a leader ('n2')", is a change worth a line).
     */
    static String condition(String reason) {
        if (LASTING_CONDITIONS.stream().noneMatch(reason::startsWith)) {
            return reason;
        }
        StringBuilder sb = new StringBuilder(reason.length());
        int depth = 0;
        for (int i = 0; i < reason.length(); i++) {
            char c = reason.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')' && depth > 0) {
                depth--;
            } else if (depth == 0) {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    void setRole(Role next) {
        if (next != role) {
            Role before = role;
            role = next;
            LOG.info("{}: role {} -> {}", me, before, next);
            emit(new HaEvent.RoleChanged(me, before, next, reason));
        }
    }

    /**
     * Publishes what the node knows now.
     *
     * @param cluster       the last cluster read (kept while the store is unreachable)
     * @param actionRunning the long action in progress, described
     */
    void publish(Optional<Cluster> cluster, LeaseView lease, Optional<PostgresState> postgres, boolean storeReachable,
                 Optional<Instant> storeLastSeen, EffectiveConfig config, long cycles, long lastCycleAt, Optional<String> actionRunning,
                 long cyclesCompleted, long cycleNanos) {
        boolean holds = cluster.map(c -> c.isLeader(me)).orElse(false) && lease.isValid(cfg.ticker().read());
        status = new NodeStatus(me, cfg.scope(), role, cluster.flatMap(Cluster::leader), holds, postgres, storeReachable,
                storeLastSeen, config.paused(), reason, cycles, cfg.postgres().externalFence(), cyclesCompleted,
                java.time.Duration.ofNanos(cycleNanos));
        view = new EngineView(status, cluster, postgres, lease, config, lastCycleAt, actionRunning);
    }

    void warnOnce(String warning) {
        if (warned.add(warning)) {
            LOG.warn("{}: {}", me, warning);
        }
    }

    /** Hands an event to every listener on the listener executor; a listener that fails is logged and skipped. */
    void emit(HaEvent e) {
        if (silenced.getAsBoolean()) {
            return;
        }
        for (HaListener l : cfg.listeners()) {
            try {
                cfg.listenerExecutor().execute(() -> {
                    try {
                        l.onEvent(e);
                    } catch (RuntimeException ex) {
                        LOG.warn("{}: an event listener failed on {}", me, e, ex);
                    }
                });
            } catch (RuntimeException ex) {
                LOG.warn("{}: could not deliver {}", me, e, ex);
            }
        }
    }
}
