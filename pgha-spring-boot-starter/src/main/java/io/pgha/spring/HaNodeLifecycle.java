package io.pgha.spring;

import io.pgha.HaNode;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the {@link HaNode} with the application context: starts it once the context is refreshed,
 * and on shutdown stops it gracefully — a leader stops PostgreSQL and releases the leader key, so a
 * replica takes over at once — completing Spring's stop callback when the node stopped, inside the
 * shutdown phase's timeout ({@code spring.lifecycle.timeout-per-shutdown-phase}).
 *
 * <p>Its phase ({@link #PHASE}) is above the web server's graceful-shutdown phase: the node hands
 * over first, while the application's web server still answers HAProxy's checks (with 503 for a
 * node that is no longer the primary), and starts after the web server is up.
 */
public class HaNodeLifecycle implements SmartLifecycle, DisposableBean {
    /** Stops before the web server's graceful shutdown ({@code DEFAULT_PHASE - 1024}), starts after the web server. */
    public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;

    private static final Logger LOG = LoggerFactory.getLogger(HaNodeLifecycle.class);

    private final HaNode node;
    private volatile boolean running;
    private volatile boolean started;

    public HaNodeLifecycle(HaNode node) {
        this.node = Objects.requireNonNull(node, "node");
    }

    @Override
    public void start() {
        if (!started) {
            started = true;
            node.start();
            running = true;
            LOG.info("{} started", node);
        }
    }

    @Override
    public void stop() {
        node.close();
        running = false;
    }

    @Override
    public void stop(Runnable callback) {
        LOG.info("{} stopping gracefully", node);
        node.closeAsync().whenComplete((v, e) -> {
            running = false;
            if (e != null) {
                LOG.warn("{} stopped with an error", node, e);
            }
            callback.run();
        });
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /** A node built but never started (the context failed to refresh) still owns threads: close it. */
    @Override
    public void destroy() {
        if (!started) {
            node.close();
        }
    }
}
