package io.pgha.internal.rest;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * A response body read up to a limit: a peer (or something posing as one) that sends more is cut
 * off and its answer treated as none, so a member's memory never depends on what another sends.
 */
final class BoundedBody implements HttpResponse.BodySubscriber<Optional<String>> {
    private final int limit;
    private final CompletableFuture<Optional<String>> result = new CompletableFuture<>();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private Flow.Subscription subscription;
    private boolean done;

    private BoundedBody(int limit) {
        this.limit = limit;
    }

    /** A handler whose body is the text, or empty when it exceeds {@code limit} bytes. */
    static HttpResponse.BodyHandler<Optional<String>> upTo(int limit) {
        return info -> new BoundedBody(limit);
    }

    @Override
    public CompletionStage<Optional<String>> getBody() {
        return result;
    }

    @Override
    public synchronized void onSubscribe(Flow.Subscription s) {
        subscription = s;
        s.request(Long.MAX_VALUE);
    }

    @Override
    public synchronized void onNext(List<ByteBuffer> items) {
        if (done) {
            return;
        }
        for (ByteBuffer b : items) {
            if (bytes.size() + b.remaining() > limit) {
                done = true;
                subscription.cancel();
                result.complete(Optional.empty());
                return;
            }
            byte[] chunk = new byte[b.remaining()];
            b.get(chunk);
            bytes.writeBytes(chunk);
        }
    }

    @Override
    public synchronized void onError(Throwable t) {
        if (!done) {
            done = true;
            result.completeExceptionally(t);
        }
    }

    @Override
    public synchronized void onComplete() {
        if (!done) {
            done = true;
            result.complete(Optional.of(bytes.toString(StandardCharsets.UTF_8)));
        }
    }
}
