package io.pgha.internal.rest;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.spi.PeerClient;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class PeerClientCapabilityTest {
    @Test
    void theHttpClientReachesPeersOnlyThroughTheirApiUrl() {
        assertThat(new HttpPeerClient(Optional.empty()).needsApiUrl()).isTrue();
    }

    @Test
    void aClientOfTheUsersOwnIsAskedAboutEveryPeer() {
        PeerClient own = (member, apiUrl, timeout) -> CompletableFuture.completedFuture(Optional.empty());
        assertThat(own.needsApiUrl()).isFalse();
    }
}
