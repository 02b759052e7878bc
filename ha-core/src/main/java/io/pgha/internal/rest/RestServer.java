package io.pgha.internal.rest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.pgha.ConfigurationException;
import io.pgha.RestApiConfig;
import io.pgha.health.HealthRequest;
import io.pgha.health.HealthResponse;
import io.pgha.internal.NodeLogContext;
import io.pgha.internal.engine.HaEngine;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The REST API, Patroni-compatible: health checks for HAProxy, status documents for tools and
 * peers, and operator actions. Served by the JDK's HTTP server on a small thread pool of its own.
 * A bad request gets 400 with one line saying why, never a stack trace.
 *
 * <p>This class is the transport and the routing; the operator actions are answered by
 * {@link ConfigEndpoints}, {@link LeaderChangeEndpoints} and {@link NodeActionEndpoints}.
 */
public final class RestServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RestServer.class);

    private final RestApiConfig config;
    private final HaEngine engine;
    private HttpServer server;
    private final NodeLogContext logContext;
    private ExecutorService pool;
    private final AccessControl access;
    private final StoreAccess store;
    private final ConfigEndpoints configEndpoints;
    private final LeaderChangeEndpoints leaderChange;
    private final NodeActionEndpoints nodeActions;
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
        this.access = new AccessControl(config, () -> engine.view().cluster());
        this.store = new StoreAccess(engine);
        this.configEndpoints = new ConfigEndpoints(engine, store);
        this.leaderChange = new LeaderChangeEndpoints(engine, store);
        this.nodeActions = new NodeActionEndpoints(engine, reload);
        this.logContext = new NodeLogContext(engine.config().scope(), engine.config().name());
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
        // a request's log lines carry the node's MDC keys, as the loop's do
        server.setExecutor(logContext.wrap(pool));
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
                adminPool.execute(logContext.wrap(() -> handle(ex)));
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
            // who asked for what: every operator's state-changing call is on record; a primary's failsafe
            // request comes every cycle of a store outage and changes nothing but this member's patience
            String path = ex.getRequestURI().getPath();
            String from = ex.getRemoteAddress() == null ? "?" : ex.getRemoteAddress().getAddress().getHostAddress() + ":"
                    + ex.getRemoteAddress().getPort();
            if (path.equals("/failsafe") && reply.code() == 200) {
                LOG.debug("{}: {} {} from {}: {}", engine.config().name(), method, path, from, reply.code());
            } else {
                LOG.info("{}: {} {} from {}: {}", engine.config().name(), method, path, from, reply.code());
            }
        }
        send(ex, method, reply);
    }

    private static void send(HttpExchange ex, String method, Reply reply) {
        try (ex) {
            byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", reply.contentType());
            reply.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
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

    /** The query parameters, parsed as the public health API parses them (the first value of a repeated one, as Patroni). */
    static Map<String, String> query(String raw) {
        try {
            return HealthRequest.of("/", raw).query();
        } catch (IllegalArgumentException e) {
            throw new HttpError(400, "malformed query string");
        }
    }

    // ============================================================================ routing

    private Reply route(String method, String path, Map<String, String> query, String body) {
        if (HealthCheck.isHealthPath(path)) {
            requireMethod(method, "GET", "HEAD", "OPTIONS");
            // the public API's answer, so that every server mounting the checks decides with this code
            HealthResponse r = HealthEndpoint.respond(engine, new HealthRequest(path, query));
            if (r.outcome() == HealthResponse.Outcome.BAD_REQUEST) {
                throw new HttpError(400, r.body());
            }
            return new Reply(r.status(), r.contentType(), r.body(), r.headers());
        }
        switch (path) {
            case "/patroni" -> {
                requireMethod(method, "GET", "HEAD");
                ObjectNode doc = StatusDocuments.patroni(NodeFacts.of(engine));
                engine.scheduledRestart().ifPresent(r -> StatusDocuments.addScheduledRestart(doc, r));
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
                return new Reply(200, "text/plain; version=0.0.4; charset=utf-8", StatusDocuments.metrics(NodeFacts.of(engine)));
            }
            case "/config" -> {
                requireMethod(method, "GET", "HEAD", "PATCH", "PUT");
                return switch (method) {
                    case "PATCH" -> configEndpoints.patch(body);
                    case "PUT" -> configEndpoints.put(body);
                    default -> configEndpoints.get();
                };
            }
            case "/switchover", "/failover" -> {
                if (method.equals("DELETE") && path.equals("/switchover")) {
                    return leaderChange.cancelScheduled();
                }
                requireMethod(method, "POST");
                return leaderChange.request(path.equals("/failover"), body);
            }
            case "/restart" -> {
                if (method.equals("DELETE")) {
                    return nodeActions.cancelScheduledRestart();
                }
                requireMethod(method, "POST");
                return nodeActions.restart(body);
            }
            case "/reinitialize" -> {
                requireMethod(method, "POST");
                return nodeActions.reinitialize(body);
            }
            case "/failsafe" -> {
                requireMethod(method, "POST");
                return nodeActions.failsafe(body);
            }
            case "/reload" -> {
                requireMethod(method, "POST");
                return nodeActions.reload();
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
}
