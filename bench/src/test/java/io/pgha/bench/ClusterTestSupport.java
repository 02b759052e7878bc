package io.pgha.bench;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/** What the end-to-end tests on a {@link LocalCluster} share: the log dump on failure and the wait for a healthy cluster. */
final class ClusterTestSupport {
    private ClusterTestSupport() {
    }

    /**
     * A watcher that prints the last {@code lines} lines of every agent's log when a test fails, so
     * a red CI run shows what the agents did. The supplier is read at failure time (the cluster is
     * started in {@code @BeforeAll}, after the watcher is registered).
     */
    static TestWatcher dumpLogsOnFailure(Supplier<LocalCluster> cluster, int lines) {
        return new TestWatcher() {
            @Override
            public void testFailed(ExtensionContext context, Throwable cause) {
                LocalCluster c = cluster.get();
                System.out.println(c == null ? "" : c.logs(lines));
            }
        };
    }

    /**
     * Waits until one primary leads and every member streams from it; fails at once if an agent exits
     * meanwhile. On failure it prints the agents' logs first: it is often called from {@code @BeforeAll},
     * where a failure reaches no {@link TestWatcher}.
     */
    static void awaitHealthy(LocalCluster cluster, Duration limit) {
        try {
            await().atMost(limit).pollInterval(Duration.ofMillis(200)).failFast("an agent exited", cluster::anAgentDied)
                    .until(cluster::healthy);
        } catch (RuntimeException | AssertionError e) {
            System.out.println("the cluster did not become healthy within " + limit.toSeconds() + " s:\n" + cluster.logs(150));
            throw e;
        }
    }
}
