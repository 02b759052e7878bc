package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one etcd watch of an {@link EtcdDcs}, shared by every session's {@link EtcdWatch}: a
 * thousand members in one JVM are one watch stream at etcd, not a thousand. It watches the
 * clusters its subscribers watch (one cluster's prefix while they all watch the same cluster, the
 * namespace once they watch several) and hands each subscriber the events of its own prefix.
 *
 * <p>jetcd resumes a broken watch by itself, but not in every case (a stream that ends with
 * {@code onCompleted}, "no leader", a cancelled watch are simply closed), and after its own resume it
 * may skip events: it takes the revision of the "created" answer as the resume point even when
 * the watch was still catching up. So this class keeps its own position, the first revision not
 * yet delivered, closes jetcd's watcher on any error and opens a new one from that position.
 * When the position was compacted away, it starts afresh from "now" and every subscriber reports
 * {@link Optional#empty()} so that its engine reads the whole cluster again.
 *
 * <p>The position is one for all subscribers: etcd sends a watch's events in revision order, so a
 * response up to revision R (or a progress notification at R) means that nothing under the watched
 * prefix, and so nothing under any subscriber's, is still to come up to R, whether or not the
 * response held an event of that subscriber.
 *
 * <p>A subscriber that joins while the watch is established starts at the watch's position and
 * reports {@code empty} at once: every event from that position on reaches it, and its engine's
 * read after that report holds everything before. One that joins while the watch is (re)opening
 * starts when etcd has registered the watch. Widening the watched prefix (a subscriber of another
 * cluster joins) reopens the watch from the same position, as a reconnection does, so the others
 * miss nothing. The prefix is never narrowed while anyone subscribes; the watch is closed when
 * the last subscriber leaves, and the next one opens it afresh from "now".
 *
 * <p>The subscribers' methods are called with this object's lock held, in the order of etcd's
 * responses: they only update their session's cache and queue the listener calls (see
 * {@link EtcdWatch}), so no listener ever runs under this lock.
 */
final class SharedWatch {
    private static final Logger LOG = LoggerFactory.getLogger(SharedWatch.class);
    private static final long MIN_BACKOFF_MS = 50;
    private static final long MAX_BACKOFF_MS = 1000;

    /**
     * One session's side of the shared watch. Every method is called with the shared watch's lock
     * held, so it must be quick, must not block and must not call back into the shared watch.
     */
    interface Subscriber {
        /** The cluster prefix whose events this subscriber gets. */
        ByteSequence prefix();

        /**
         * The watch is established at {@code next} (the first revision still to come);
         * {@code resumed}: it carries on from where it broke, so a subscriber that was there
         * before missed nothing.
         */
        void started(long next, boolean resumed);

        /** The watch delivered {@code events} of this subscriber's prefix (possibly none) and now stands at {@code next}. */
        void watched(List<WatchEvent> events, long next);

        /** The watch broke; {@code lost}: it cannot resume without missing changes. */
        void broken(boolean lost);
    }

    private final Client client;
    private final Calls calls;

    // guarded by this
    private final List<Subscriber> subscribers = new ArrayList<>();
    private boolean closed;
    /** Tells callbacks of jetcd watchers this object no longer listens to from those of the current one. */
    private int generation;
    private Watch.Watcher watcher;
    /** What {@link #watcher} watches, or null while nobody subscribes. */
    private ByteSequence prefix;
    /** The current watcher's "created" answer arrived and it has not broken since. */
    private boolean established;
    /** A reopen after a break is scheduled (see {@link #restart}). */
    private boolean reopening;
    /** The first revision whose events have not been delivered; 0 = start from "now". */
    private long next;
    private int failures;

    SharedWatch(Client client, Calls calls) {
        this.client = client;
        this.calls = calls;
    }

    /** Adds {@code s}; its {@link Subscriber#started} tells it when its events begin. Nothing happens once this watch is closed. */
    void subscribe(Subscriber s) {
        Watch.Watcher old = null;
        synchronized (this) {
            if (closed) {
                return;
            }
            subscribers.add(s);
            ByteSequence wanted = prefix == null ? s.prefix() : covering(prefix, s.prefix());
            boolean widen = prefix != null && !wanted.equals(prefix);
            prefix = wanted;
            if (established && !widen) {
                s.started(next, false);
            } else if (watcher != null && widen) {
                LOG.debug("the shared watch on {} widens to {} (resuming from revision {})", EtcdLayout.text(prefix),
                        EtcdLayout.text(wanted), next);
                for (Subscriber each : subscribers) {
                    each.broken(false);
                }
                old = openLocked();
            } else if (watcher == null && !reopening) {
                old = openLocked();
            }
            // else: being opened or waiting to be reopened; s starts when etcd has registered the watch
        }
        closeQuietly(old);
    }

    /** Removes {@code s}: once this returns, none of its methods is called again. The last one to leave closes the watcher. */
    void unsubscribe(Subscriber s) {
        Watch.Watcher old;
        synchronized (this) {
            if (!subscribers.remove(s) || !subscribers.isEmpty()) {
                return;
            }
            old = stopLocked();
        }
        closeQuietly(old);
    }

    /** Closes the watcher for good (the {@link EtcdDcs} closes). */
    void close() {
        Watch.Watcher old;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            for (Subscriber s : subscribers) {
                s.broken(true);
            }
            subscribers.clear();
            old = stopLocked();
        }
        closeQuietly(old);
    }

    /** Whether a jetcd watcher is open (for tests). */
    synchronized boolean isOpen() {
        return watcher != null;
    }

    /** What is watched now, or null while nobody subscribes (for tests). */
    synchronized String watchedPrefix() {
        return prefix == null ? null : EtcdLayout.text(prefix);
    }

    /** Called with the lock held; returns the watcher replaced, to be closed outside the lock. */
    private Watch.Watcher stopLocked() {
        Watch.Watcher old = watcher;
        watcher = null;
        generation++; // callbacks of the old watcher and a scheduled reopen are ignored from here on
        established = false;
        reopening = false;
        prefix = null;
        next = 0;
        failures = 0;
        return old;
    }

    /** Called with the lock held; returns the watcher replaced, to be closed outside the lock. */
    private Watch.Watcher openLocked() {
        Watch.Watcher old = watcher;
        int gen = ++generation;
        established = false;
        reopening = false;
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
            watcher = client.getWatchClient().watch(prefix, o.build(), new Listener(gen));
        } catch (RuntimeException e) {
            // the client is closed
            LOG.debug("could not open a watch on {}: {}", EtcdLayout.text(prefix), Failures.describe(e));
            watcher = null;
        }
        return old;
    }

    private void reopen(int gen) {
        Watch.Watcher old;
        synchronized (this) {
            if (closed || gen != generation || !reopening || subscribers.isEmpty()) {
                return;
            }
            old = openLocked();
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
            synchronized (SharedWatch.this) {
                if (closed || gen != generation) {
                    return;
                }
                failures = 0;
                if (r.isCreatedNotify()) {
                    boolean resumed = next > 0;
                    if (!resumed) {
                        next = r.getHeader().getRevision() + 1;
                    }
                    established = true;
                    for (Subscriber s : subscribers) {
                        s.started(next, resumed);
                    }
                } else if (r.isProgressNotify() || r.getEvents().isEmpty()) {
                    // Only etcd's periodic notifications arrive here (withProgressNotify): etcd sends
                    // them to a watch that has delivered everything, through the same queue as its
                    // events, so nothing older is still on its way. We never ask for one
                    // (RequestProgress): before etcd 3.4.24 / 3.5.8 (etcd-io/etcd#15220) that answer
                    // overtakes events still to be delivered.
                    next = Math.max(next, r.getHeader().getRevision() + 1);
                    for (Subscriber s : subscribers) {
                        s.watched(List.of(), next);
                    }
                } else {
                    for (WatchEvent e : r.getEvents()) {
                        next = Math.max(next, e.getKeyValue().getModRevision() + 1);
                    }
                    // many subscribers share a prefix (the members of one cluster): filter once per prefix
                    Map<ByteSequence, List<WatchEvent>> byPrefix = new HashMap<>();
                    for (Subscriber s : subscribers) {
                        s.watched(byPrefix.computeIfAbsent(s.prefix(), p -> under(p, r.getEvents())), next);
                    }
                }
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
        int reopenGen;
        synchronized (this) {
            if (closed || gen != generation) {
                return;
            }
            reopenGen = ++generation; // callbacks of the old watcher are ignored from here on
            old = watcher;
            watcher = null;
            established = false;
            reopening = true;
            for (Subscriber s : subscribers) {
                s.broken(fromNow);
            }
            if (fromNow) {
                LOG.warn("the watch on {} lost its position (revision {} was compacted): reading afresh", EtcdLayout.text(prefix), next);
                next = 0;
            } else {
                LOG.debug("the watch on {} broke ({}); resuming from revision {}", EtcdLayout.text(prefix), why, next);
            }
            delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS << Math.min(failures, 5));
            failures++;
        }
        closeQuietly(old);
        calls.schedule(() -> {
            calls.reconnectNow();
            reopen(reopenGen);
        }, TimeUnit.MILLISECONDS.toNanos(delay));
    }

    /** The events whose key starts with {@code prefix}, in their order. */
    private static List<WatchEvent> under(ByteSequence prefix, List<WatchEvent> events) {
        List<WatchEvent> mine = new ArrayList<>(events.size());
        for (WatchEvent e : events) {
            if (e.getKeyValue().getKey().startsWith(prefix)) {
                mine.add(e);
            }
        }
        return mine;
    }

    /**
     * The prefix to watch for both: {@code a} when it covers {@code b}, else their common part up to
     * its last {@code '/'}. Cluster prefixes are {@code <namespace>/<scope>/}, so that is the
     * namespace's {@code <namespace>/}, and never a part of a scope's name.
     */
    static ByteSequence covering(ByteSequence a, ByteSequence b) {
        if (b.startsWith(a)) {
            return a;
        }
        byte[] x = a.getBytes();
        byte[] y = b.getBytes();
        int common = 0;
        while (common < x.length && common < y.length && x[common] == y[common]) {
            common++;
        }
        int end = 0;
        for (int i = 0; i < common; i++) {
            if (x[i] == '/') {
                end = i + 1;
            }
        }
        return ByteSequence.from(java.util.Arrays.copyOf(x, end));
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
