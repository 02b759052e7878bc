package io.pgha.spi.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Outcomes of overlapping calls arrive out of order: only news about the store now starts or ends an outage. */
class StoreOutageTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final StoreOutage outage = new StoreOutage(new RepeatedCondition(LoggerFactory.getLogger(StoreOutageTest.class),
            "the store is unreachable", "the store is reachable again", "failed calls", Duration.ofSeconds(30),
            Duration.ofMinutes(10), now::get), now::get);

    private long begin() {
        return now.getAndAdd(1_000_000L);
    }

    @Test
    void callsThatFailAfterTheNewestAnswerBeganAreCountedAndAnAnswerToALaterCallEndsTheOutage() {
        long first = begin();
        long second = begin();
        outage.failed(first, "connection refused");
        outage.failed(second, "connection refused");
        assertThat(outage.failedCalls()).isEqualTo(2);

        outage.answered(begin());
        assertThat(outage.failedCalls()).isZero();
    }

    @Test
    void anAnswerToACallBegunBeforeTheNewestFailureEndsNothing() {
        long early = begin();
        outage.failed(begin(), "connection refused");
        outage.answered(early); // the store finished it while going away
        assertThat(outage.failedCalls()).isEqualTo(1);
    }

    @Test
    void aFailureOfACallBegunBeforeTheNewestAnswerStartsNothing() {
        long early = begin();
        outage.answered(begin());
        outage.failed(early, "no answer in time"); // it was stuck before the store answered a later call
        assertThat(outage.failedCalls()).isZero();
    }
}
