package io.pgha.internal.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.spi.Lsn;
import io.pgha.spi.PeerClient;
import io.pgha.spi.PeerStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.net.ssl.SSLContext;

/**
 * Asks a peer for its status over its REST API ({@code GET <api_url>}, Patroni's {@code /patroni}),
 * as Patroni does during a leader race. Works against Patroni nodes too.
 */
public final class HttpPeerClient implements PeerClient {
    private final HttpClient client;
    /** The cluster's REST credentials ({@code Authorization: Basic ...}), sent with the unsafe {@code POST /failsafe}. */
    private final Optional<String> authorization;

    public HttpPeerClient(Optional<SSLContext> tls) {
        this(tls, Optional.empty(), Optional.empty());
    }

    /**
     * @param username, password the REST API's basic-auth credentials, which every member shares (as
     *                 Patroni's {@code restapi.authentication}); sent with {@code POST /failsafe} only
     */
    public HttpPeerClient(Optional<SSLContext> tls, Optional<String> username, Optional<char[]> password) {
        this(newClient(tls), username, password);
    }

    /** On a client shared with other nodes (one per TLS context: {@code io.pgha.internal.engine.SharedPools#httpClient}). */
    public HttpPeerClient(HttpClient client, Optional<String> username, Optional<char[]> password) {
        this.client = java.util.Objects.requireNonNull(client, "client");
        this.authorization = username.flatMap(u -> password.map(p -> "Basic " + java.util.Base64.getEncoder().encodeToString(
                (u + ":" + new String(p)).getBytes(java.nio.charset.StandardCharsets.UTF_8))));
    }

    private static HttpClient newClient(Optional<SSLContext> tls) {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).version(HttpClient.Version.HTTP_1_1);
        tls.ifPresent(b::sslContext);
        return b.build();
    }

    /** Patroni's {@code POST /failsafe}: accepted only on 200 with the body {@code Accepted}. */
    @Override
    public CompletionStage<Boolean> confirmFailsafe(String member, Optional<String> apiUrl, io.pgha.spi.FailsafeRequest request,
                                                    Duration timeout) {
        if (apiUrl.isEmpty()) {
            return CompletableFuture.completedFuture(false);
        }
        com.fasterxml.jackson.databind.node.ObjectNode body = ClusterCodec.JSON.createObjectNode();
        body.put("name", request.name());
        body.put("conn_url", request.connUrl());
        request.apiUrl().ifPresent(u -> body.put("api_url", u));
        com.fasterxml.jackson.databind.node.ObjectNode slots = body.putObject("slots");
        request.slots().forEach(slots::put);
        HttpRequest.Builder rb;
        try {
            URI base = URI.create(apiUrl.get());
            rb = HttpRequest.newBuilder(base.resolve("/failsafe")).timeout(timeout)
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        } catch (IllegalArgumentException e) {
            return CompletableFuture.completedFuture(false);
        }
        authorization.ifPresent(a -> rb.header("Authorization", a));
        return client.sendAsync(rb.build(), BoundedBody.upTo(1024))
                .thenApply(r -> r.statusCode() == 200 && r.body().map(String::strip).map("Accepted"::equals).orElse(false));
    }

    /** A peer with no {@code api_url} cannot be asked over HTTP: its member entry speaks for it. */
    @Override
    public boolean needsApiUrl() {
        return true;
    }

    @Override
    public CompletionStage<Optional<PeerStatus>> fetch(String member, Optional<String> apiUrl, Duration timeout) {
        if (apiUrl.isEmpty()) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(URI.create(apiUrl.get())).timeout(timeout).GET().build();
        } catch (IllegalArgumentException e) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        return client.sendAsync(request, BoundedBody.upTo(MAX_STATUS_BYTES))
                .thenApply(r -> r.body().flatMap(body -> parse(member, body)));
    }

    /** A status document is a few kilobytes; anything past this is not one. */
    static final int MAX_STATUS_BYTES = 1024 * 1024;

    /** Reads Patroni's {@code /patroni} document (pgha writes the same fields). */
    static Optional<PeerStatus> parse(String member, String body) {
        JsonNode n;
        try {
            n = ClusterCodec.JSON.readTree(body);
        } catch (Exception e) {
            return Optional.empty();
        }
        if (n == null || !n.isObject()) {
            return Optional.empty();
        }
        boolean running = "running".equals(n.path("state").asText());
        String role = n.path("role").asText("");
        // a standby cluster's standby leader is a standby: it is in recovery and its WAL is what it received
        boolean primary = role.equals("primary") || role.equals("master");
        JsonNode x = n.path("xlog");
        long wal = primary ? x.path("location").asLong(0)
                : Math.max(x.path("received_location").asLong(0), x.path("replayed_location").asLong(0));
        JsonNode tags = n.path("tags");
        boolean nofailover = tags.path("nofailover").asBoolean(false);
        int priority = tags.has("failover_priority") ? tags.get("failover_priority").asInt(1) : 1;
        return Optional.of(PeerStatus.builder(member).running(running).inRecovery(!primary).walPosition(Lsn.of(wal))
                .timeline(n.path("timeline").asInt(0)).nofailover(nofailover).failoverPriority(priority)
                .failsafeActive(n.path("failsafe_mode_is_active").asBoolean(false)).build());
    }
}
