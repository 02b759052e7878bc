package io.pgha.postgres;

import io.pgha.spi.PostgresException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The controller's worker, without a server: one change at a time, deadlines, scrubbed failures, a closed runner. */
class OperationRunnerTest {
    private static final String SECRET = "s3cret-pw";
    private final OperationRunner runner = new OperationRunner("m1", new Redactor(List.of(SECRET)));

    @AfterEach
    void close() {
        runner.close();
    }

    @Test
    void changing_operations_never_overlap_while_others_run_beside_them() throws Exception {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        List<CompletableFuture<Void>> changes = java.util.stream.IntStream.range(0, 4).mapToObj(i -> runner.changing("change " + i, () -> {
            most.accumulateAndGet(inside.incrementAndGet(), Math::max);
            // blocks until released: changes that ran side by side would all be inside here together
            release.await(10, TimeUnit.SECONDS);
            inside.decrementAndGet();
        })).toList();
        // a quick operation is not queued behind the changes
        assertThat(runner.async("quick", () -> "answer").get(5, TimeUnit.SECONDS)).isEqualTo("answer");
        release.countDown();
        CompletableFuture.allOf(changes.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
        assertThat(most.get()).isEqualTo(1);
    }

    @Test
    void a_hanging_operation_is_answered_with_a_timeout_at_its_deadline() {
        CountDownLatch never = new CountDownLatch(1);
        CompletableFuture<String> f = runner.withDeadline(runner.async("observe", () -> {
            never.await();
            return "late";
        }), Duration.ofMillis(100), "observe");
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(PostgresTimeoutException.class).hasMessageContaining("m1: observe got no answer within 100 ms");
    }

    @Test
    void a_failure_reaches_the_caller_as_a_postgres_exception_without_the_password() {
        CompletableFuture<Void> f = runner.async("reload", () -> {
            throw new IllegalStateException("connection string had password=" + SECRET);
        });
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).cause().isInstanceOf(PostgresException.class)
                .hasMessageContaining("m1: reload failed:").hasMessageNotContaining(SECRET);
    }

    @Test
    void a_closed_runner_refuses_work() {
        runner.close();
        assertThatThrownBy(() -> runner.async("start", () -> "x").get(5, TimeUnit.SECONDS)).cause()
                .isInstanceOf(PostgresException.class).hasMessageContaining("m1: start: the controller is closed");
    }
}
