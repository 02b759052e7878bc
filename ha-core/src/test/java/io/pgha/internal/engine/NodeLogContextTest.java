package io.pgha.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.TaskScheduler;
import io.pgha.internal.NodeLogContext;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/** A node's MDC keys follow its tasks onto shared threads and onto the threads that answer its calls. */
class NodeLogContextTest {
    private final NodeLogContext n1 = new NodeLogContext("demo", "n1");

    @Test
    void aTaskRunsWithTheNodesKeysAndTheThreadGetsBackWhatItHad() {
        MDC.put(NodeLogContext.MEMBER, "other");
        try {
            AtomicReference<String> inside = new AtomicReference<>();
            n1.wrap(() -> inside.set(MDC.get(NodeLogContext.SCOPE) + "/" + MDC.get(NodeLogContext.MEMBER))).run();

            assertThat(inside.get()).isEqualTo("demo/n1");
            assertThat(MDC.get(NodeLogContext.MEMBER)).isEqualTo("other");
            assertThat(MDC.get(NodeLogContext.SCOPE)).isNull();
        } finally {
            MDC.remove(NodeLogContext.MEMBER);
        }
    }

    @Test
    void aCallStartedInANodesContextCompletesInItOnTheThreadThatAnswers() throws Exception {
        ScheduledExecutorService storeClient = Executors.newSingleThreadScheduledExecutor();
        try {
            TaskScheduler timer = (task, nanos) -> {
                var f = storeClient.schedule(task, nanos, TimeUnit.NANOSECONDS);
                return () -> f.cancel(false);
            };
            CompletableFuture<String> answer = new CompletableFuture<>();
            AtomicReference<CompletableFuture<String>> call = new AtomicReference<>();
            n1.run(() -> call.set(Futures.withTimeout(answer, TimeUnit.SECONDS.toNanos(10), timer, IllegalStateException::new)));
            CompletableFuture<String> seenBy = call.get().thenApply(v -> v + " seen by " + MDC.get(NodeLogContext.MEMBER));

            storeClient.submit(() -> answer.complete("answer")).get();

            assertThat(seenBy.get(5, TimeUnit.SECONDS)).isEqualTo("answer seen by n1");
            assertThat(storeClient.submit(() -> MDC.get(NodeLogContext.MEMBER)).get()).as("the store client's thread afterwards").isNull();
        } finally {
            storeClient.shutdownNow();
        }
    }

    @Test
    void aSchedulerSharedByTwoNodesRunsEachNodesTasksWithThatNodesKeys() throws Exception {
        ScheduledExecutorService shared = Executors.newSingleThreadScheduledExecutor();
        try {
            TaskScheduler scheduler = (task, nanos) -> {
                var f = shared.schedule(task, nanos, TimeUnit.NANOSECONDS);
                return () -> f.cancel(false);
            };
            CompletableFuture<String> first = new CompletableFuture<>();
            CompletableFuture<String> second = new CompletableFuture<>();
            n1.wrap(scheduler).schedule(() -> first.complete(MDC.get(NodeLogContext.MEMBER)), 0);
            new NodeLogContext("demo", "n2").wrap(scheduler).schedule(() -> second.complete(MDC.get(NodeLogContext.MEMBER)), 0);

            assertThat(first.get(5, TimeUnit.SECONDS)).isEqualTo("n1");
            assertThat(second.get(5, TimeUnit.SECONDS)).isEqualTo("n2");
        } finally {
            shared.shutdownNow();
        }
    }
}
