package io.pgha.internal.rest;

import io.pgha.spi.PostgresState;

import io.pgha.internal.decision.RestartRequest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.pgha.ConfigurationException;
import io.pgha.RestApiConfig;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.cluster.DynamicConfig;
import io.pgha.internal.cluster.FailoverRequest;
import io.pgha.internal.decision.AdminRequest;
import io.pgha.internal.decision.SwitchoverCheck;
import io.pgha.internal.engine.HaEngine;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.OptionalInt;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The REST API, Patroni-compatible: health checks for HAProxy, status documents for tools and
 * peers, and operator actions. Served by the JDK's HTTP server on a small thread pool of its own.
 * A bad request gets 400 with one line saying why, never a stack trace.
 */
public final class RestServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RestServer.class);

    private final RestApiConfig config;
    private final Runnable reload;
    private final HaEngine engine;
    private HttpServer server;
    private ExecutorService pool;
    private final AccessControl access;
    private final StoreAccess store;
    /** Operator actions (unsafe methods) run here, so a long one never holds a thread the health checks need. */
    private ExecutorService adminPool;

    private static final Set<String> UNSAFE = Set.of("POST", "PUT", "PATCH", "DELETE");

    static {
        // the JDK server waits for a slow client's request without end unless told: a few such
        // clients would hold every thread; these are read when the first server starts
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", "30");
        }
        if (System.getProperty("sun.net.httpserver.maxRspTime") == null) {
            System.setProperty("sun.net.httpserver.maxRspTime", "120");
        }
    }

    /**
     * @param reload what {@code POST /reload} runs: the node's configuration reloader, then a reload
     *               of PostgreSQL
     */
    public RestServer(RestApiConfig config, HaEngine engine, Runnable reload) {
        this.config = config;
        this.engine = engine;
        this.reload = reload;
        this.access = new AccessControl(config, () -> engine.view().cluster());
        this.store = new StoreAccess(engine);
    }

    /** Binds and starts serving. */
    public void start() {
        try {
            if (config.sslContext().isPresent()) {
                HttpsServer https = HttpsServer.create(config.listen(), 64);
                https.setHttpsConfigurator(new HttpsConfigurator(config.sslContext().get()) {
                    @Override
                    public void configure(HttpsParameters params) {
                        SSLParameters p = getSSLContext().getDefaultSSLParameters();
                        // each setter clears the other flag: set only the one that applies
                        switch (config.clientAuth()) {
                            case REQUIRED -> p.setNeedClientAuth(true);
                            case OPTIONAL -> p.setWantClientAuth(true);
                            case NONE -> p.setWantClientAuth(false);
                        }
                        params.setSSLParameters(p);
                    }
                });
                server = https;
            } else {
                server = HttpServer.create(config.listen(), 64);
            }
        } catch (BindException e) {
            throw new ConfigurationException("restapi.listen", config.listen().getHostString() + ":" + config.listen().getPort()
                    + " is already in use or not available (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new ConfigurationException("restapi.listen", "cannot listen on " + config.listen() + ": " + e.getMessage());
        }
        String name = engine.config().name();
        pool = Executors.newFixedThreadPool(config.threads(), r -> {
            Thread t = new Thread(r, "pgha-" + name + "-rest");
            t.setDaemon(true);
            return t;
        });
        adminPool = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "pgha-" + name + "-rest-admin");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(pool);
        server.createContext("/", this::dispatch);
        server.start();
        LOG.info("{}: REST API listening on {} ({})", name, boundAddress(), config.apiUrl());
        if (!boundAddress().getAddress().isLoopbackAddress() && config.username().isEmpty()
                && config.clientAuth() != RestApiConfig.ClientAuth.REQUIRED && config.allowlist().isEmpty()
                && !config.allowlistIncludeMembers()) {
            LOG.warn("{}: the REST API on {} lets anyone who can reach it switch over, fail over, restart, reinitialize"
                    + " and reconfigure the cluster (POST /switchover, /failover, /restart, /reinitialize, /reload;"
                    + " PUT and PATCH /config; DELETE /switchover, /restart): set restapi.authentication,"
                    + " verify_client: required or restapi.allowlist", name, boundAddress());
        }
    }

    public InetSocketAddress boundAddress() {
        return server.getAddress();
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop(0);
        }
        if (pool != null) {
            pool.shutdownNow();
        }
        if (adminPool != null) {
            adminPool.shutdownNow();
        }
    }

    // ============================================================================ plumbing

    /**
     * Health checks and status reads are answered on the request pool; operator actions (which can
     * wait for a switchover or a restart) move to the admin pool, so HAProxy's checks never queue
     * behind them.
     */
    private void dispatch(HttpExchange ex) {
        String method = ex.getRequestMethod().toUpperCase(Locale.ROOT);
        if (UNSAFE.contains(method)) {
            try {
                adminPool.execute(() -> handle(ex));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                send(ex, method, Reply.text(503, "the node is shutting down"));
            }
        } else {
            handle(ex);
        }
    }

    private void handle(HttpExchange ex) {
        Reply reply;
        String method = ex.getRequestMethod().toUpperCase(Locale.ROOT);
        try {
            String path = ex.getRequestURI().getPath();
            if (path.length() > 1 && path.endsWith("/")) {
                path = path.substring(0, path.length() - 1);
            }
            Map<String, String> query = query(ex.getRequestURI().getRawQuery());
            boolean unsafe = UNSAFE.contains(method);
            if (unsafe && !access.allowed(ex.getRemoteAddress().getAddress())) {
                throw new HttpError(403, "Access is denied");
            }
            if (unsafe && !access.authorized(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"pgha\"");
                throw new HttpError(401, "no or wrong credentials");
            }
            String body = unsafe ? readBody(ex) : "";
            reply = route(method, path, query, body);
        } catch (HttpError e) {
            reply = Reply.text(e.code, e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("{}: REST request {} {} failed", engine.config().name(), method, ex.getRequestURI().getPath(), e);
            reply = Reply.text(500, "internal error");
        }
        if (UNSAFE.contains(method)) {
            // who asked for what: every state-changing call is on record
            LOG.info("{}: {} {} from {}: {}", engine.config().name(), method, ex.getRequestURI().getPath(),
                    ex.getRemoteAddress() == null ? "?" : ex.getRemoteAddress().getAddress().getHostAddress() + ":"
                            + ex.getRemoteAddress().getPort(), reply.code());
        }
        send(ex, method, reply);
    }

    private static void send(HttpExchange ex, String method, Reply reply) {
        try (ex) {
            byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", reply.contentType());
            boolean noBody = method.equals("HEAD") || method.equals("OPTIONS");
            ex.sendResponseHeaders(reply.code(), noBody ? -1 : bytes.length == 0 ? -1 : bytes.length);
            if (!noBody && bytes.length > 0) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            }
        } catch (IOException e) {
            LOG.debug("could not send a REST reply: {}", e.toString());
        }
    }

    private String readBody(HttpExchange ex) {
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            try {
                if (Long.parseLong(length.trim()) > config.maxBodyBytes()) {
                    throw new HttpError(400, "request body too large (more than " + config.maxBodyBytes() + " bytes)");
                }
            } catch (NumberFormatException e) {
                throw new HttpError(400, "bad Content-Length");
            }
        }
        try (InputStream in = ex.getRequestBody()) {
            byte[] data = in.readNBytes(config.maxBodyBytes() + 1);
            if (data.length > config.maxBodyBytes()) {
                throw new HttpError(400, "request body too large (more than " + config.maxBodyBytes() + " bytes)");
            }
            return new String(data, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new HttpError(400, "could not read the request body");
        }
    }

    static Map<String, String> query(String raw) {
        Map<String, String> q = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return q;
        }
        for (String part : raw.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            try {
                String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
                String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
                q.put(k, v);
            } catch (IllegalArgumentException e) {
                throw new HttpError(400, "malformed query string");
            }
        }
        return q;
    }

    // ============================================================================ routing

    private NodeFacts facts() {
        return NodeFacts.of(engine);
    }

    private Reply route(String method, String path, Map<String, String> query, String body) {
        if (HealthCheck.isHealthPath(path)) {
            requireMethod(method, "GET", "HEAD", "OPTIONS");
            NodeFacts f = facts();
            int code;
            try {
                code = HealthCheck.evaluate(path, query, f, f.view().config().ttlNanos(), f.view().config().settings().maximumLagOnFailover());
            } catch (IllegalArgumentException e) {
                throw new HttpError(400, e.getMessage());
            }
            return Reply.json(code, StatusDocuments.patroni(f));
        }
        switch (path) {
            case "/patroni" -> {
                requireMethod(method, "GET", "HEAD");
                ObjectNode doc = StatusDocuments.patroni(facts());
                engine.scheduledRestart().ifPresent(r -> {
                    ObjectNode sr = doc.putObject("scheduled_restart");
                    sr.put("schedule", r.schedule().orElseThrow().toString());
                    r.role().ifPresent(x -> sr.put("role", x));
                    r.postgresVersion().ifPresent(v -> sr.put("postgres_version", v));
                    if (r.onlyIfPending()) {
                        sr.put("restart_pending", true);
                    }
                });
                return Reply.json(200, doc);
            }
            case "/cluster" -> {
                requireMethod(method, "GET", "HEAD");
                return Reply.json(200, StatusDocuments.cluster(store.freshCluster()));
            }
            case "/history" -> {
                requireMethod(method, "GET", "HEAD");
                return Reply.json(200, StatusDocuments.history(store.freshCluster()));
            }
            case "/metrics" -> {
                requireMethod(method, "GET", "HEAD");
                return new Reply(200, "text/plain; version=0.0.4; charset=utf-8", StatusDocuments.metrics(facts()));
            }
            case "/config" -> {
                requireMethod(method, "GET", "HEAD", "PATCH", "PUT");
                return switch (method) {
                    case "PATCH" -> patchConfig(body);
                    case "PUT" -> putConfig(body);
                    default -> getConfig();
                };
            }
            case "/switchover", "/failover" -> {
                if (method.equals("DELETE") && path.equals("/switchover")) {
                    return cancelSwitchover();
                }
                requireMethod(method, "POST");
                return switchover(path.equals("/failover"), JsonBody.object(body, true));
            }
            case "/restart" -> {
                if (method.equals("DELETE")) {
                    return engine.cancelScheduledRestart() ? Reply.text(200, "scheduled restart deleted")
                            : Reply.text(404, "no restarts are scheduled");
                }
                requireMethod(method, "POST");
                return restart(JsonBody.object(body, false));
            }
            case "/reinitialize" -> {
                requireMethod(method, "POST");
                ObjectNode b = JsonBody.object(body, false);
                AdminRequest.Outcome o = await(engine.submit(new AdminRequest.Reinitialize(b.path("force").asBoolean(false))),
                        Duration.ofSeconds(30));
                return Reply.text(o.ok() ? 200 : 503, o.message());
            }
            case "/reload" -> {
                requireMethod(method, "POST");
                try {
                    reload.run();
                } catch (io.pgha.ConfigurationException e) {
                    // the node runs on with the configuration it had
                    throw new HttpError(400, "reload refused: " + e.getMessage());
                }
                return Reply.text(202, "reload scheduled");
            }
            default -> throw new HttpError(404, "no such endpoint: " + path);
        }
    }

    private static void requireMethod(String method, String... allowed) {
        for (String a : allowed) {
            if (a.equals(method)) {
                return;
            }
        }
        throw new HttpError(405, "method " + method + " is not allowed here");
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> f, Duration max) {
        try {
            return f.get(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpError(503, "interrupted");
        } catch (java.util.concurrent.TimeoutException e) {
            throw new HttpError(503, "no outcome within " + max.toSeconds() + " s");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new HttpError(503, HttpError.describe(e));
        }
    }

    // ============================================================================ configuration

    private Reply getConfig() {
        Cluster c = store.freshCluster();
        return c.config().map(e -> Reply.json(200, e.config().toJson()))
                .orElseThrow(() -> new HttpError(502, "the cluster has no dynamic configuration"));
    }

    private Reply patchConfig(String body) {
        ObjectNode patch = JsonBody.object(body, true);
        ClusterSnapshot s = store.readSnapshot();
        DcsEntry current = s.get(ClusterKey.CONFIG).orElseThrow(() -> new HttpError(503, "the cluster has no dynamic configuration"));
        JsonNode base;
        try {
            base = ClusterCodec.JSON.readTree(current.value());
        } catch (JsonProcessingException e) {
            base = ClusterCodec.JSON.createObjectNode();
        }
        ObjectNode merged = new DynamicConfig(base != null && base.isObject() ? (ObjectNode) base : ClusterCodec.JSON.createObjectNode())
                .patched(patch).toJson();
        validate(merged);
        if (!store.write(d -> d.compareAndSet(ClusterKey.CONFIG, merged.toString(), current.version()))) {
            throw new HttpError(409, "the configuration changed meanwhile; read it again and retry");
        }
        engine.wake();
        return Reply.json(200, merged);
    }

    private Reply putConfig(String body) {
        ObjectNode replacement = JsonBody.object(body, true);
        validate(replacement);
        ClusterSnapshot s = store.readSnapshot();
        long version = s.get(ClusterKey.CONFIG).map(DcsEntry::version).orElse(DcsEntry.ABSENT);
        if (!store.write(d -> d.compareAndSet(ClusterKey.CONFIG, replacement.toString(), version))) {
            throw new HttpError(409, "the configuration changed meanwhile; read it again and retry");
        }
        engine.wake();
        return Reply.json(200, replacement);
    }

    private static void validate(ObjectNode config) {
        java.util.List<String> problems = new DynamicConfig(config).validate();
        if (!problems.isEmpty()) {
            throw new HttpError(400, "invalid configuration: " + String.join("; ", problems));
        }
    }

    // ============================================================================ switchover and failover

    private Reply switchover(boolean failover, ObjectNode body) {
        Optional<String> leader = JsonBody.text(body, "leader").or(() -> JsonBody.text(body, "master"));
        Optional<String> candidate = JsonBody.text(body, "candidate").or(() -> JsonBody.text(body, "member"));
        Optional<OffsetDateTime> at = Optional.empty();
        Optional<String> when = JsonBody.text(body, "scheduled_at");
        if (when.isPresent()) {
            if (failover) {
                throw new HttpError(400, "Failover can't be scheduled");
            }
            try {
                at = Optional.of(OffsetDateTime.parse(when.get()));
            } catch (DateTimeParseException e) {
                try {
                    java.time.LocalDateTime.parse(when.get());
                    throw new HttpError(400, "Timezone information is mandatory for the scheduled switchover");
                } catch (DateTimeParseException e2) {
                    throw new HttpError(400, "Unable to parse scheduled timestamp: '" + when.get() + "'");
                }
            }
        }
        SwitchoverCheck.Request request = new SwitchoverCheck.Request(failover, leader, candidate, at);
        SwitchoverCheck.checkShape(request).ifPresent(r -> {
            throw new HttpError(r.status(), r.message());
        });
        Cluster c = store.freshCluster();
        SwitchoverCheck.check(request, c, engine.config().wallClock().instant(), engine.view().config().syncMode().enabled())
                .ifPresent(r -> {
                    throw new HttpError(r.status(), r.message());
                });
        String value = ClusterCodec.encodeFailover(leader, candidate, at);
        long version = c.failover().map(FailoverRequest::version).orElse(DcsEntry.ABSENT);
        if (!store.write(d -> d.compareAndSet(ClusterKey.FAILOVER, value, version))) {
            throw new HttpError(503, "failed to write the failover key: it changed meanwhile");
        }
        engine.wake();
        String what = failover ? "Failover" : "Switchover";
        if (at.isPresent()) {
            return Reply.text(202, what + " scheduled");
        }
        return pollResult(what, c.leader(), candidate);
    }

    /** Waits for the outcome the way Patroni does: up to 2 × max(10 s, loop_wait). */
    private Reply pollResult(String what, Optional<String> oldLeader, Optional<String> candidate) {
        Duration loopWait = engine.view().config().settings().loopWait();
        Duration wait = (loopWait.compareTo(Duration.ofSeconds(10)) > 0 ? loopWait : Duration.ofSeconds(10)).multipliedBy(2);
        long deadline = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() < deadline) {
            Cluster now;
            try {
                now = store.freshCluster();
            } catch (HttpError e) {
                now = null;
            }
            if (now != null) {
                Optional<String> l = now.leader();
                if (l.isPresent() && !l.equals(oldLeader)) {
                    if (candidate.isEmpty() || candidate.equals(l)) {
                        return Reply.text(200, "Successfully " + (what.equals("Failover") ? "failed over" : "switched over") + " to \""
                                + l.get() + "\"");
                    }
                    return Reply.text(200, what + " to \"" + l.get() + "\" instead of \"" + candidate.get() + "\"");
                }
                if (now.failover().isEmpty() && l.equals(oldLeader)) {
                    return Reply.text(503, what + " failed");
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return Reply.text(503, what + " status unknown");
    }

    private Reply cancelSwitchover() {
        Cluster c = store.freshCluster();
        Optional<FailoverRequest> fo = c.failover().filter(f -> f.scheduledAt().isPresent());
        if (fo.isEmpty()) {
            throw new HttpError(404, "no switchover is scheduled");
        }
        if (!store.write(d -> d.compareAndDelete(ClusterKey.FAILOVER, fo.get().version()))) {
            throw new HttpError(409, "the switchover changed meanwhile");
        }
        return Reply.text(200, "scheduled switchover deleted");
    }

    // ============================================================================ restart

    /**
     * Patroni's {@code POST /restart}: filters {@code role}, {@code postgres_version},
     * {@code restart_pending}; {@code timeout}; {@code schedule} for later (202), one at a time (409),
     * not in the past (400), not while paused (500); an unknown key is a 400 naming it.
     */
    private Reply restart(ObjectNode body) {
        for (var f : body.properties()) {
            if (!Set.of("schedule", "role", "postgres_version", "timeout", "restart_pending").contains(f.getKey())) {
                throw new HttpError(400, "Unknown filter for the scheduled restart: " + f.getKey());
            }
        }
        Optional<String> role = JsonBody.text(body, "role").map(r -> r.equals("master") ? "primary" : r);
        if (role.isPresent() && !Set.of("primary", "replica", "any").contains(role.get())) {
            throw new HttpError(400, "PostgreSQL role should be either primary or replica");
        }
        OptionalInt version = OptionalInt.empty();
        if (body.hasNonNull("postgres_version")) {
            try {
                version = OptionalInt.of(RestartRequest.versionNumber(body.get("postgres_version").asText()));
            } catch (IllegalArgumentException e) {
                throw new HttpError(400, e.getMessage());
            }
        }
        boolean pendingOnly = false;
        if (body.hasNonNull("restart_pending")) {
            if (!body.get("restart_pending").isBoolean()) {
                throw new HttpError(400, "restart_pending must be true or false");
            }
            pendingOnly = body.get("restart_pending").booleanValue();
        }
        Duration timeout = Duration.ofSeconds(60);
        if (body.hasNonNull("timeout")) {
            try {
                timeout = Duration.ofMillis((long) (Double.parseDouble(body.get("timeout").asText()) * 1000));
            } catch (NumberFormatException e) {
                throw new HttpError(400, "timeout must be a number of seconds");
            }
            if (timeout.isNegative() || timeout.isZero()) {
                throw new HttpError(400, "timeout must be positive");
            }
        }
        Optional<OffsetDateTime> schedule = Optional.empty();
        if (body.hasNonNull("schedule")) {
            try {
                schedule = Optional.of(OffsetDateTime.parse(body.get("schedule").asText()));
            } catch (DateTimeParseException e) {
                throw new HttpError(400, "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
            }
        }
        RestartRequest request = new RestartRequest(schedule, role, version, pendingOnly, timeout);
        NodeFacts f = facts();
        if (schedule.isPresent()) {
            if (f.paused()) {
                return Reply.text(500, "Can't schedule restart in the paused state");
            }
            if (schedule.get().toInstant().isBefore(engine.config().wallClock().instant())) {
                throw new HttpError(400, "Cannot schedule restart in the past");
            }
            return engine.scheduleRestart(request) ? Reply.text(202, "Restart scheduled")
                    : Reply.text(409, "Another restart is already scheduled");
        }
        Optional<String> mismatch = request.mismatch(StatusDocuments.role(f), f.view().postgres().map(PostgresState::serverVersion)
                .orElse(0), f.view().postgres().map(p -> !p.pendingRestart().isEmpty()).orElse(false));
        if (mismatch.isPresent()) {
            return Reply.text(503, "restart conditions are not satisfied: " + mismatch.get());
        }
        AdminRequest.Outcome o = await(engine.submit(new AdminRequest.Restart(timeout)), timeout.plusSeconds(10));
        return Reply.text(o.ok() ? 200 : 503, o.ok() ? "restarted successfully" : "restart failed: " + o.message());
    }
}
