package io.pgha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.PostgresController;
import io.pgha.spi.SessionSpec;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class HaNodeBuilderTest {

    private static final Dcs DCS = new Dcs() {
        @Override
        public DcsSession open(SessionSpec spec) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
        }
    };
    private static final PostgresController PG = controller(java.util.Optional.of("a test fence"));
    private static final PostgresController UNFENCED = controller(java.util.Optional.empty());

    private static PostgresController controller(java.util.Optional<String> externalFence) {
        return (PostgresController) Proxy.newProxyInstance(
                HaNodeBuilderTest.class.getClassLoader(), new Class<?>[] {PostgresController.class}, (p, m, a) -> {
                    if (m.getName().equals("externalFence")) {
                        return externalFence;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    private static HaNode.Builder complete() {
        return HaNode.builder().name("n1").scope("orders").dcs(DCS).postgres(PG);
    }

    @Test
    void aCompleteBuilderBuildsANodeWithPatronisDefaults() {
        HaNode node = complete().build();
        assertThat(node.settings().ttl()).isEqualTo(Duration.ofSeconds(30));
        assertThat(node.settings().loopWait()).isEqualTo(Duration.ofSeconds(10));
        assertThat(node.settings().retryTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(node.settings().maximumLagOnFailover()).isEqualTo(1024 * 1024);
        assertThat(node.settings().fencingMargin()).isEqualTo(Duration.ofSeconds(3));
        assertThat(node.status().role()).isEqualTo(Role.STOPPED);
        node.close();
    }

    @Test
    void buildRejectsTimingsThatCouldLetALeaseExpireBeforeTheDemotion() {
        assertThatThrownBy(() -> complete().ttl(Duration.ofSeconds(20)).loopWait(Duration.ofSeconds(10))
                .retryTimeout(Duration.ofSeconds(10)).build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("ttl:")
                .hasMessageContaining("loop_wait (10s) + 2 * retry_timeout (10s) = 30s must not exceed ttl (20s)")
                .satisfies(e -> assertThat(((ConfigurationException) e).setting()).isEqualTo("ttl"));
    }

    @Test
    void buildRejectsAFencingMarginThatDoesNotFit() {
        assertThatThrownBy(() -> complete().ttl(Duration.ofSeconds(3)).loopWait(Duration.ofSeconds(1))
                .retryTimeout(Duration.ofSeconds(1)).fencingMargin(Duration.ofMillis(1500)).build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("fencing_margin:");
    }

    @Test
    void aSmallTtlWithMatchingTimingsIsAccepted() {
        HaNode node = complete().ttl(Duration.ofSeconds(3)).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(1)).build();
        assertThat(node.settings().fencingMargin()).isEqualTo(Duration.ofMillis(300));
        node.close();
    }

    @Test
    void eachSetterRejectsABadValueNamingTheSetting() {
        assertThatThrownBy(() -> HaNode.builder().ttl(Duration.ofSeconds(1))).hasMessage("ttl: must be at least 2s, got 1s");
        assertThatThrownBy(() -> HaNode.builder().loopWait(Duration.ofMillis(10))).hasMessage("loop_wait: must be at least 100ms, got 10ms");
        assertThatThrownBy(() -> HaNode.builder().retryTimeout(Duration.ZERO)).hasMessageStartingWith("retry_timeout:");
        assertThatThrownBy(() -> HaNode.builder().maximumLagOnFailover(-1)).hasMessageStartingWith("maximum_lag_on_failover:");
        assertThatThrownBy(() -> HaNode.builder().primaryStartTimeout(Duration.ofSeconds(-1))).hasMessageStartingWith("primary_start_timeout:");
        assertThatThrownBy(() -> HaNode.builder().synchronousNodeCount(0)).hasMessageStartingWith("synchronous_node_count:");
        assertThatThrownBy(() -> HaNode.builder().apiUrl("not a url")).hasMessageStartingWith("api_url:");
        assertThatThrownBy(() -> MemberTags.DEFAULT.withFailoverPriority(-1)).hasMessageStartingWith("failover_priority:");
    }

    @Test
    void namesMustBeUsableAsKeysInTheStore() {
        assertThatThrownBy(() -> HaNode.builder().name("node 1")).isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("name: 'node 1' is not a valid name");
        assertThatThrownBy(() -> HaNode.builder().scope("a/b")).hasMessageStartingWith("scope: 'a/b' is not a valid name");
        assertThatThrownBy(() -> HaNode.builder().name("_x")).hasMessageStartingWith("name:");
        assertThatThrownBy(() -> HaNode.builder().name("x".repeat(64))).hasMessageStartingWith("name:");
    }

    @Test
    void requiredPartsAreNamedWhenMissing() {
        assertThatThrownBy(() -> HaNode.builder().scope("s").dcs(DCS).postgres(PG).build()).hasMessage("name: is required");
        assertThatThrownBy(() -> HaNode.builder().name("n").dcs(DCS).postgres(PG).build()).hasMessage("scope: is required");
        assertThatThrownBy(() -> HaNode.builder().name("n").scope("s").postgres(PG).build()).hasMessage("dcs: is required");
        assertThatThrownBy(() -> HaNode.builder().name("n").scope("s").dcs(DCS).build()).hasMessage("postgres: is required");
    }

    @Test
    void aControllerWithoutAnOutOfProcessFenceIsRefusedUnlessTheEmbedderAcceptsIt() {
        assertThatThrownBy(() -> HaNode.builder().name("n1").scope("orders").dcs(DCS).postgres(UNFENCED).build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("postgres: ")
                .hasMessageContaining("no out-of-process write fence")
                .hasMessageContaining("withoutExternalFence()");
        try (HaNode node = HaNode.builder().name("n1").scope("orders").dcs(DCS).postgres(UNFENCED).withoutExternalFence().build()) {
            assertThat(node.status().externalFence()).isEmpty();
        }
        try (HaNode node = complete().build()) {
            assertThat(node.status().externalFence()).contains("a test fence");
        }
    }

    @Test
    void aNameCannotBeSetTwice() {
        assertThatThrownBy(() -> HaNode.builder().name("a").name("b")).hasMessage("name: was already set");
    }

    @Test
    void everySettingCanBeSetOnlyOnceAndTheErrorNamesItsPatroniKey() {
        Map<String, UnaryOperator<HaNode.Builder>> setters = new LinkedHashMap<>();
        setters.put("ttl", b -> b.ttl(Duration.ofSeconds(30)));
        setters.put("loop_wait", b -> b.loopWait(Duration.ofSeconds(10)));
        setters.put("retry_timeout", b -> b.retryTimeout(Duration.ofSeconds(10)));
        setters.put("maximum_lag_on_failover", b -> b.maximumLagOnFailover(1));
        setters.put("primary_start_timeout", b -> b.primaryStartTimeout(Duration.ZERO));
        setters.put("fencing_margin", b -> b.fencingMargin(Duration.ofSeconds(1)));
        setters.put("peer_timeout", b -> b.peerTimeout(Duration.ofSeconds(1)));
        setters.put("synchronous_mode", b -> b.synchronousMode(SynchronousMode.OFF));
        setters.put("synchronous_node_count", b -> b.synchronousNodeCount(1));
        setters.put("use_pg_rewind", b -> b.usePgRewind(true));
        setters.put("check_timeline", b -> b.checkTimeline(false));
        setters.put("tags", b -> b.tags(MemberTags.DEFAULT));
        setters.put("api_url", b -> b.apiUrl("http://127.0.0.1:8008/patroni"));
        setters.put("bootstrap.dcs", b -> b.initialDynamicConfig("{}"));
        setters.forEach((key, setter) -> assertThatThrownBy(() -> setter.apply(setter.apply(HaNode.builder())))
                .as(key).isInstanceOf(ConfigurationException.class).hasMessage(key + ": was already set"));
    }

    @Test
    void aCustomSchedulerNeedsItsTicker() {
        assertThatThrownBy(() -> complete().scheduler((task, delay) -> () -> { }).build())
                .hasMessageStartingWith("ticker: ticker and scheduler go together");
    }

    @Test
    void manyNodesLiveInOneJvmWithoutSharingState() {
        HaNode a = complete().build();
        HaNode b = HaNode.builder().name("n2").scope("orders").dcs(DCS).postgres(PG).ttl(Duration.ofSeconds(10))
                .loopWait(Duration.ofSeconds(2)).retryTimeout(Duration.ofSeconds(3)).build();
        assertThat(a.settings().ttl()).isNotEqualTo(b.settings().ttl());
        assertThat(a.name()).isEqualTo("n1");
        assertThat(b.name()).isEqualTo("n2");
        a.close();
        b.close();
    }
}
