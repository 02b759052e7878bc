package io.pgha.dcs.etcd;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.Subscription;
import io.pgha.spi.support.GuardedListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A watch on the whole cluster prefix that survives disconnections.
 *
 * <p>jetcd resumes a broken watch by itself, but not in every case (a stream that ends with
 * {@code onCompleted}, "no leader", a cancelled watch are simply closed), and after its own resume it
 * may skip events: it takes the revision of the "created" answer as the resume point even when
 * the watch was still catching up. So this class keeps its own position, the first revision not
 * yet delivered, closes jetcd's watcher on any error and opens a new one from that position.
 * When the position was compacted away, it starts afresh from "now" and reports
 * {@link Optional#empty()} so that the engine reads the whole cluster again.
 *
 * <p>A watch that starts from "now" also reports {@code empty} once it is established: a change
 * made between the caller's last read and the moment etcd registered the watch is then not lost.
 */
final class EtcdWatch implements Subscription {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdWatch.class);
    private static final long MIN_BACKOFF_MS = 50;
    private static final long MAX_BACKOFF_MS = 1000;

    private final EtcdSession session;
    private final EtcdLease lease;
    private final EtcdLayout layout;
    private final Watch client;
    private final Calls calls;
    /** The caller's listener, registered with the session's listeners (which also tell it of a lost lease). */
    private final GuardedListener listener;
    private final String memberPath;
    /** The session's cache this watch keeps up to date, or null. */
    private final WatchCache cache;

    // guarded by this; listener calls happen under this lock too, so that nothing is delivered after close()
    private boolean closed;
    private int generation;
    private Watch.Watcher watcher;
    /** The first revision whose events have not been delivered; 0 = start from "now". */
    private long next;
    private int failures;

    EtcdWatch(EtcdSession session, EtcdLayout layout, EtcdLease lease, Watch client, Calls calls, GuardedListener listener,
              WatchCache cache) {
        this.session = session;
        this.lease = lease;
        this.cache = cache;
        this.layout = layout;
        this.client = client;
        this.calls = calls;
        this.listener = listener;
        this.memberPath = session.memberName().map(m -> ClusterKey.MEMBERS_PREFIX + m).orElse(null);
    }

    void start() {
        open();
    }

    private void open() {
        Watch.Watcher old;
        synchronized (this) {
            if (closed) {
                return;
            }
            old = watcher;
            int gen = ++generation;
            WatchOption.Builder o = WatchOption.builder()
                    .isPrefix(true)
                    .withPrevKV(true)
                    .withCreateNotify(true)
                    .withProgressNotify(true)
                    // a member cut off from its raft leader cancels the watch instead of going quiet,
                    // so we move to another member
                    .withRequireLeader(true);
            if (next > 0) {
                o.withRevision(next);
            }
            try {
                watcher = client.watch(layout.prefixBytes(), o.build(), new Listener(gen));
            } catch (RuntimeException e) {
                // the client is closed
                LOG.debug("could not open a watch on {}: {}", layout.prefix(), Failures.describe(e));
                watcher = null;
                return;
            }
        }
        closeQuietly(old);
    }

    private final class Listener implements Watch.Listener {
        private final int gen;

        Listener(int gen) {
            this.gen = gen;
        }

        @Override
        public void onNext(WatchResponse r) {
            List<Optional<String>> report = new ArrayList<>();
            List<Long> ownDeletes = new ArrayList<>();
            boolean memberDeleted = false;
            synchronized (EtcdWatch.this) {
                if (closed || gen != generation) {
                    return;
                }
                failures = 0;
                if (r.isCreatedNotify()) {
                    boolean resumed = next > 0;
                    if (!resumed) {
                        next = r.getHeader().getRevision() + 1;
                        report.add(Optional.empty());
                    }
                    if (cache != null) {
                        cache.watchStarted(next, resumed);
                    }
                } else if (r.isProgressNotify() || r.getEvents().isEmpty()) {
                    // Only etcd's periodic notifications arrive here (withProgressNotify): etcd sends
                    // them to a watch that has delivered everything, through the same queue as its
                    // events, so nothing older is still on its way. We never ask for one
                    // (RequestProgress): before etcd 3.4.24 / 3.5.8 (etcd-io/etcd#15220) that answer
                    // overtakes events still to be delivered.
                    next = Math.max(next, r.getHeader().getRevision() + 1);
                    if (cache != null) {
                        cache.watched(List.of(), next);
                    }
                } else {
                    long lease = EtcdWatch.this.lease.id();
                    for (WatchEvent e : r.getEvents()) {
                        KeyValue kv = e.getKeyValue();
                        next = Math.max(next, kv.getModRevision() + 1);
                        Optional<String> path = layout.relative(kv.getKey());
                        report.add(path.isPresent() ? path : Optional.empty());
                        if (e.getEventType() == WatchEvent.EventType.DELETE) {
                            KeyValue prev = e.getPrevKV();
                            if (prev != null && lease != 0 && prev.getLease() == lease) {
                                ownDeletes.add(lease);
                            }
                            if (memberPath != null && path.filter(memberPath::equals).isPresent()) {
                                memberDeleted = true;
                            }
                        }
                    }
                    if (cache != null) {
                        // before the engine hears of the change, so that its next read sees it
                        cache.watched(r.getEvents(), next);
                    }
                }
                for (Optional<String> p : report) {
                    deliver(p);
                }
            }
            if (memberDeleted) {
                lease.memberKeyDeleted();
            }
            if (!ownDeletes.isEmpty()) {
                lease.ownKeyDeleted(ownDeletes.get(0));
            }
        }

        @Override
        public void onError(Throwable t) {
            boolean compacted = Failures.unwrap(t) instanceof CompactedException
                    || String.valueOf(t.getMessage()).contains("compacted")
                    || String.valueOf(t.getMessage()).contains("future revision");
            restart(gen, compacted, Failures.describe(t));
        }

        @Override
        public void onCompleted() {
            restart(gen, false, "the watch stream ended");
        }
    }

    private void restart(int gen, boolean fromNow, String why) {
        Watch.Watcher old;
        long delay;
        synchronized (this) {
            if (closed || gen != generation) {
                return;
            }
            generation++; // callbacks of the old watcher are ignored from here on
            old = watcher;
            watcher = null;
            if (cache != null) {
                cache.watchBroken(fromNow);
            }
            if (fromNow) {
                LOG.warn("the watch on {} lost its position (revision {} was compacted): reading afresh", layout.prefix(), next);
                next = 0;
            } else {
                LOG.debug("the watch on {} broke ({}); resuming from revision {}", layout.prefix(), why, next);
            }
            delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS << Math.min(failures, 5));
            failures++;
        }
        closeQuietly(old);
        calls.schedule(() -> {
            calls.reconnectNow();
            open();
        }, TimeUnit.MILLISECONDS.toNanos(delay));
    }

    /** Called with this lock held, so that nothing is delivered after {@link #close()}. */
    private void deliver(Optional<String> path) {
        listener.clusterChanged(path);
    }

    @Override
    public void close() {
        Watch.Watcher old;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            generation++;
            old = watcher;
            watcher = null;
            if (cache != null) {
                cache.watchBroken(true);
            }
            listener.close();
        }
        closeQuietly(old);
        session.watchClosed(this);
    }

    private static void closeQuietly(Watch.Watcher w) {
        if (w != null) {
            try {
                w.close();
            } catch (RuntimeException e) {
                LOG.debug("closing a watcher failed", e);
            }
        }
    }
}
