package io.pgha.spi.support;

import io.pgha.spi.DcsListener;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link DcsListener} as a store's watch delivers to it: an exception the listener throws is
 * logged and kept out of the store client's thread, and once {@link #close()} has returned nothing
 * more is delivered (deliveries and closing share one lock; a listener must be quick and must not
 * block, as {@link DcsListener} says). Get one from {@link DcsListeners#add}, so that
 * {@link DcsListeners#leaseLost} reaches it too.
 */
public final class GuardedListener implements DcsListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GuardedListener.class);

    private final DcsListener listener;
    private final DcsListeners owner;
    // guarded by this
    private boolean closed;

    GuardedListener(DcsListener listener, DcsListeners owner) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.owner = owner;
    }

    /** Tells the listener that {@code path} changed (empty: something may have); nothing once closed. */
    @Override
    public synchronized void clusterChanged(Optional<String> path) {
        if (closed) {
            return;
        }
        try {
            listener.clusterChanged(path);
        } catch (RuntimeException e) {
            LOG.error("a DcsListener threw from clusterChanged", e);
        }
    }

    /** Tells the listener that the session's lease is gone for certain; nothing once closed. */
    @Override
    public synchronized void leaseLost(String reason) {
        if (closed) {
            return;
        }
        try {
            listener.leaseLost(reason);
        } catch (RuntimeException e) {
            LOG.error("a DcsListener threw from leaseLost", e);
        }
    }

    /** Whether {@link #close()} was called. */
    public synchronized boolean isClosed() {
        return closed;
    }

    /** Delivers nothing more and leaves its {@link DcsListeners}. Closing twice is harmless. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (owner != null) {
            owner.remove(this);
        }
    }
}
