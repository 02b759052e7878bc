package io.pgha.examples.servlet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.HaNode;
import io.pgha.Ticker;
import io.pgha.spi.ClusterKey;
import io.pgha.testkit.FakePostgres;
import io.pgha.testkit.InMemoryDcs;
import io.pgha.testkit.RealNodes;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.startup.Tomcat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The health checks served by a plain servlet in an embedded Tomcat, for two real-time nodes (an
 * in-memory store, fake servers) that run no HTTP server of their own: what HAProxy would ask.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HealthCheckServletTest {
    private final InMemoryDcs dcs = InMemoryDcs.create();
    private final FakePostgres.Network network = new FakePostgres.Network(7);
    private final RealNodes.Scheduler serverThread = RealNodes.scheduler("fake-postgres");
    private final List<HaNode> nodes = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final String scope = "servlet" + Long.toHexString(System.nanoTime() & 0xFFFFF);
    private Tomcat tomcat;
    private Path tomcatDir;
    private int port;

    @BeforeAll
    void start() throws IOException, LifecycleException {
        for (String name : List.of("n1", "n2")) {
            FakePostgres pg = new FakePostgres(name, network, Ticker.system(), serverThread, new FakePostgres.Timings());
            nodes.add(HaNode.builder().name(name).scope(scope).dcs(dcs).postgres(pg).ttl(Duration.ofSeconds(3))
                    .loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(1)).build());
        }
        tomcatDir = Files.createTempDirectory("pgha-tomcat");
        tomcat = new Tomcat();
        tomcat.setBaseDir(tomcatDir.toString());
        tomcat.setPort(0);
        tomcat.getConnector(); // creates the default HTTP connector on the free port
        Context context = tomcat.addContext("", tomcatDir.toString());
        for (HaNode node : nodes) {
            Tomcat.addServlet(context, node.name(), new HealthCheckServlet(node));
            context.addServletMappingDecoded("/" + node.name() + "/*", node.name());
        }
        tomcat.start();
        port = tomcat.getConnector().getLocalPort();
        nodes.forEach(HaNode::start);
        // the replica streams before the tests start: a replica that runs but has not connected yet fails replication_state=streaming
        await().atMost(Duration.ofSeconds(30)).until(() -> leader() != null
                && status(replica(), "GET", "/replica?replication_state=streaming") == 200);
    }

    @AfterAll
    void stop() throws Exception {
        nodes.forEach(HaNode::close);
        serverThread.close();
        if (tomcat != null) {
            tomcat.stop();
            tomcat.destroy();
        }
        dcs.close();
    }

    private String leader() {
        return dcs.peek(scope, ClusterKey.LEADER).orElse(null);
    }

    private String replica() {
        return nodes.stream().map(HaNode::name).filter(n -> !n.equals(leader())).findFirst().orElseThrow();
    }

    private HttpResponse<String> call(String member, String method, String pathAndQuery) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/" + member + pathAndQuery))
                .timeout(Duration.ofSeconds(5)).method(method, HttpRequest.BodyPublishers.noBody()).build();
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    private int status(String member, String method, String pathAndQuery) throws Exception {
        return call(member, method, pathAndQuery).statusCode();
    }

    /** A request the JDK's client refuses to send (a malformed escape): over a plain socket. */
    private String rawStatusLine(String requestLine) throws IOException {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(5000);
            socket.getOutputStream().write((requestLine + "\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    java.nio.charset.StandardCharsets.US_ASCII)).readLine();
        }
    }

    @Test
    void thePrimaryPassesPrimaryWithItsStatusDocumentAndTheReplicaFailsIt() throws Exception {
        HttpResponse<String> primary = call(leader(), "GET", "/primary");
        assertThat(primary.statusCode()).isEqualTo(200);
        assertThat(primary.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        assertThat(primary.body()).contains("\"role\":\"primary\"");
        assertThat(status(replica(), "GET", "/primary")).isEqualTo(503);
    }

    @Test
    void haproxysOptionsCheckAndAHeadAnswerTheSameStatusAsAGet() throws Exception {
        for (String member : List.of(leader(), replica())) {
            for (String check : List.of("/primary", "/replica", "/read-only", "/health")) {
                int get = status(member, "GET", check);
                assertThat(status(member, "OPTIONS", check)).as(member + " OPTIONS " + check).isEqualTo(get);
                HttpResponse<String> head = call(member, "HEAD", check);
                assertThat(head.statusCode()).as(member + " HEAD " + check).isEqualTo(get);
                assertThat(head.body()).isEmpty();
            }
        }
    }

    @Test
    void theReplicaPassesReplicaWithinALagAndTheCheckReadsTheQueryString() throws Exception {
        assertThat(status(replica(), "GET", "/replica?lag=10MB")).isEqualTo(200);
        assertThat(status(replica(), "GET", "/replica?replication_state=streaming")).isEqualTo(200);
        assertThat(status(leader(), "GET", "/replica")).isEqualTo(503);
    }

    @Test
    void aMalformedParameterIsABadRequestAndAnUnknownPathIsNotFound() throws Exception {
        HttpResponse<String> bad = call(replica(), "GET", "/replica?lag=ten");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("lag");
        assertThat(rawStatusLine("GET /" + replica() + "/replica?lag=%zz HTTP/1.1")).contains(" 400 ");
        assertThat(status(replica(), "GET", "/switchover")).isEqualTo(404);
        assertThat(status(replica(), "POST", "/primary")).isEqualTo(405);
    }
}
