package io.pgha.spi.support;

import io.pgha.spi.DcsListener;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The listeners of one session, for the fan-out every store does: a lease found gone reaches every
 * open watch's listener ({@link #leaseLost}), a reconnection after which changes may have been
 * missed reaches them all as "unknown" ({@link #clusterChanged}). Each listener sits behind a
 * {@link GuardedListener}, so one that throws cannot stop the others and none hears anything after
 * its watch closed. Thread-safe.
 */
public final class DcsListeners {
    private final List<GuardedListener> listeners = new CopyOnWriteArrayList<>();

    /** Registers {@code listener} behind a guard; closing the guard unregisters it. */
    public GuardedListener add(DcsListener listener) {
        GuardedListener g = new GuardedListener(listener, this);
        listeners.add(g);
        return g;
    }

    void remove(GuardedListener g) {
        listeners.remove(g);
    }

    /** Tells every registered listener that the lease is gone for certain. */
    public void leaseLost(String reason) {
        for (GuardedListener g : listeners) {
            g.leaseLost(reason);
        }
    }

    /** Tells every registered listener that {@code path} changed (empty: something may have). */
    public void clusterChanged(Optional<String> path) {
        for (GuardedListener g : listeners) {
            g.clusterChanged(path);
        }
    }

    /** Closes every registered guard (a session that closes); nothing is delivered after this returns. */
    public void closeAll() {
        for (GuardedListener g : listeners) {
            g.close();
        }
    }

    /** How many listeners are registered. */
    public int size() {
        return listeners.size();
    }
}
