package io.pgha.spi;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Asks a peer for its live status during a leader race. The REST module implements it with
 * {@code GET <api_url>} (Patroni's {@code /patroni}); the simulator calls peers directly.
 *
 * <p>A peer that does not answer within {@code timeout} is treated as unhealthy and ignored:
 * the stage fails (any exception) or completes with empty.
 */
@FunctionalInterface
public interface PeerClient {
    /**
     * @param member the peer's member name
     * @param apiUrl the peer's {@code api_url} from its member entry, if it published one
     */
    CompletionStage<Optional<PeerStatus>> fetch(String member, Optional<String> apiUrl, Duration timeout);

    /**
     * Asks a member of the {@code failsafe} topology to accept that the primary runs on while the
     * store cannot be reached (Patroni's {@code POST /failsafe}); completes true only if the member
     * accepted. A member that does not answer within {@code timeout}, refuses, or cannot be asked
     * completes false (or fails): the primary then demotes when its lease ends. By default a client
     * cannot ask, so failsafe mode never keeps a primary running.
     */
    default CompletionStage<Boolean> confirmFailsafe(String member, Optional<String> apiUrl, FailsafeRequest request,
                                                     Duration timeout) {
        return java.util.concurrent.CompletableFuture.completedFuture(false);
    }

    /**
     * Whether this client reaches a peer only through the {@code api_url} it publishes. If so, a
     * peer whose member entry has no {@code api_url} (it runs no REST API) is judged by that entry
     * instead of being asked. By default a client decides for itself and is asked about every peer.
     */
    default boolean needsApiUrl() {
        return false;
    }
}
