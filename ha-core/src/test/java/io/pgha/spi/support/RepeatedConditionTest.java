package io.pgha.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** A repeating condition, logged as a handful of lines, on an injected clock. */
class RepeatedConditionTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final Logger log = (Logger) LoggerFactory.getLogger(RepeatedConditionTest.class.getName() + ".outage");
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private RepeatedCondition outage;

    @BeforeEach
    void capture() {
        lines.start();
        log.addAppender(lines);
        log.setLevel(Level.INFO);
        log.setAdditive(false);
        outage = new RepeatedCondition(log, "etcd at [h:2379] is unreachable", "etcd at [h:2379] is reachable again",
                "failed calls", Duration.ofSeconds(30), Duration.ofMinutes(10), now::get);
    }

    @AfterEach
    void release() {
        log.detachAppender(lines);
    }

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    private List<String> logged() {
        return lines.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
    }

    @Test
    void theBeginningIsOneWarningNamingTheCauseAndRepeatsAreOnlyCounted() {
        assertThat(outage.occurred("connection refused")).isTrue();
        for (int i = 0; i < 20; i++) {
            advance(Duration.ofSeconds(1));
            assertThat(outage.occurred("connection refused")).isFalse();
        }
        assertThat(logged()).containsExactly("WARN etcd at [h:2379] is unreachable: connection refused");
        assertThat(outage.active()).isTrue();
        assertThat(outage.occurrences()).isEqualTo(21);
    }

    @Test
    void theEndIsOneLineWithTheDurationAndTheCount() {
        outage.occurred("connection refused");
        for (int i = 0; i < 11; i++) {
            advance(Duration.ofMillis(1025));
            outage.occurred("no answer within retry_timeout (1000 ms)");
        }
        advance(Duration.ofMillis(25));
        assertThat(outage.ended()).isTrue();
        assertThat(logged()).containsExactly("WARN etcd at [h:2379] is unreachable: connection refused",
                "INFO etcd at [h:2379] is reachable again after 11.3 s, 12 failed calls");
        assertThat(outage.active()).isFalse();
        assertThat(outage.occurrences()).isZero();
        assertThat(outage.ended()).as("an end without a condition").isFalse();
        assertThat(logged()).hasSize(2);
    }

    @Test
    void aTenMinuteOutageIsSixLinesWithRemindersAtDoublingIntervals() {
        outage.occurred("connection refused");
        for (int s = 1; s <= 600; s++) {
            advance(Duration.ofSeconds(1));
            outage.occurred("connection refused");
        }
        outage.ended();
        assertThat(logged()).containsExactly(
                "WARN etcd at [h:2379] is unreachable: connection refused",
                "WARN etcd at [h:2379] is unreachable for 30.0 s now, 31 failed calls: connection refused",
                "WARN etcd at [h:2379] is unreachable for 90.0 s now, 91 failed calls: connection refused",
                "WARN etcd at [h:2379] is unreachable for 210.0 s now, 211 failed calls: connection refused",
                "WARN etcd at [h:2379] is unreachable for 450.0 s now, 451 failed calls: connection refused",
                "INFO etcd at [h:2379] is reachable again after 600.0 s, 601 failed calls");
    }

    @Test
    void remindersNeverComeFurtherApartThanTheLongestInterval() {
        outage = new RepeatedCondition(log, "down", "up", "checks", Duration.ofSeconds(10), Duration.ofSeconds(15), now::get);
        outage.occurred("x");
        for (int s = 1; s <= 60; s++) {
            advance(Duration.ofSeconds(1));
            outage.occurred("x");
        }
        assertThat(logged()).containsExactly("WARN down: x", "WARN down for 10.0 s now, 11 checks: x",
                "WARN down for 25.0 s now, 26 checks: x", "WARN down for 40.0 s now, 41 checks: x", "WARN down for 55.0 s now, 56 checks: x");
    }

    @Test
    void aConditionThatComesBackIsReportedAfresh() {
        outage.occurred("connection refused");
        advance(Duration.ofSeconds(2));
        outage.ended();
        advance(Duration.ofSeconds(60));
        outage.occurred("etcd has no leader");
        advance(Duration.ofSeconds(1));
        outage.ended();
        assertThat(logged()).containsExactly("WARN etcd at [h:2379] is unreachable: connection refused",
                "INFO etcd at [h:2379] is reachable again after 2.0 s, 1 failed calls",
                "WARN etcd at [h:2379] is unreachable: etcd has no leader",
                "INFO etcd at [h:2379] is reachable again after 1.0 s, 1 failed calls");
    }

    @Test
    void reminderIntervalsAreChecked() {
        assertThatThrownBy(() -> new RepeatedCondition(log, "a", "b", "c", Duration.ZERO, Duration.ofSeconds(1), now::get))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RepeatedCondition(log, "a", "b", "c", Duration.ofSeconds(2), Duration.ofSeconds(1), now::get))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
