package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsSession;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The engine hands the cluster's {@code postgresql.parameters} to every member's controller: the
 * bootstrap configuration's before the cluster exists, the {@code config} key's afterwards, again
 * whenever it changes (as {@code pghactl edit-config} changes it), and not again while it does not.
 */
class DynamicParametersHandoverTest {
    private static final Duration TTL = Duration.ofSeconds(10);

    private static VirtualCluster cluster() {
        return VirtualCluster.builder().nodes(3).seed(5)
                .configure((m, b) -> b.ttl(TTL).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(3))
                        .initialDynamicConfig("{\"postgresql\":{\"parameters\":{\"work_mem\":\"8MB\",\"max_connections\":200}}}"))
                .build().start();
    }

    @Test
    void everyMemberGetsTheBootstrapParametersAndThenEveryChangeOfTheConfigKey() {
        VirtualCluster c = cluster();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        assertThat(c.runUntil(() -> c.members().stream().allMatch(m -> m.postgres().appliedParameters()
                .equals(Map.of("work_mem", "8MB", "max_connections", "200"))), Duration.ofSeconds(5))).isTrue();

        assertThat(c.members()).allMatch(m -> m.postgres().appliedSettings().pgHba().isEmpty());
        patchParameters(c, "{\"work_mem\":\"64MB\",\"max_connections\":null,\"jit\":false}");

        assertThat(c.runUntil(() -> c.members().stream().allMatch(m -> m.postgres().appliedParameters()
                .equals(Map.of("work_mem", "64MB", "jit", "off"))), Duration.ofSeconds(5)))
                .as("the new parameters on every member; a null removes one, a boolean reads as on/off").isTrue();
    }

    @Test
    void anUnchangedConfigurationIsNotHandedOverAgain() {
        VirtualCluster c = cluster();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        c.advance(Duration.ofSeconds(5));
        Map<String, Integer> before = new java.util.HashMap<>();
        c.members().forEach(m -> before.put(m.name(), m.postgres().parameterHandovers()));

        c.advance(Duration.ofSeconds(30));

        c.members().forEach(m -> assertThat(m.postgres().parameterHandovers()).as(m.name()).isEqualTo(before.get(m.name())));
    }

    /** What {@code pghactl edit-config -p} writes: the config key with postgresql.parameters patched. */
    private static void patchParameters(VirtualCluster c, String parametersPatch) {
        DcsSession operator = c.operator();
        ClusterSnapshot s = await(c, operator.readAuthoritative().toCompletableFuture());
        var entry = s.get(ClusterKey.CONFIG).orElseThrow();
        ObjectNode config;
        try {
            config = (ObjectNode) ClusterCodec.JSON.readTree(entry.value());
            ObjectNode params = (ObjectNode) config.with("postgresql").with("parameters");
            ((ObjectNode) ClusterCodec.JSON.readTree(parametersPatch)).properties().forEach(f -> {
                if (f.getValue().isNull()) {
                    params.remove(f.getKey());
                } else {
                    params.set(f.getKey(), f.getValue());
                }
            });
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new AssertionError(e);
        }
        boolean written = await(c, operator.compareAndSet(ClusterKey.CONFIG, config.toString(), entry.version()).toCompletableFuture());
        assertThat(written).as("config written").isTrue();
        operator.close();
    }

    private static <T> T await(VirtualCluster c, CompletableFuture<T> f) {
        assertThat(c.runUntil(f::isDone, Duration.ofSeconds(5))).as("the store answered").isTrue();
        return f.join();
    }
}
