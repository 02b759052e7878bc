package io.pgha.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.Ticker;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The controller's fence fires at the deadline the engine computed, whatever the JVM did in between. */
class WriteFenceDeadlineTest {
    private static final long MS = 1_000_000L;

    @Test
    void aDeadlineOnTheEnginesClockBecomesTheSameMomentOnTheHelpersClock() {
        AtomicLong ticker = new AtomicLong(5_000 * MS);
        // the engine computed: fire 1 s from ticker 5 000 ms; the helper's clock reads 80 000 ms then
        long uptime = WriteFence.onUptimeClock(6_000 * MS, ticker::get, () -> 80_000);
        assertThat(uptime).isEqualTo(81_000);
    }

    @Test
    void aPauseBeforeArmingDoesNotMoveTheDeadlineLater() {
        AtomicLong now = new AtomicLong(5_000 * MS);
        long deadline = now.get() + Duration.ofSeconds(1).toNanos(); // from the renewal's send time
        // the JVM froze for 700 ms after the renewal: both clocks moved on before the fence was armed
        now.addAndGet(700 * MS);
        long uptime = WriteFence.onUptimeClock(deadline, now::get, () -> 80_700);
        assertThat(uptime).as("fires 1 s after the renewal was sent (uptime 81 000), not 1 s after arming").isEqualTo(81_000);
    }

    @Test
    void aPauseBetweenTheTwoClockReadingsCanOnlyMakeItFireEarlier() {
        AtomicLong now = new AtomicLong(5_000 * MS);
        long deadline = now.get() + Duration.ofSeconds(1).toNanos();
        Ticker pausedAfterUptimeWasRead = () -> now.addAndGet(300 * MS); // 300 ms pass between the two readings
        long uptime = WriteFence.onUptimeClock(deadline, pausedAfterUptimeWasRead, () -> 80_000);
        assertThat(uptime).as("at most the true deadline (uptime 81 000)").isLessThanOrEqualTo(81_000).isEqualTo(80_700);
    }

    @Test
    void aDeadlineAlreadyPastFiresAtOnce() {
        long uptime = WriteFence.onUptimeClock(1_000 * MS, () -> 2_000 * MS, () -> 80_000);
        assertThat(uptime).isEqualTo(80_000);
    }
}
