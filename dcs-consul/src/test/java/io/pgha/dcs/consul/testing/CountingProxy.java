package io.pgha.dcs.consul.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An HTTP reverse proxy on a free loopback port in front of a Consul agent, counting requests by
 * method and endpoint: how many requests a client really sends (for footprint figures), and
 * keeping each request line, to show what a client asked for. Blocking queries pass through (each
 * waits on a thread of the proxy's own).
 */
public final class CountingProxy implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService threads;
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final String target;
    private final AtomicLong total = new AtomicLong();
    private final Map<String, AtomicLong> byEndpoint = new ConcurrentHashMap<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();

    public CountingProxy(String targetUrl) throws IOException {
        this.target = targetUrl;
        this.threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "counting-proxy");
            t.setDaemon(true);
            return t;
        });
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.setExecutor(threads);
        server.createContext("/", this::forward);
        server.start();
    }

    /** The proxy's URL, to give the client instead of the agent's. */
    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    public long total() {
        return total.get();
    }

    /** Requests by "METHOD /v1/endpoint" (KV keys and session ids left out), sorted. */
    public Map<String, Long> byEndpoint() {
        Map<String, Long> m = new TreeMap<>();
        byEndpoint.forEach((k, v) -> m.put(k, v.get()));
        return m;
    }

    /** Every request since the start or the last {@link #reset()}, in order, as "METHOD /path?query" (raw, as sent). */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    public void reset() {
        total.set(0);
        byEndpoint.clear();
        requests.clear();
    }

    private void forward(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getRawPath();
        String query = ex.getRequestURI().getRawQuery();
        total.incrementAndGet();
        requests.add(ex.getRequestMethod() + " " + path + (query == null ? "" : "?" + query));
        byEndpoint.computeIfAbsent(ex.getRequestMethod() + " " + endpoint(path, query), k -> new AtomicLong()).incrementAndGet();
        try (InputStream in = ex.getRequestBody()) {
            byte[] body = in.readAllBytes();
            HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(target + path + (query == null ? "" : "?" + query)))
                    .method(ex.getRequestMethod(), body.length == 0 && ex.getRequestMethod().equals("GET")
                            ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
            for (String h : List.of("X-Consul-Token", "Content-Type")) {
                String v = ex.getRequestHeaders().getFirst(h);
                if (v != null) {
                    rb.header(h, v);
                }
            }
            HttpResponse<byte[]> r = client.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
            r.headers().map().forEach((name, values) -> {
                if (name.toLowerCase().startsWith("x-consul") || name.equalsIgnoreCase("content-type")) {
                    values.forEach(v -> ex.getResponseHeaders().add(name, v));
                }
            });
            byte[] out = r.body();
            ex.sendResponseHeaders(r.statusCode(), out.length == 0 ? -1 : out.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(out);
            }
        } catch (IOException | InterruptedException e) {
            ex.sendResponseHeaders(502, -1);
            ex.close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String endpoint(String path, String query) {
        String e;
        if (path.startsWith("/v1/kv/")) {
            e = "/v1/kv" + (query != null && query.contains("recurse") ? "?recurse" : "")
                    + (query != null && query.contains("index=") ? "&index (blocking)" : "")
                    + (query != null && query.contains("acquire=") ? "?acquire" : "")
                    + (query != null && query.contains("cas=") ? "?cas" : "");
        } else if (path.startsWith("/v1/session/")) {
            String[] parts = path.split("/");
            e = "/v1/session/" + (parts.length > 3 ? parts[3] : "");
        } else if (path.startsWith("/v1/agent/service/")) {
            String[] parts = path.split("/");
            e = "/v1/agent/service/" + (parts.length > 4 ? parts[4] : "");
        } else {
            e = path;
        }
        return e;
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
