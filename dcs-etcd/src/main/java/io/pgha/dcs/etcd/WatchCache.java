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
 * under our prefix; the session then asks the watch for a progress report, which moves the cache
 * forward without a request of its own.
 *
 * <p><b>How it is filled.</b> A direct read (one range request at revision R) seeds it, but only
 * when the watch has not yet delivered anything newer than R: events up to R are then already in
 * the seed and skipped, and every event after R is still to come. The watch applies its events
 * before it tells the engine about them. A watch that lost its position (compaction) or broke
 * empties the cache until the next direct read.
 *
 * <p>Thread-safe; the watch calls in under its own lock, the session from any thread.
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
    /** The cache holds every change up to and including this revision. */
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
     * down, or the store silent.
     */
    CompletableFuture<Boolean> caughtUp(Runnable askForProgress) {
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
        askForProgress.run();
        calls.schedule(() -> done.complete(false), CATCH_UP_NANOS);
        return done;
    }

    private boolean usable() {
        return live && seeded && answeredSinceFailure && clock.getAsLong() - lastAnswer <= freshNanos;
    }

    /** Seeds the cache from a direct read of the whole prefix at {@code readRevision}, if that is consistent with the watch. */
    synchronized void seed(long readRevision, List<KeyValue> read) {
        if (!live || watchNext == 0 || watchNext > readRevision + 1 || (seeded && readRevision <= revision)) {
            // the watch already delivered changes newer than the read (they would be lost), or the
            // cache is already as new
            return;
        }
        kvs.clear();
        for (KeyValue kv : read) {
            kvs.put(kv.getKey(), kv);
        }
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

    /** The watch delivered {@code events} (possibly none: a progress report) and now stands at {@code next}. */
    synchronized void watched(List<WatchEvent> events, long next) {
        watchNext = next;
        if (!seeded) {
            return;
        }
        for (WatchEvent e : events) {
            KeyValue kv = e.getKeyValue();
            if (kv.getModRevision() <= revision) {
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
