package io.pgha.dcs.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.watch.WatchEvent;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** When the watch cache may answer, and what it holds, event by event (no etcd; an injected clock). */
class WatchCacheTest {
    private static final long FRESH = TimeUnit.SECONDS.toNanos(3);

    private final AtomicLong clock = new AtomicLong(1_000_000_000L);
    private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1);
    private final WatchCache cache = new WatchCache(FRESH, clock::get, new Calls(timer, Runnable::run, "test", () -> { }, () -> null));

    @AfterEach
    void stopTimer() {
        timer.shutdownNow();
    }

    private static KeyValue kv(String key, String value, long modRevision) {
        return new KeyValue(io.etcd.jetcd.api.KeyValue.newBuilder()
                .setKey(ByteString.copyFromUtf8(key)).setValue(ByteString.copyFromUtf8(value))
                .setModRevision(modRevision).build(), ByteSequence.EMPTY);
    }

    private static WatchEvent put(String key, String value, long revision) {
        return new WatchEvent(kv(key, value, revision), null, WatchEvent.EventType.PUT);
    }

    private static WatchEvent delete(String key, long revision) {
        return new WatchEvent(kv(key, "", revision), null, WatchEvent.EventType.DELETE);
    }

    private Map<String, String> held() {
        return cache.view().orElseThrow().kvs().stream().collect(Collectors.toMap(
                k -> k.getKey().toString(StandardCharsets.UTF_8), k -> k.getValue().toString(StandardCharsets.UTF_8)));
    }

    /** A watch started at revision 11, seeded by a read at revision 10 holding {@code a=1}. */
    private void seeded() {
        cache.watchStarted(11, false);
        cache.answered(10);
        cache.seed(10, List.of(kv("a", "1", 10)));
    }

    @Test
    void aReadSeedsTheCacheWhenTheWatchHasDeliveredNothingNewerThanIt() {
        seeded();

        assertThat(held()).containsExactly(Map.entry("a", "1"));
        assertThat(cache.view().orElseThrow().revision()).isEqualTo(10);
    }

    @Test
    void aReadOlderThanWhatTheWatchAlreadyDeliveredDoesNotSeedIt() {
        cache.watchStarted(11, false);
        cache.watched(List.of(put("b", "2", 12)), 13);
        cache.answered(11);

        cache.seed(11, List.of(kv("a", "1", 10)));

        assertThat(cache.view()).as("the change at 12 would be lost").isEmpty();
    }

    @Test
    void eventsAlreadyInTheSeedAreSkippedAndLaterOnesApplied() {
        cache.watchStarted(9, false);
        cache.answered(10);
        cache.seed(10, List.of(kv("a", "1", 10)));

        cache.watched(List.of(delete("a", 10)), 11); // an event the seed already holds the outcome of
        assertThat(held()).containsExactly(Map.entry("a", "1"));

        cache.watched(List.of(put("b", "2", 11), delete("a", 12)), 13);
        assertThat(held()).containsExactly(Map.entry("b", "2"));
        assertThat(cache.view().orElseThrow().revision()).isEqualTo(12);
    }

    @Test
    void theCacheSaysNothingUntilItHasCaughtUpWithTheNewestRevisionAnAnswerCarried() {
        seeded();
        cache.answered(14);
        assertThat(cache.view()).isEmpty();

        cache.watched(List.of(), 15); // a periodic progress notification: nothing under the prefix up to 14
        assertThat(cache.view()).isPresent();
    }

    @Test
    void aFailedCallSilencesTheCacheUntilEtcdAnswersAgain() {
        seeded();
        cache.failed();
        assertThat(cache.view()).isEmpty();

        cache.answered(10);
        assertThat(cache.view()).isPresent();
    }

    @Test
    void theCacheSaysNothingWhenEtcdHasNotAnsweredForTtl() {
        seeded();
        clock.addAndGet(FRESH);
        assertThat(cache.view()).isPresent();

        clock.addAndGet(1);
        assertThat(cache.view()).isEmpty();
    }

    @Test
    void aBrokenWatchSilencesTheCacheAndAResumedOneKeepsIt() {
        seeded();
        cache.watchBroken(false);
        assertThat(cache.view()).isEmpty();

        cache.watchStarted(11, true);
        assertThat(held()).containsExactly(Map.entry("a", "1"));
    }

    @Test
    void aWatchThatLostItsPositionEmptiesTheCacheUntilTheNextRead() {
        seeded();
        cache.watchBroken(true);
        cache.watchStarted(20, false);
        assertThat(cache.view()).isEmpty();

        cache.seed(19, List.of(kv("c", "3", 18)));
        assertThat(held()).containsExactly(Map.entry("c", "3"));
    }

    @Test
    void aReaderWaitingForTheWatchIsToldOnceItCaughtUp() throws Exception {
        seeded();
        cache.answered(12);
        var caughtUp = cache.caughtUp();
        cache.watched(List.of(put("a", "2", 12)), 13);

        assertThat(caughtUp.get(5, TimeUnit.SECONDS)).isTrue();
        assertThat(held()).containsExactly(Map.entry("a", "2"));
    }

    @Test
    void aReaderWaitingForAWatchThatDoesNotCatchUpIsToldSoInTime() throws Exception {
        seeded();
        cache.answered(12);

        assertThat(cache.caughtUp().get(5, TimeUnit.SECONDS)).isFalse();
    }

    // etcd before 3.4.24 / 3.5.8 (etcd-io/etcd#15220) answers a requested progress report with its
    // current revision even while the watch still has older events to deliver, so such a report
    // can arrive ahead of them. Whatever moved the revision, only the seed decides what is skipped.

    @Test
    void aProgressReportThatOvertakesPendingEventsDoesNotMakeThemSkipped() {
        seeded();
        cache.answered(20);
        cache.watched(List.of(), 21); // a report of revision 20, ahead of the changes at 12, 13 and 15

        cache.watched(List.of(put("a", "2", 12)), 21);
        cache.watched(List.of(put("b", "1", 13), put("c", "1", 13)), 21);
        cache.watched(List.of(delete("b", 15)), 21);

        assertThat(held()).containsOnly(Map.entry("a", "2"), Map.entry("c", "1"));
    }

    @Test
    void theCacheAppliesALateEventBelowTheReportedProgressRevisionWithoutGoingBackInTime() {
        seeded();
        cache.answered(20);
        cache.watched(List.of(), 21);

        cache.watched(List.of(delete("a", 15)), 21);

        assertThat(cache.view().orElseThrow().kvs()).isEmpty();
        assertThat(cache.view().orElseThrow().revision()).isEqualTo(20);
    }

    @Test
    void aDirectReadRepairsACacheThatAProgressReportHadMovedAheadOfItsEvents() {
        seeded();
        cache.answered(20);
        cache.watched(List.of(), 21); // claims 20, but the change at 15 has not arrived yet
        assertThat(held()).doesNotContainKey("b");

        cache.seed(20, List.of(kv("a", "1", 10), kv("b", "1", 15)));
        assertThat(held()).containsOnly(Map.entry("a", "1"), Map.entry("b", "1"));

        cache.watched(List.of(put("b", "1", 15)), 21); // the late event, now already in the seed
        cache.watched(List.of(put("b", "2", 21)), 22);
        assertThat(held()).containsOnly(Map.entry("a", "1"), Map.entry("b", "2"));
    }

    @Test
    void aReadOlderThanTheCacheDoesNotTakeItBackInTime() {
        cache.watchStarted(11, false);
        cache.answered(12);
        cache.seed(12, List.of(kv("a", "2", 12)));

        cache.seed(11, List.of(kv("a", "1", 10))); // an earlier read whose answer arrived later

        assertThat(held()).containsExactly(Map.entry("a", "2"));
        assertThat(cache.view().orElseThrow().revision()).isEqualTo(12);
    }
}
