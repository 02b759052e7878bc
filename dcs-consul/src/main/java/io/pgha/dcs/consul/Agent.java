package io.pgha.dcs.consul;

import com.ecwid.consul.ConsulException;
import com.ecwid.consul.transport.HttpResponse;
import com.ecwid.consul.transport.TransportException;
import com.ecwid.consul.v1.ConsistencyMode;
import com.ecwid.consul.v1.ConsulClient;
import com.ecwid.consul.v1.ConsulRawClient;
import com.ecwid.consul.v1.OperationException;
import com.ecwid.consul.v1.QueryParams;
import com.ecwid.consul.v1.Request;
import com.ecwid.consul.v1.Response;
import com.ecwid.consul.v1.agent.model.NewService;
import com.ecwid.consul.v1.kv.model.GetBinaryValue;
import com.ecwid.consul.v1.kv.model.PutParams;
import com.ecwid.consul.v1.session.model.NewSession;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.support.StoreOutage;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.http.HttpRequestInterceptor;
import org.apache.http.client.config.RequestConfig;
import org.apache.http.client.protocol.HttpClientContext;
import org.apache.http.config.RegistryBuilder;
import org.apache.http.conn.socket.ConnectionSocketFactory;
import org.apache.http.conn.socket.PlainConnectionSocketFactory;
import org.apache.http.conn.ssl.SSLConnectionSocketFactory;
import org.apache.http.impl.client.CloseableHttpClient;
import org.apache.http.impl.client.HttpClientBuilder;
import org.apache.http.impl.conn.PoolingHttpClientConnectionManager;

/**
 * One HTTP client to the agent, with consul-api on top, for calls bounded by one timeout. Every
 * method blocks and maps failures to the SPI's types: no answer → {@link DcsUnreachableException};
 * an answer that refuses (ACL, bad request) → {@link DcsException}. The token travels only in the
 * {@code X-Consul-Token} header that the HTTP client adds to every request; it is never handed to
 * consul-api (which would put it in the URL, where proxies and debug logs see it).
 */
final class Agent implements AutoCloseable {
    private static final Gson GSON = new Gson();
    private static final String TOKEN_HEADER = "X-Consul-Token";
    /**
     * consul-api's {@code makePutRequest(Request)} sends only the binary content and fails on a
     * request built with {@code setContent}: every PUT of ours carries bytes, even when empty.
     */
    private static final byte[] NO_BODY = new byte[0];

    private final URI url;
    private final CloseableHttpClient http;
    private final ConsulRawClient raw;
    private final ConsulClient client;
    /** The store's "agent unreachable", shared by its agents. */
    private final StoreOutage outage;
    /** Closed: a request cut off by closing is no news about the agent. */
    private volatile boolean closed;

    /** For ordinary calls: read and connect timeouts from {@code retry_timeout}. */
    Agent(ConsulSettings settings, Duration retryTimeout, StoreOutage outage) {
        this(settings, retryTimeout, retryTimeout, outage);
    }

    /**
     * @param callTimeout   bound on connecting and on waiting for a pooled connection
     * @param socketTimeout bound on one read (longer for blocking queries, which hold the answer back)
     */
    Agent(ConsulSettings settings, Duration callTimeout, Duration socketTimeout, StoreOutage outage) {
        this.url = settings.url();
        this.outage = outage;
        RegistryBuilder<ConnectionSocketFactory> sockets = RegistryBuilder.<ConnectionSocketFactory>create()
                .register("http", PlainConnectionSocketFactory.getSocketFactory());
        settings.sslContext().ifPresent(ctx -> sockets.register("https", new SSLConnectionSocketFactory(ctx)));
        if (settings.sslContext().isEmpty()) {
            sockets.register("https", SSLConnectionSocketFactory.getSocketFactory());
        }
        PoolingHttpClientConnectionManager pool = new PoolingHttpClientConnectionManager(sockets.build());
        pool.setMaxTotal(64);
        pool.setDefaultMaxPerRoute(64);
        // a restarted agent leaves dead keep-alive connections in the pool: check them before reuse
        pool.setValidateAfterInactivity(200);
        int call = (int) Math.max(50, Math.min(Integer.MAX_VALUE, callTimeout.toMillis()));
        int read = (int) Math.max(50, Math.min(Integer.MAX_VALUE, socketTimeout.toMillis()));
        RequestConfig rc = RequestConfig.custom()
                .setConnectTimeout(call)
                .setConnectionRequestTimeout(call)
                .setSocketTimeout(read)
                .build();
        Optional<String> token = settings.token();
        this.http = HttpClientBuilder.create()
                .setConnectionManager(pool)
                .setDefaultRequestConfig(rc)
                // consul-api adds "X-Consul-Token: <null>" to every request built from a Request (its token
                // argument, which we never pass): replace it with ours, or drop it, as the last step
                .addInterceptorLast((HttpRequestInterceptor) (request, context) -> {
                    request.removeHeaders(TOKEN_HEADER);
                    token.ifPresent(t -> request.addHeader(TOKEN_HEADER, t));
                    long left = Deadline.remainingMillis();
                    if (left == 0) {
                        throw new java.net.SocketTimeoutException("retry_timeout passed before the request was sent");
                    }
                    if (left > 0 && left < read) {
                        // the request config is read from the context after the interceptors ran
                        int ms = (int) Math.max(1, left);
                        HttpClientContext.adapt(context).setRequestConfig(RequestConfig.copy(rc)
                                .setConnectTimeout(Math.min(call, ms)).setConnectionRequestTimeout(Math.min(call, ms))
                                .setSocketTimeout(ms).build());
                    }
                })
                // a retried PUT could apply twice, and retries would break the time bound
                .disableAutomaticRetries()
                .disableCookieManagement()
                .setUserAgent("pgha-dcs-consul")
                .build();
        this.raw = ConsulRawClient.Builder.builder()
                .setHost(url.getScheme() + "://" + url.getHost())
                .setPort(url.getPort())
                .setHttpClient(http)
                .build();
        this.client = new ConsulClient(raw);
    }

    URI url() {
        return url;
    }

    StoreOutage outage() {
        return outage;
    }

    // ------------------------------------------------------------------ KV

    /** A recursive listing of a prefix, with the index it was taken at. */
    record Listing(long index, List<GetBinaryValue> entries) {
    }

    /**
     * Lists every key under {@code prefix} (which ends with '/'); a blocking query when
     * {@code index > 0}.
     */
    Listing list(String prefix, ConsulDcs.Consistency consistency, long index, Optional<Duration> wait) {
        QueryParams.Builder qp = QueryParams.Builder.builder().setConsistencyMode(switch (consistency) {
            case DEFAULT -> ConsistencyMode.DEFAULT;
            case CONSISTENT -> ConsistencyMode.CONSISTENT;
            case STALE -> ConsistencyMode.STALE;
        });
        if (index > 0) {
            qp.setIndex(index);
            // consul-api sends wait in whole seconds
            qp.setWaitTime(Math.max(1, wait.orElse(Duration.ofSeconds(30)).toSeconds()));
        }
        Response<List<GetBinaryValue>> r = call("list " + prefix, () -> client.getKVBinaryValues(prefix, qp.build()));
        long idx = r.getConsulIndex() == null ? 0 : r.getConsulIndex();
        return new Listing(idx, r.getValue() == null ? List.of() : r.getValue());
    }

    /** One key, or empty when it does not exist. */
    Optional<GetBinaryValue> get(String key) {
        Response<GetBinaryValue> r = call("get " + key, () -> client.getKVBinaryValue(key));
        return Optional.ofNullable(r.getValue());
    }

    /** A PUT with {@code ?cas=} / {@code ?acquire=}; the agent's true or false. */
    boolean put(String key, String value, PutParams params) {
        return call("put " + key, () -> client.setKVBinaryValue(key, value.getBytes(StandardCharsets.UTF_8), params)).getValue();
    }

    /** Deletes every key under {@code prefix} (which ends with '/'). */
    void deleteTree(String prefix) {
        call("delete " + prefix, () -> client.deleteKVValues(prefix));
    }

    /** The outcome of a {@code /v1/txn}: committed, or rolled back with the agent's reasons. */
    record TxnResult(boolean committed, List<String> errors) {
        boolean mentions(String text) {
            return errors.stream().anyMatch(e -> e.toLowerCase(java.util.Locale.ROOT).contains(text));
        }
    }

    /** KV operations for {@code /v1/txn}, which consul-api 1.4.5 does not speak. */
    static Map<String, Object> op(String verb, String key) {
        return Map.of("KV", Map.of("Verb", verb, "Key", key));
    }

    static Map<String, Object> op(String verb, String key, long index) {
        return Map.of("KV", Map.of("Verb", verb, "Key", key, "Index", index));
    }

    static Map<String, Object> lockOp(String key, String value, String session) {
        return Map.of("KV", Map.of("Verb", "lock", "Key", key, "Session", session,
                "Value", Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8))));
    }

    /** Applies {@code ops} atomically: all or none. */
    TxnResult txn(List<Map<String, Object>> ops) {
        String body = GSON.toJson(ops);
        HttpResponse r = call("txn", () -> raw.makePutRequest(Request.Builder.newBuilder()
                .setEndpoint("/v1/txn").setBinaryContent(body.getBytes(StandardCharsets.UTF_8)).build()));
        if (r.getStatusCode() == 200) {
            return new TxnResult(true, List.of());
        }
        if (r.getStatusCode() == 409) {
            List<String> errors = new ArrayList<>();
            try {
                JsonElement e = JsonParser.parseString(r.getContent()).getAsJsonObject().get("Errors");
                if (e != null && e.isJsonArray()) {
                    for (JsonElement x : (JsonArray) e) {
                        JsonObject o = x.getAsJsonObject();
                        errors.add(o.has("What") ? o.get("What").getAsString() : o.toString());
                    }
                }
            } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
                throw new DcsException("the Consul agent answered a transaction with a malformed rollback: " + brief(r.getContent()));
            }
            return new TxnResult(false, errors);
        }
        throw refused("txn", r.getStatusCode(), r.getContent());
    }

    // ------------------------------------------------------------------ sessions

    String createSession(NewSession s) {
        String id = call("create a session", () -> client.sessionCreate(s, QueryParams.DEFAULT)).getValue();
        if (id == null || id.isBlank()) {
            throw new DcsException("the Consul agent created a session without an ID");
        }
        return id;
    }

    /** Renews a session; false when Consul no longer knows it (invalidated or expired). */
    boolean renewSession(String id) {
        HttpResponse r = call("renew the session", () -> raw.makePutRequest(Request.Builder.newBuilder()
                .setEndpoint("/v1/session/renew/" + id).setBinaryContent(NO_BODY).build()));
        if (r.getStatusCode() == 404) {
            return false;
        }
        if (r.getStatusCode() != 200) {
            throw refused("renew the session", r.getStatusCode(), r.getContent());
        }
        String c = r.getContent() == null ? "" : r.getContent().trim();
        // older agents answered 200 with null for an unknown session
        return !(c.isEmpty() || c.equals("null") || c.equals("[]"));
    }

    /** Whether Consul still knows a session. */
    boolean sessionExists(String id) {
        return call("read the session", () -> client.getSessionInfo(id, QueryParams.DEFAULT)).getValue() != null;
    }

    void destroySession(String id) {
        call("destroy the session", () -> client.sessionDestroy(id, QueryParams.DEFAULT));
    }

    // ------------------------------------------------------------------ services

    void registerService(NewService s) {
        call("register the service", () -> client.agentServiceRegister(s));
    }

    void deregisterService(String id) {
        HttpResponse r = call("deregister the service", () -> raw.makePutRequest(Request.Builder.newBuilder()
                .setEndpoint("/v1/agent/service/deregister/" + id).setBinaryContent(NO_BODY).build()));
        if (r.getStatusCode() != 200 && r.getStatusCode() != 404) {
            throw refused("deregister the service", r.getStatusCode(), r.getContent());
        }
    }

    // ------------------------------------------------------------------ errors

    private <T> T call(String what, Supplier<T> request) {
        long started = System.nanoTime();
        T answer;
        try {
            answer = request.get();
        } catch (TransportException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof javax.net.ssl.SSLHandshakeException || cause instanceof javax.net.ssl.SSLPeerUnverifiedException) {
                // the agent answered, and the TLS settings do not fit it: a configuration error, not an outage
                throw new DcsException("Consul agent " + url + " refused the TLS handshake (" + what + "): " + describe(cause), cause);
            }
            if (!closed) {
                outage.failed(started, reason(cause));
            }
            throw new DcsUnreachableException("Consul agent " + url + " unreachable (" + what + "): " + describe(cause), cause);
        } catch (OperationException e) {
            noteAnswer(started, e.getStatusCode(), e.getStatusContent());
            throw refused(what, e.getStatusCode(), e.getStatusContent());
        } catch (ConsulException | JsonParseException | IllegalStateException | NullPointerException e) {
            outage.answered(started);
            throw new DcsException("Consul agent " + url + " answered malformed data (" + what + "): " + e.getClass().getSimpleName());
        }
        if (answer instanceof HttpResponse r) {
            noteAnswer(started, r.getStatusCode(), r.getContent());
        } else {
            outage.answered(started);
        }
        return answer;
    }

    /** An answer with this status: a 5xx or 429 means the agent cannot serve (no leader, no way to its servers). */
    private void noteAnswer(long started, int status, String content) {
        if (status >= 500 || status == 429) {
            outage.failed(started, "HTTP " + status + " " + brief(content));
        } else {
            outage.answered(started);
        }
    }

    /** Why a request got no answer, in a few words. */
    static String reason(Throwable t) {
        if (t instanceof java.net.ConnectException) {
            return "connection refused";
        }
        if (t instanceof org.apache.http.conn.ConnectTimeoutException) {
            return "connecting timed out";
        }
        if (t instanceof java.net.SocketTimeoutException) {
            return "no answer in time";
        }
        if (t instanceof java.net.UnknownHostException) {
            return "unknown host " + t.getMessage();
        }
        if (t instanceof org.apache.http.NoHttpResponseException) {
            return "the agent closed the connection without answering";
        }
        if (t instanceof java.net.SocketException && t.getMessage() != null && t.getMessage().contains("reset")) {
            return "connection reset";
        }
        return describe(t);
    }

    private DcsException refused(String what, int status, String content) {
        String msg = "Consul agent " + url + " (" + what + "): HTTP " + status + " " + brief(content);
        if (status >= 500 || status == 429) {
            // no cluster leader, rate limited, or a server that cannot be reached behind the agent
            return new DcsUnreachableException(msg);
        }
        if (status == 401 || status == 403) {
            return new DcsException(msg + " (check the ACL token's policy)");
        }
        return new DcsException(msg);
    }

    /** The exception's class and the first line of its message. */
    private static String describe(Throwable t) {
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m.lines().findFirst().orElse("").strip());
    }

    static String brief(String content) {
        if (content == null) {
            return "";
        }
        String c = content.strip().replaceAll("\\s+", " ");
        return c.length() > 200 ? c.substring(0, 200) + "..." : c;
    }

    @Override
    public void close() {
        closed = true;
        try {
            http.close();
        } catch (IOException e) {
            // closing sockets: nothing left to do
        }
    }
}
