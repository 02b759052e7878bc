package io.pgha.dcs.zookeeper;

import io.pgha.spi.Subscription;
import io.pgha.spi.support.GuardedListener;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One persistent recursive watch on the cluster node (ZooKeeper 3.6+): it reports every create,
 * change and delete below it, including the expiry of other sessions' ephemeral nodes, by its path
 * relative to the cluster, without being re-armed after each event. It survives a reconnect within
 * the ZooKeeper session (the client re-registers it); for a new session the {@link ZkSession} arms
 * it again and reports the reconnection as an unknown change, since events are not replayed for the
 * time away.
 */
final class ZkWatch implements Watcher, Subscription {
    private static final Logger LOG = LoggerFactory.getLogger(ZkWatch.class);

    private final ZkLayout layout;
    private final String label;
    /** The caller's listener, registered with the session's listeners (which also tell it of a lost lease). */
    private final GuardedListener listener;
    private final Consumer<ZkWatch> onClose;
    private volatile boolean stopped;
    private volatile ZooKeeper armedOn;

    ZkWatch(ZkLayout layout, String label, GuardedListener listener, Consumer<ZkWatch> onClose) {
        this.layout = layout;
        this.label = label;
        this.listener = listener;
        this.onClose = onClose;
    }

    /** Adds the watch on {@code zk}'s session (again after a new session). */
    void arm(ZooKeeper zk) {
        if (stopped) {
            return;
        }
        armedOn = zk;
        Zk.addWatch(zk, layout.base, this, AddWatchMode.PERSISTENT_RECURSIVE).whenComplete((v, e) -> {
            if (e != null) {
                LOG.debug("{}: adding the watch failed ({}); it is added again on reconnection", label, ZkConnection.describe(e));
            }
        });
    }

    @Override
    public void process(WatchedEvent event) {
        if (stopped || event.getType() == Event.EventType.None
                || event.getType() == Event.EventType.PersistentWatchRemoved) {
            return;
        }
        Optional<String> rel = layout.relative(event.getPath());
        if (rel != null) {
            changed(rel);
        }
    }

    /** Tells the listener that {@code path} changed (empty: something may have). */
    void changed(Optional<String> path) {
        if (stopped) {
            return;
        }
        listener.clusterChanged(path);
    }

    @Override
    public void close() {
        if (stopped) {
            return;
        }
        stopped = true;
        listener.close();
        onClose.accept(this);
        ZooKeeper zk = armedOn;
        if (zk != null && zk.getState().isAlive()) {
            try {
                zk.removeWatches(layout.base, this, WatcherType.PersistentRecursive, true, (rc, p, ctx) -> { }, null);
            } catch (RuntimeException e) {
                LOG.debug("{}: removing the watch failed: {}", label, e.toString());
            }
        }
    }
}
