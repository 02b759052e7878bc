package io.pgha.agent;

import io.pgha.spi.FailsafeRequest;
import io.pgha.spi.PeerClient;
import io.pgha.spi.PeerStatus;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The REST peer client, made on its first use: a member asks its peers only in a leader race or in
 * failsafe mode, and the JDK's HTTP client it is built on brings the whole TLS stack (the default
 * {@code SSLContext}, its providers and trust store) and two threads into memory when created. An
 * idle agent that has not been in a race never loads them.
 */
final class LazyPeerClient implements PeerClient {
    private final Supplier<PeerClient> make;
    private final boolean needsApiUrl;
    private volatile PeerClient client;

    /**
     * @param needsApiUrl what the client made by {@code make} answers to {@link #needsApiUrl()}
     *                    (asked before any peer is, so it must be known without making the client)
     */
    LazyPeerClient(Supplier<PeerClient> make, boolean needsApiUrl) {
        this.make = make;
        this.needsApiUrl = needsApiUrl;
    }

    private PeerClient client() {
        PeerClient c = client;
        if (c == null) {
            synchronized (this) {
                c = client;
                if (c == null) {
                    c = make.get();
                    client = c;
                }
            }
        }
        return c;
    }

    /** Whether the client has been made (tests). */
    boolean made() {
        return client != null;
    }

    @Override
    public CompletionStage<Optional<PeerStatus>> fetch(String member, Optional<String> apiUrl, Duration timeout) {
        return client().fetch(member, apiUrl, timeout);
    }

    @Override
    public CompletionStage<Boolean> confirmFailsafe(String member, Optional<String> apiUrl, FailsafeRequest request, Duration timeout) {
        return client().confirmFailsafe(member, apiUrl, request, timeout);
    }

    @Override
    public boolean needsApiUrl() {
        return needsApiUrl;
    }
}
