package io.pgha.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.spi.PeerClient;
import io.pgha.spi.PeerStatus;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LazyPeerClientTest {
    private final AtomicInteger made = new AtomicInteger();
    private final LazyPeerClient lazy = new LazyPeerClient(() -> {
        made.incrementAndGet();
        return (PeerClient) (member, apiUrl, timeout) -> CompletableFuture.completedFuture(Optional.<PeerStatus>empty());
    }, true);

    @Test
    void theClientIsNotMadeUntilAPeerIsAskedAndWhetherItNeedsAnApiUrlIsKnownWithoutIt() {
        assertThat(lazy.needsApiUrl()).isTrue();

        assertThat(made).hasValue(0);
        assertThat(lazy.made()).isFalse();
    }

    @Test
    void theFirstQuestionToAPeerMakesTheClientOnceAndLaterOnesReuseIt() throws Exception {
        assertThat(lazy.fetch("m1", Optional.of("http://127.0.0.1:1/patroni"), Duration.ofSeconds(1)).toCompletableFuture().get())
                .isEmpty();
        lazy.fetch("m2", Optional.empty(), Duration.ofSeconds(1)).toCompletableFuture().get();
        assertThat(lazy.confirmFailsafe("m3", Optional.empty(), null, Duration.ofSeconds(1)).toCompletableFuture().get())
                .as("the made client's own answer (the interface's default: not confirmed)").isFalse();

        assertThat(made).hasValue(1);
        assertThat(lazy.made()).isTrue();
    }
}
