package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.watch.WatchEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The cluster prefix as a member session's own watch last saw it, so that an idle member reads the
 * cluster and confirms its leader key without a request of its own: its one keep-alive per cycle
 * is then all it sends (the way Patroni's etcd3 module serves reads from its watch cache).
 *
 * <p><b>When the cache may answer.</b> Every response etcd sends carries the store's revision at
 * that moment. The cache answers only when it has caught up with the newest revision any response
 * of this session reported, so it is never older than a change this session was told about, wrote
 * itself, or could have seen with a request of its own; and only when a response arrived within
 * the last {@code ttl} and no call failed since, so a store that stopped answering is still
 * reported as unreachable instead of being read from memory. A change the watch has not delivered
 * yet shows up in the next response's revision, and then the session reads from etcd until the
 * watch has caught up. In an etcd shared with other clusters the revision moves without events
 * under our prefix, so the cache falls behind and the session reads from etcd; only etcd's periodic
 * progress notifications (sent to a watch that has delivered everything, in line with its events)
 * move it forward without events, and events of the other clusters that the same {@link EtcdDcs}
 * watches ({@link SharedWatch}: its position is every subscriber's).
 *
 * <p>The session never asks for a progress report: before etcd 3.4.24 and 3.5.8 (etcd-io/etcd#15220)
 * the answer to {@code RequestProgress} bypasses the watch's event queue and carries the store's
 * current revision even while the watch is still replaying older events, so it can claim progress
 * that events still on their way contradict.
 *
 * <p><b>How it is filled.</b> A direct read (one range request at revision R) seeds it, but only
 * when the watch has not yet delivered anything newer than R: the read then holds every change up to
 * R, and every event after R is still to come. Which events are skipped is decided by the seed
 * alone: those with a mod_revision up to R are already in it, every later one is applied, in the
 * order the watch delivers them, even if the answerable revision has already moved past it. A seed
 * replaces whatever the cache held, so a direct read also repairs a cache that had gone wrong. The
 * watch applies its events before it tells the engine about them. A watch that lost its position
 * (compaction) or broke empties the cache until the next direct read.
 *
 * <p>Thread-safe; the watch calls in under the shared watch's lock, the session from any thread.
 */
final class WatchCache {
    /** Waiting this long for the watch to catch up is cheaper than a read of our own. */
    static final long CATCH_UP_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final long freshNanos;
    private final LongSupplier clock;
    /** Completes waiters on its timer thread, never under this lock or the watch's. */
    private final Calls calls;

    // guarded by this
    private final Map<ByteSequence, KeyValue> kvs = new HashMap<>();
    /** The watch is established and has not broken since. */
    private boolean live;
    /** {@link #kvs} hold the prefix as of {@link #revision}. */
    private boolean seeded;
    /**
     * The revision of the direct read that filled {@link #kvs}: events up to it are in the seed and
     * skipped, every later one is applied. Set by {@link #seed} only, never by the watch.
     */
    private long seedRevision;
    /** The cache holds every change up to and including this revision (what it may answer as of). */
    private long revision;
    /** The first revision the watch has not delivered yet; 0: unknown. */
    private long watchNext;
    /** The newest store revision any response of the session reported. */
    private long seenRevision;
    /** A response arrived since the last failed call; {@link #lastAnswer} says when. */
    private boolean answeredSinceFailure;
    private long lastAnswer;
    private final List<Waiter> waiters = new ArrayList<>();

    private record Waiter(long revision, CompletableFuture<Boolean> done) {
    }

    /**
     * @param freshNanos how long after the session's last answer from etcd the cache may still
     *                   answer (the session's ttl: a live member gets an answer at least that often)
     */
    WatchCache(long freshNanos, LongSupplier clock, Calls calls) {
        this.freshNanos = freshNanos;
        this.clock = clock;
        this.calls = calls;
    }

    // ================================================================== the session's side

    /** A response of the session arrived, carrying the store's revision {@code storeRevision}. */
    synchronized void answered(long storeRevision) {
        seenRevision = Math.max(seenRevision, storeRevision);
        lastAnswer = clock.getAsLong();
        answeredSinceFailure = true;
    }

    /** A call of the session failed: until the next answer, the cache says nothing. */
    synchronized void failed() {
        answeredSinceFailure = false;
    }

    /**
     * The prefix's keys as of {@link View#revision()}, if the cache may answer now (see the class
     * comment).
     */
    synchronized Optional<View> view() {
        if (!usable() || revision < seenRevision) {
            return Optional.empty();
        }
        return Optional.of(new View(revision, List.copyOf(kvs.values())));
    }

    /** The cached value of {@code key}, if the cache may answer now. */
    synchronized Optional<Optional<KeyValue>> get(ByteSequence key) {
        if (!usable() || revision < seenRevision) {
            return Optional.empty();
        }
        return Optional.of(Optional.ofNullable(kvs.get(key)));
    }

    /**
     * Completes {@code true} once the cache may answer (it has caught up with every revision seen
     * so far), {@code false} if it cannot within {@link #CATCH_UP_NANOS}: not filled, the watch
     * down or behind (in a shared etcd, the revision moved without events under our prefix), or the
     * store silent. It only waits for the watch's own events; it never asks for a progress report
     * (see the class comment).
     */
    CompletableFuture<Boolean> caughtUp() {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        synchronized (this) {
            if (!usable()) {
                return CompletableFuture.completedFuture(false);
            }
            if (revision >= seenRevision) {
                return CompletableFuture.completedFuture(true);
            }
            waiters.add(new Waiter(seenRevision, done));
        }
        calls.schedule(() -> done.complete(false), CATCH_UP_NANOS);
        return done;
    }

    private boolean usable() {
        return live && seeded && answeredSinceFailure && clock.getAsLong() - lastAnswer <= freshNanos;
    }

    /**
     * Seeds the cache from a direct read of the whole prefix at {@code readRevision}, if that is
     * consistent with the watch: the watch must not have delivered anything newer than the read,
     * since those changes would be lost (the watch does not deliver them twice). Otherwise the
     * cache stays as it is, and the caller still uses its read, which is right on its own; a later
     * read, or the watch itself, brings the cache forward.
     *
     * <p>A read that may seed replaces what the cache holds even when the cache claims to be as new
     * as the read: the read is etcd's own answer, so it repairs a cache that had diverged. Only a
     * read older than the cache's revision (two reads whose answers arrived out of order) is
     * refused, as it would take the cache back in time.
     */
    synchronized void seed(long readRevision, List<KeyValue> read) {
        if (!live || watchNext == 0 || watchNext > readRevision + 1 || (seeded && readRevision < revision)) {
            return;
        }
        kvs.clear();
        for (KeyValue kv : read) {
            kvs.put(kv.getKey(), kv);
        }
        seedRevision = readRevision;
        revision = readRevision;
        seeded = true;
        wakeWaiters();
    }

    // ================================================================== the watch's side

    /** The watch is established; {@code resumed}: it carries on from where it broke, so nothing was missed. */
    synchronized void watchStarted(long next, boolean resumed) {
        live = true;
        watchNext = next;
        if (!resumed) {
            seeded = false;
            kvs.clear();
        }
    }

    /**
     * The watch delivered {@code events} (possibly none: a progress notification) and now stands at
     * {@code next}. An event is skipped only when the seed already holds it; a progress
     * notification moves the revision the cache may answer as of, never what is skipped, so an
     * event that arrives after a progress notification that overtook it is still applied.
     */
    synchronized void watched(List<WatchEvent> events, long next) {
        watchNext = next;
        if (!seeded) {
            return;
        }
        for (WatchEvent e : events) {
            KeyValue kv = e.getKeyValue();
            if (kv.getModRevision() <= seedRevision) {
                continue; // already in the seed
            }
            if (e.getEventType() == WatchEvent.EventType.DELETE) {
                kvs.remove(kv.getKey());
            } else if (e.getEventType() == WatchEvent.EventType.PUT) {
                kvs.put(kv.getKey(), kv);
            }
        }
        revision = Math.max(revision, next - 1);
        wakeWaiters();
    }

    /** The watch broke; {@code lost}: it cannot resume without missing changes. */
    synchronized void watchBroken(boolean lost) {
        live = false;
        if (lost) {
            seeded = false;
            watchNext = 0;
            kvs.clear();
        }
        failWaiters();
    }

    private void wakeWaiters() {
        for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            if (w.done().isDone()) {
                it.remove();
            } else if (revision >= w.revision()) {
                it.remove();
                calls.schedule(() -> w.done().complete(true), 0);
            }
        }
    }

    private void failWaiters() {
        for (Waiter w : waiters) {
            calls.schedule(() -> w.done().complete(false), 0);
        }
        waiters.clear();
    }

    /** What the cache held at one revision. */
    record View(long revision, List<KeyValue> kvs) {
    }
}
