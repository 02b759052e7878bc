package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.watch.WatchEvent;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.Subscription;
import io.pgha.spi.support.GuardedListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One session's watch on its cluster prefix: a subscriber of the {@link EtcdDcs}'s one
 * {@link SharedWatch}, which survives disconnections and compaction and hands it the events of its
 * prefix.
 *
 * <p>A watch that starts, on a watch opened from "now" or one already running, reports
 * {@link Optional#empty()} once it is registered: a change made between the caller's last read and
 * that moment is then not lost. So does one whose position was compacted away.
 *
 * <p>The shared watch calls in under its lock, in etcd's order. This class updates the session's
 * {@link WatchCache} right there, so a change is in the cache before the engine hears of it, and
 * queues everything else (the listener's calls, noticing the session's own member entry or a key
 * of its lease deleted) on a {@link SerialExecutor} of its own: a slow or throwing listener holds
 * up only its own session, never the shared watch nor another session's deliveries. Once
 * {@link #close()} returned nothing is delivered ({@link GuardedListener} shares a lock with the
 * delivery under way and refuses the later ones).
 */
final class EtcdWatch implements Subscription, SharedWatch.Subscriber {
    private final EtcdSession session;
    private final EtcdLease lease;
    private final EtcdLayout layout;
    private final SharedWatch shared;
    /** The caller's listener, registered with the session's listeners (which also tell it of a lost lease). */
    private final GuardedListener listener;
    private final SerialExecutor deliveries;
    private final String memberPath;
    /** The session's cache this watch keeps up to date, or null. */
    private final WatchCache cache;
    private final AtomicBoolean closed = new AtomicBoolean();

    // guarded by the shared watch's lock (the Subscriber methods are called under it)
    /** This watch has been started once: a resumed shared watch carries on for it without a gap. */
    private boolean started;

    EtcdWatch(EtcdSession session, EtcdLayout layout, EtcdLease lease, SharedWatch shared, Executor callbacks,
              GuardedListener listener, WatchCache cache) {
        this.session = session;
        this.lease = lease;
        this.cache = cache;
        this.layout = layout;
        this.shared = shared;
        this.listener = listener;
        this.deliveries = new SerialExecutor(callbacks);
        this.memberPath = session.memberName().map(m -> ClusterKey.MEMBERS_PREFIX + m).orElse(null);
    }

    void start() {
        shared.subscribe(this);
        if (closed.get()) {
            // the session closed this watch before it had subscribed: close()'s unsubscribe came too early
            shared.unsubscribe(this);
        }
    }

    // ================================================================== from the shared watch, under its lock

    @Override
    public ByteSequence prefix() {
        return layout.prefixBytes();
    }

    @Override
    public void started(long next, boolean resumed) {
        boolean carriesOn = resumed && started;
        started = true;
        if (cache != null) {
            cache.watchStarted(next, carriesOn);
        }
        if (!carriesOn) {
            deliveries.execute(() -> listener.clusterChanged(Optional.empty()));
        }
    }

    @Override
    public void watched(List<WatchEvent> events, long next) {
        if (cache != null) {
            // before the engine hears of the change, so that its next read sees it
            cache.watched(events, next);
        }
        if (events.isEmpty()) {
            return;
        }
        List<Optional<String>> report = new ArrayList<>(events.size());
        List<Long> deletedLeases = new ArrayList<>();
        boolean memberDeleted = false;
        for (WatchEvent e : events) {
            KeyValue kv = e.getKeyValue();
            Optional<String> path = layout.relative(kv.getKey());
            report.add(path);
            if (e.getEventType() == WatchEvent.EventType.DELETE) {
                KeyValue prev = e.getPrevKV();
                if (prev != null && prev.getLease() != 0) {
                    deletedLeases.add(prev.getLease());
                }
                if (memberPath != null && path.filter(memberPath::equals).isPresent()) {
                    memberDeleted = true;
                }
            }
        }
        boolean memberGone = memberDeleted;
        // the lease is asked on the delivery thread: under the shared lock only the cache's (a leaf) is taken
        deliveries.execute(() -> afterEvents(report, memberGone, deletedLeases));
    }

    /** On this watch's delivery thread: tells the listener, then what the events mean for the session's lease. */
    private void afterEvents(List<Optional<String>> report, boolean memberDeleted, List<Long> deletedLeases) {
        for (Optional<String> p : report) {
            listener.clusterChanged(p);
        }
        if (closed.get()) {
            return;
        }
        if (memberDeleted) {
            lease.memberKeyDeleted();
        }
        long own = lease.id();
        if (own != 0 && deletedLeases.contains(own)) {
            lease.ownKeyDeleted(own);
        }
    }

    @Override
    public void broken(boolean lost) {
        if (cache != null) {
            cache.watchBroken(lost);
        }
    }

    // ================================================================== the session's side

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        shared.unsubscribe(this); // no call from the shared watch after this
        if (cache != null) {
            cache.watchBroken(true);
        }
        listener.close(); // waits for a delivery under way; the queued ones find it closed
        session.watchClosed(this);
    }
}
