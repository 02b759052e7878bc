package io.pgha.testkit;

import io.pgha.spi.support.ForwardingDcsSession;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.internal.NodeLogContext;
import io.pgha.spi.ClusterSnapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/**
 * Several nodes in one JVM log with their own MDC keys: every call a node makes into its store, and
 * every event it hands its listeners, happens with that node's scope and name in the MDC, and what
 * reacts to a store's answer does too.
 */
class NodeLogKeysTest {
    /** "session member / MDC member" for each observation. */
    private final List<String> seen = Collections.synchronizedList(new ArrayList<>());

    private void note(String member) {
        seen.add(member + "/" + MDC.get(NodeLogContext.SCOPE) + ":" + MDC.get(NodeLogContext.MEMBER));
    }

    @Test
    void everyStoreCallAndEveryEventOfANodeCarriesThatNodesScopeAndName() {
        VirtualCluster c = VirtualCluster.builder().nodes(3).seed(3).scope("logkeys")
                .sessions((m, s) -> new ForwardingDcsSession(s) {
                    @Override
                    public CompletionStage<ClusterSnapshot> read() {
                        note(m);
                        return super.read().thenApply(x -> x);
                    }

                    @Override
                    public CompletionStage<Boolean> renewLeader(Optional<String> status) {
                        note(m);
                        return super.renewLeader(status);
                    }

                    @Override
                    public CompletionStage<Void> touchMember(String value) {
                        note(m);
                        return super.touchMember(value);
                    }
                })
                .events((m, e) -> note(m))
                .build().start();

        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        c.advance(Duration.ofSeconds(10));

        assertThat(seen).hasSizeGreaterThan(30);
        assertThat(seen).allSatisfy(s -> {
            String member = s.substring(0, s.indexOf('/'));
            assertThat(s).isEqualTo(member + "/logkeys:" + member);
        });
        assertThat(seen.stream().map(s -> s.substring(0, s.indexOf('/'))).distinct()).containsExactlyInAnyOrder("n1", "n2", "n3");
    }
}
