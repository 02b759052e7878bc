package io.pgha.testkit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link Dcs} must keep, as tests. Extend it for your store, return a fresh
 * connection from {@link #createDcs()} and one that cannot reach its server from
 * {@link #createUnreachableDcs()}; adjust {@link #ttl()} and the time allowances if your store
 * needs it. Each test works on a cluster scope of its own and deletes it afterwards.
 *
 * <p>Covered: the leader key (create-if-absent, renewal, ownership checks, release), lease expiry
 * of the leader key and member entries, compare-and-set (on every key it is allowed for) and the
 * initialize race, watches (changes by
 * others and lease expiry), closing a session, deleting a cluster, fresh reads (a session reads its
 * own writes; an authoritative read shows what another session wrote; reads are no older than
 * {@link DcsSession#writeRevision()}), and the typed "unreachable" error within
 * {@code retry_timeout}.
 */
public abstract class DcsContractTest {
    private static final AtomicInteger SCOPES = new AtomicInteger();

    private Dcs dcs;
    private String scope;
    private final List<DcsSession> sessions = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    /** A fresh connection to a working store. */
    protected abstract Dcs createDcs();

    /** A connection whose store cannot be reached (a closed port, a stopped server). */
    protected abstract Dcs createUnreachableDcs();

    /** The lease ttl the tests use; at least the store's minimum. */
    protected Duration ttl() {
        return Duration.ofSeconds(2);
    }

    /** The retry timeout the tests use. */
    protected Duration retryTimeout() {
        return Duration.ofSeconds(1);
    }

    /** How much later than {@link #ttl()} the store may drop an expired lease's keys (Consul reaps at up to 2 × ttl). */
    protected Duration expirySlack() {
        return ttl();
    }

    /** How long a watch may take to report a change. */
    protected Duration watchDelay() {
        return Duration.ofSeconds(2);
    }

    @BeforeEach
    final void openStore() {
        dcs = createDcs();
        scope = "contract-" + ProcessHandle.current().pid() + "-" + SCOPES.incrementAndGet() + "-"
                + Long.toHexString(System.nanoTime() & 0xFFFFFF);
    }

    @AfterEach
    final void closeStore() throws Exception {
        try {
            DcsSession cleaner = dcs.open(SessionSpec.observer(scope, retryTimeout()));
            get(cleaner.deleteCluster());
            cleaner.close();
        } catch (RuntimeException | AssertionError e) {
            // best effort
        }
        for (DcsSession s : sessions) {
            s.close();
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
        dcs.close();
    }

    // ------------------------------------------------------------------ helpers for subclasses and tests

    /** The scope of the current test's cluster. */
    protected final String scope() {
        return scope;
    }

    /** Opens a member session on the current test's cluster (closed after the test). */
    protected final DcsSession member(String name) {
        return track(dcs.open(SessionSpec.member(scope, name, ttl(), retryTimeout())));
    }

    protected final DcsSession observer() {
        return track(dcs.open(SessionSpec.observer(scope, retryTimeout())));
    }

    private DcsSession track(DcsSession s) {
        sessions.add(s);
        return s;
    }

    /** Waits for a stage, at most three retry timeouts. */
    protected final <T> T get(CompletionStage<T> stage) {
        try {
            return stage.toCompletableFuture().get(retryTimeout().toMillis() * 3 + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new AssertionError(c);
        } catch (TimeoutException e) {
            throw new AssertionError("the store call did not complete within 3 x retry_timeout");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    protected final ClusterSnapshot read() {
        return get(observer().read());
    }

    private Optional<String> leader() {
        return read().leaderName();
    }

    // ------------------------------------------------------------------ the leader key

    @Test
    void anEmptyClusterReadsAsEmpty() {
        ClusterSnapshot s = read();
        assertTrue(s.keys().isEmpty(), "keys of a new cluster: " + s.keys());
        assertTrue(s.members().isEmpty(), "members of a new cluster: " + s.members());
    }

    @Test
    void onlyOneOfTwoRacingMembersTakesTheLeaderKey() {
        DcsSession a = member("a");
        DcsSession b = member("b");
        CompletableFuture<Boolean> ra = a.acquireLeader().toCompletableFuture();
        CompletableFuture<Boolean> rb = b.acquireLeader().toCompletableFuture();
        boolean wonA = get(ra);
        boolean wonB = get(rb);
        assertTrue(wonA ^ wonB, "exactly one acquire succeeds (a=" + wonA + ", b=" + wonB + ")");
        assertEquals(Optional.of(wonA ? "a" : "b"), leader());
    }

    @Test
    void anExistingLeaderKeyCannotBeAcquiredAgain() {
        DcsSession a = member("a");
        assertTrue(get(a.acquireLeader()));
        assertFalse(get(member("b").acquireLeader()));
        assertFalse(get(a.acquireLeader()), "acquire is create-if-absent, even for the holder");
        assertEquals(Optional.of("a"), leader());
    }

    @Test
    void theHolderRenewsTheKeyAndPublishesItsStatus() {
        DcsSession a = member("a");
        assertTrue(get(a.acquireLeader()));
        assertTrue(get(a.renewLeader(Optional.of("{\"optime\":42}"))));
        ClusterSnapshot s = read();
        assertEquals(Optional.of("a"), s.leaderName());
        assertEquals("{\"optime\":42}", s.get(ClusterKey.STATUS).map(DcsEntry::value).orElse(null));
    }

    @Test
    void aMemberThatDoesNotHoldTheKeyCannotRenewIt() {
        assertTrue(get(member("a").acquireLeader()));
        assertFalse(get(member("b").renewLeader(Optional.empty())), "renewal by a non-holder answers false");
        assertEquals(Optional.of("a"), leader());
    }

    @Test
    void releaseDeletesTheKeyOnlyForItsHolder() {
        DcsSession a = member("a");
        DcsSession b = member("b");
        assertTrue(get(a.acquireLeader()));
        assertFalse(get(b.releaseLeader()), "a non-holder's release answers false");
        assertEquals(Optional.of("a"), leader());
        assertTrue(get(a.releaseLeader()));
        assertEquals(Optional.empty(), leader());
        assertFalse(get(a.releaseLeader()), "releasing an absent key answers false");
        assertTrue(get(b.acquireLeader()), "a released key can be taken");
    }

    @Test
    void aRestartedMemberTakesOverItsOwnLeaderKeyFromItsEarlierSession() {
        DcsSession before = member("a");
        assertTrue(get(before.acquireLeader()));
        DcsSession after = member("a");
        assertFalse(get(after.acquireLeader()), "the key exists");
        assertTrue(get(after.renewLeader(Optional.empty())), "renewal rebinds a key that carries our own name");
        before.close();
        assertEquals(Optional.of("a"), leader(), "closing the old session must not drop the rebound key");
    }

    // ------------------------------------------------------------------ leases

    @Test
    void theLeaderKeyAndMemberEntryVanishAboutTtlAfterTheLastRenewal() {
        DcsSession a = member("a");
        get(a.touchMember("{\"state\":\"running\"}"));
        assertTrue(get(a.acquireLeader()));
        long renewedAt = System.nanoTime();
        assertTrue(get(a.renewLeader(Optional.empty())));
        await().pollDelay(Duration.ZERO).atMost(ttl().dividedBy(2)).until(() -> true);
        if (System.nanoTime() - renewedAt < ttl().toNanos() * 9 / 10) {
            assertEquals(Optional.of("a"), leader(), "the key must outlive most of its ttl");
        }
        await().atMost(ttl().plus(expirySlack()).plus(watchDelay())).pollInterval(Duration.ofMillis(50))
                .until(() -> read().leaderName().isEmpty() && read().members().isEmpty());
        assertTrue(System.nanoTime() - renewedAt >= ttl().toNanos() * 9 / 10,
                "the key vanished " + (System.nanoTime() - renewedAt) / 1_000_000 + " ms after renewal, before its ttl");
        assertTrue(get(member("b").acquireLeader()), "another member takes the expired key");
    }

    @Test
    void renewingKeepsTheKeyBeyondItsTtl() {
        DcsSession a = member("a");
        assertTrue(get(a.acquireLeader()));
        long until = System.nanoTime() + ttl().multipliedBy(2).toNanos();
        while (System.nanoTime() < until) {
            assertTrue(get(a.renewLeader(Optional.empty())));
            assertEquals(Optional.of("a"), leader());
            await().pollDelay(ttl().dividedBy(4)).atMost(ttl()).until(() -> true);
        }
        assertEquals(Optional.of("a"), leader());
    }

    @Test
    void touchMemberWritesAndReplacesTheEntry() {
        DcsSession a = member("a");
        get(a.touchMember("{\"v\":1}"));
        assertEquals("{\"v\":1}", read().members().get("a").value());
        get(a.touchMember("{\"v\":2}"));
        assertEquals("{\"v\":2}", read().members().get("a").value());
    }

    @Test
    void closingASessionRemovesItsKeysBeforeTheTtl() {
        DcsSession a = member("a");
        get(a.touchMember("{}"));
        assertTrue(get(a.acquireLeader()));
        long closedAt = System.nanoTime();
        a.close();
        await().atMost(ttl().dividedBy(2).plus(watchDelay())).pollInterval(Duration.ofMillis(20))
                .until(() -> read().leaderName().isEmpty() && !read().members().containsKey("a"));
        assertTrue(System.nanoTime() - closedAt < ttl().toNanos() + watchDelay().toNanos());
    }

    // ------------------------------------------------------------------ compare-and-set

    @Test
    void theInitializeKeyIsWonByExactlyOneRacer() {
        List<CompletableFuture<Boolean>> racers = new ArrayList<>();
        for (String m : List.of("a", "b", "c")) {
            racers.add(member(m).compareAndSet(ClusterKey.INITIALIZE, "", DcsEntry.ABSENT).toCompletableFuture());
        }
        long winners = racers.stream().filter(f -> get(f)).count();
        assertEquals(1, winners, "exactly one member wins the initialize race");
        assertEquals("", read().get(ClusterKey.INITIALIZE).map(DcsEntry::value).orElse(null));
    }

    @Test
    void compareAndSetRejectsAStaleVersion() {
        DcsSession a = member("a");
        assertTrue(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":30}", DcsEntry.ABSENT)));
        long v1 = read().get(ClusterKey.CONFIG).orElseThrow().version();
        assertFalse(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":40}", DcsEntry.ABSENT)), "the key exists");
        assertTrue(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":20}", v1)));
        DcsEntry e = read().get(ClusterKey.CONFIG).orElseThrow();
        assertEquals("{\"ttl\":20}", e.value());
        assertTrue(e.version() != v1, "a write moves the version");
        assertFalse(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":10}", v1)), "the old version is stale");
        assertEquals("{\"ttl\":20}", read().get(ClusterKey.CONFIG).orElseThrow().value());
    }

    @Test
    void compareAndDeleteNeedsTheCurrentVersion() {
        DcsSession a = member("a");
        assertTrue(get(a.compareAndSet(ClusterKey.FAILOVER, "{\"member\":\"b\"}", DcsEntry.ABSENT)));
        long v = read().get(ClusterKey.FAILOVER).orElseThrow().version();
        assertTrue(get(a.compareAndSet(ClusterKey.FAILOVER, "{\"member\":\"c\"}", v)));
        assertFalse(get(a.compareAndDelete(ClusterKey.FAILOVER, v)), "stale version");
        long v2 = read().get(ClusterKey.FAILOVER).orElseThrow().version();
        assertTrue(get(a.compareAndDelete(ClusterKey.FAILOVER, v2)));
        assertTrue(read().get(ClusterKey.FAILOVER).isEmpty());
        assertFalse(get(a.compareAndDelete(ClusterKey.FAILOVER, v2)), "absent");
    }

    @Test
    void everyKeyButLeaderAndStatusIsWrittenByCompareAndSet() {
        DcsSession a = member("a");
        for (ClusterKey k : ClusterKey.values()) {
            if (k == ClusterKey.LEADER || k == ClusterKey.STATUS) {
                continue;
            }
            String value = "{\"key\":\"" + k.path() + "\"}";
            assertTrue(get(a.compareAndSet(k, value, DcsEntry.ABSENT)), "compareAndSet creates " + k);
            DcsEntry e = read().get(k).orElse(null);
            assertEquals(value, valueOf(e), "the value of " + k + " (left out of the snapshot?)");
            assertTrue(get(a.compareAndDelete(k, e.version())), "compareAndDelete removes " + k);
        }
        assertTrue(read().keys().isEmpty(), "left: " + read().keys());
    }

    @Test
    void theLeaderAndStatusKeysCannotBeWrittenByCompareAndSet() {
        DcsSession a = member("a");
        for (ClusterKey k : List.of(ClusterKey.LEADER, ClusterKey.STATUS)) {
            Throwable t = failure(() -> a.compareAndSet(k, "x", DcsEntry.ABSENT));
            assertInstanceOf(IllegalArgumentException.class, t, "compareAndSet on " + k);
            t = failure(() -> a.compareAndDelete(k, 1));
            assertInstanceOf(IllegalArgumentException.class, t, "compareAndDelete on " + k);
        }
    }

    @Test
    void valuesRoundTripExactly() {
        DcsSession a = member("a");
        String json = "{\"conn_url\":\"postgres://h:5432/postgres\",\"name\":\"Zürich ☃ \\\"quoted\\\"\",\"n\":[1,2.5,null]}";
        get(a.touchMember(json));
        assertTrue(get(a.compareAndSet(ClusterKey.HISTORY, "[[1,25165984,\"no recovery target specified\",\"2024-05-01T10:00:00+00:00\",\"n2\"]]",
                DcsEntry.ABSENT)));
        ClusterSnapshot s = read();
        assertEquals(json, s.members().get("a").value());
        assertEquals("[[1,25165984,\"no recovery target specified\",\"2024-05-01T10:00:00+00:00\",\"n2\"]]",
                s.get(ClusterKey.HISTORY).orElseThrow().value());
    }

    // ------------------------------------------------------------------ fresh reads

    @Test
    void aSessionReadsItsOwnWritesAtOnce() {
        DcsSession a = member("a");
        get(a.touchMember("{\"v\":1}"));
        assertEquals("{\"v\":1}", valueOf(get(a.read()).members().get("a")), "the member entry just written");
        assertTrue(get(a.acquireLeader()));
        assertEquals(Optional.of("a"), get(a.read()).leaderName(), "the leader key just taken");
        assertTrue(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":30}", DcsEntry.ABSENT)));
        DcsEntry config = get(a.read()).get(ClusterKey.CONFIG).orElse(null);
        assertEquals("{\"ttl\":30}", valueOf(config), "the key just created by compare-and-set");
        assertTrue(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":20}", config.version())));
        assertEquals("{\"ttl\":20}", valueOf(get(a.read()).get(ClusterKey.CONFIG).orElse(null)), "the key just replaced");
        get(a.touchMember("{\"v\":2}"));
        assertEquals("{\"v\":2}", valueOf(get(a.read()).members().get("a")), "the member entry just replaced");
        assertTrue(get(a.releaseLeader()));
        assertEquals(Optional.empty(), get(a.read()).leaderName(), "the leader key just released");
    }

    @Test
    void anAuthoritativeReadShowsWhatAnotherSessionHasJustWritten() {
        DcsSession reader = member("reader");
        DcsSession writer = member("writer");
        // whatever the reader keeps (a cache, a watch) starts from the state before the writes
        closeables.add(reader.watch(new RecordingListener()));
        assertTrue(get(reader.read()).leaderName().isEmpty());

        get(writer.touchMember("{\"w\":1}"));
        assertTrue(get(writer.acquireLeader()));
        assertTrue(get(writer.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":30}", DcsEntry.ABSENT)));
        ClusterSnapshot s = get(reader.readAuthoritative());
        assertEquals(Optional.of("writer"), s.leaderName(), "the leader key the other session has just taken");
        assertEquals("{\"w\":1}", valueOf(s.members().get("writer")), "the other session's member entry");
        assertEquals("{\"ttl\":30}", valueOf(s.get(ClusterKey.CONFIG).orElse(null)), "the key the other session has just set");

        assertTrue(get(writer.releaseLeader()));
        assertTrue(get(writer.compareAndDelete(ClusterKey.CONFIG, s.get(ClusterKey.CONFIG).orElseThrow().version())));
        s = get(reader.readAuthoritative());
        assertEquals(Optional.empty(), s.leaderName(), "the leader key the other session has just released");
        assertTrue(s.get(ClusterKey.CONFIG).isEmpty(), "the key the other session has just deleted");
        assertTrue(get(observer().readAuthoritative()).get(ClusterKey.CONFIG).isEmpty(), "an observer's authoritative read");
    }

    @Test
    void aReadAfterAWriteIsNoOlderThanTheWriteRevisionWhichNeverDecreases() {
        DcsSession a = member("a");
        DcsSession o = observer();
        WriteRevisions revisions = new WriteRevisions(a, o);
        revisions.check("nothing written yet");
        get(a.touchMember("{\"v\":1}"));
        revisions.check("touchMember");
        assertTrue(get(a.acquireLeader()));
        revisions.check("acquireLeader");
        assertTrue(get(a.renewLeader(Optional.of("{\"optime\":1}"))));
        revisions.check("renewLeader with a status");
        assertTrue(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":30}", DcsEntry.ABSENT)));
        revisions.check("compareAndSet creating a key");
        long version = get(a.read()).get(ClusterKey.CONFIG).orElseThrow().version();
        assertTrue(get(a.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":20}", version)));
        revisions.check("compareAndSet replacing a key");
        get(a.touchMember("{\"v\":2}"));
        revisions.check("touchMember replacing the entry");
        version = get(a.read()).get(ClusterKey.CONFIG).orElseThrow().version();
        assertTrue(get(a.compareAndDelete(ClusterKey.CONFIG, version)));
        revisions.check("compareAndDelete");
        assertTrue(get(a.releaseLeader()));
        revisions.check("releaseLeader");
        assumeTrue(revisions.reported, "the store reports no write revision (0): only that it never decreases was checked");
    }

    /** Checks, after each write of one session, that its write revision did not go back and that reads are no older. */
    private final class WriteRevisions {
        private final DcsSession writer;
        private final DcsSession other;
        private long last;
        boolean reported;

        WriteRevisions(DcsSession writer, DcsSession other) {
            this.writer = writer;
            this.other = other;
        }

        void check(String after) {
            long w = writer.writeRevision();
            assertTrue(w >= last, "after " + after + ": writeRevision went back from " + last + " to " + w);
            last = w;
            if (w <= 0) {
                return;
            }
            reported = true;
            long own = get(writer.read()).revision();
            assertTrue(own >= w, "after " + after + ": the writer's read has revision " + own + " < writeRevision " + w);
            long fresh = get(other.readAuthoritative()).revision();
            assertTrue(fresh >= w, "after " + after + ": another session's authoritative read has revision " + fresh
                    + " < writeRevision " + w);
        }
    }

    private static String valueOf(DcsEntry e) {
        return e == null ? null : e.value();
    }

    // ------------------------------------------------------------------ watches

    @Test
    void aWatchReportsAChangeMadeByAnotherMember() {
        DcsSession a = member("a");
        RecordingListener heard = new RecordingListener();
        closeables.add(a.watch(heard));
        awaitWatchEstablished(a, heard);
        heard.paths.clear();
        assertTrue(get(member("b").compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT)));
        await().atMost(watchDelay()).until(() -> heard.saw("config"));
    }

    @Test
    void aWatchReportsTheExpiryOfAnotherMembersLeaderKey() {
        DcsSession a = member("a");
        DcsSession b = member("b");
        assertTrue(get(b.acquireLeader()));
        RecordingListener heard = new RecordingListener();
        closeables.add(a.watch(heard));
        awaitWatchEstablished(a, heard);
        heard.paths.clear();
        long start = System.nanoTime();
        await().atMost(ttl().plus(expirySlack()).plus(watchDelay())).pollInterval(Duration.ofMillis(20))
                .until(() -> heard.saw("leader"));
        assertTrue(leader().isEmpty(), "the change heard is the expiry");
        assertTrue(System.nanoTime() - start >= ttl().toNanos() / 2, "heard too early to be the expiry");
    }

    @Test
    void aClosedSubscriptionHearsNothingMore() {
        DcsSession a = member("a");
        RecordingListener heard = new RecordingListener();
        Subscription sub = a.watch(heard);
        awaitWatchEstablished(a, heard);
        sub.close();
        heard.paths.clear();
        assertTrue(get(member("b").compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT)));
        await().pollDelay(watchDelay().dividedBy(2)).atMost(watchDelay()).until(() -> true);
        assertFalse(heard.saw("config"), "a closed subscription still reported " + heard.paths);
    }

    /** Some stores set a watch up asynchronously: make a change and wait until it is heard. */
    private void awaitWatchEstablished(DcsSession s, RecordingListener heard) {
        DcsSession probe = member("probe-" + SCOPES.incrementAndGet());
        await().atMost(watchDelay().multipliedBy(3)).pollInterval(Duration.ofMillis(100)).until(() -> {
            get(probe.touchMember("{\"probe\":" + System.nanoTime() + "}"));
            return !heard.paths.isEmpty();
        });
        probe.close();
    }

    // ------------------------------------------------------------------ whole cluster, scopes, observers

    @Test
    void deleteClusterRemovesEveryKey() {
        DcsSession a = member("a");
        get(a.touchMember("{}"));
        assertTrue(get(a.acquireLeader()));
        assertTrue(get(a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT)));
        assertTrue(get(a.compareAndSet(ClusterKey.INITIALIZE, "123", DcsEntry.ABSENT)));
        get(observer().deleteCluster());
        ClusterSnapshot s = read();
        assertTrue(s.keys().isEmpty() && s.members().isEmpty(), "left after deleteCluster: " + s);
    }

    @Test
    void clustersOfDifferentScopesDoNotSeeEachOther() {
        assertTrue(get(member("a").acquireLeader()));
        DcsSession other = track(dcs.open(SessionSpec.member(scope + "-other", "a", ttl(), retryTimeout())));
        try {
            assertTrue(get(other.read()).leaderName().isEmpty(), "another scope sees no leader");
            assertTrue(get(other.acquireLeader()), "another scope has its own leader key");
        } finally {
            get(other.deleteCluster());
        }
    }

    @Test
    void anObserverSessionCannotHoldALease() {
        DcsSession o = observer();
        assertInstanceOf(IllegalStateException.class, failure(o::acquireLeader));
        assertInstanceOf(IllegalStateException.class, failure(() -> o.touchMember("{}")));
        assertTrue(get(o.read()).isEmpty());
    }

    // ------------------------------------------------------------------ unreachable

    @Test
    void anUnreachableStoreFailsEveryCallWithDcsUnreachableWithinRetryTimeout() throws Exception {
        Dcs down = createUnreachableDcs();
        closeables.add(down);
        DcsSession s = down.open(SessionSpec.member(scope, "a", ttl(), retryTimeout()));
        closeables.add(s::close);
        List<Supplier<CompletionStage<?>>> calls = List.of(
                s::read, s::readAuthoritative, s::acquireLeader, () -> s.renewLeader(Optional.empty()), s::releaseLeader,
                () -> s.touchMember("{}"),
                () -> s.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT));
        for (Supplier<CompletionStage<?>> call : calls) {
            long start = System.nanoTime();
            AtomicReference<Throwable> error = new AtomicReference<>();
            try {
                call.get().toCompletableFuture().get(retryTimeout().toMillis() * 3 + 2000, TimeUnit.MILLISECONDS);
                fail("a call on an unreachable store succeeded");
            } catch (ExecutionException e) {
                error.set(e.getCause());
            } catch (TimeoutException e) {
                fail("a call on an unreachable store did not complete within 3 x retry_timeout");
            }
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertInstanceOf(DcsUnreachableException.class, error.get(), "the failure type");
            assertTrue(tookMs <= retryTimeout().toMillis() + 1000,
                    "an unreachable store must fail within retry_timeout (+1 s slack), took " + tookMs + " ms");
        }
    }

    // ------------------------------------------------------------------ helpers

    private static Throwable failure(Supplier<? extends CompletionStage<?>> call) {
        try {
            call.get().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (RuntimeException e) {
            return e;
        } catch (Exception e) {
            return e;
        }
        return new AssertionError("the call succeeded");
    }

    private static final class RecordingListener implements DcsListener {
        final List<Optional<String>> paths = new CopyOnWriteArrayList<>();

        @Override
        public void clusterChanged(Optional<String> path) {
            paths.add(path);
        }

        boolean saw(String path) {
            return paths.stream().anyMatch(p -> p.isEmpty() || p.get().equals(path));
        }
    }
}
