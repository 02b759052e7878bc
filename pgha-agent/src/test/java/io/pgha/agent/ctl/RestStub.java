package io.pgha.agent.ctl;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A member's REST API in the test: answers each "METHOD /path" with what the test set, and records
 * every request ("METHOD /path body").
 */
final class RestStub implements AutoCloseable {
    /** One answer. */
    record Reply(int status, String body) {
    }

    private final HttpServer server;
    private final Map<String, Function<String, Reply>> routes = new ConcurrentHashMap<>();
    final List<String> requests = new CopyOnWriteArrayList<>();

    RestStub() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String route = ex.getRequestMethod() + " " + ex.getRequestURI().getPath();
            requests.add(route + (body.isEmpty() ? "" : " " + body));
            Function<String, Reply> f = routes.get(route);
            Reply r = f == null ? new Reply(404, "no such endpoint") : f.apply(body);
            byte[] bytes = r.body().getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(r.status(), bytes.length == 0 ? -1 : bytes.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(bytes);
            }
        });
        server.start();
    }

    RestStub on(String route, int status, String body) {
        routes.put(route, b -> new Reply(status, body));
        return this;
    }

    RestStub on(String route, Function<String, Reply> f) {
        routes.put(route, f);
        return this;
    }

    int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
