package io.pgha.examples.servlet;

import io.pgha.HaNode;
import io.pgha.health.HealthCheck;
import io.pgha.health.HealthRequest;
import io.pgha.health.HealthResponse;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Patroni's health checks ({@code /primary}, {@code /replica?lag=10MB}, {@code /health}, ...) for one
 * {@link HaNode}, served by the application's own servlet container: HAProxy checks the service's
 * port and pgha needs no HTTP server of its own ({@code HaNode.builder()} without {@code restApi}).
 * Mount it under a prefix, for example:
 *
 * <pre>{@code
 * ServletRegistration.Dynamic r = servletContext.addServlet("pgha", new HealthCheckServlet(node));
 * r.addMapping("/pgha/*");           // HAProxy: option httpchk OPTIONS /pgha/primary
 * }</pre>
 *
 * <p>GET and OPTIONS (HAProxy's default check method) answer the status and the node's
 * {@code /patroni} document, HEAD the status alone; other methods are refused by the servlet
 * container with 405. The decision is {@link HealthCheck#evaluate}'s, the one pgha's built-in REST
 * server and its Spring Boot starter use.
 */
public final class HealthCheckServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    private final transient HaNode node;

    /** @param node the node whose checks this servlet answers */
    public HealthCheckServlet(HaNode node) {
        this.node = Objects.requireNonNull(node, "node");
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        answer(req, resp, true);
    }

    @Override
    protected void doOptions(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        answer(req, resp, true);
    }

    @Override
    protected void doHead(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        answer(req, resp, false);
    }

    private void answer(HttpServletRequest req, HttpServletResponse resp, boolean body) throws IOException {
        String path = req.getPathInfo() == null ? "/" : req.getPathInfo();
        HealthResponse r;
        try {
            r = HealthCheck.evaluate(node, HealthRequest.of(path, req.getQueryString()));
        } catch (IllegalArgumentException e) {
            // a query string that is not valid percent-encoding: the client's mistake, named
            resp.sendError(HttpServletResponse.SC_BAD_REQUEST, "malformed query string");
            return;
        }
        resp.setStatus(r.status());
        resp.setContentType(r.contentType());
        r.headers().forEach(resp::setHeader);
        byte[] bytes = r.body().getBytes(StandardCharsets.UTF_8);
        resp.setContentLength(bytes.length);
        if (body) {
            resp.getOutputStream().write(bytes);
        }
    }
}
