package io.pgha.internal.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.pgha.spi.PeerStatus;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HttpPeerClientTest {
    private HttpServer server;

    private String serve(byte[] body) throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
        server.createContext("/patroni", ex -> {
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/patroni";
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    @Test
    void aPeersStatusDocumentIsRead() throws Exception {
        String url = serve("{\"state\":\"running\",\"role\":\"replica\",\"xlog\":{\"received_location\":42},\"timeline\":2}"
                .getBytes(StandardCharsets.UTF_8));
        Optional<PeerStatus> s = new HttpPeerClient(Optional.empty()).fetch("n2", Optional.of(url), Duration.ofSeconds(5))
                .toCompletableFuture().join();
        assertThat(s).hasValueSatisfying(p -> {
            assertThat(p.running()).isTrue();
            assertThat(p.walPosition().value()).isEqualTo(42);
            assertThat(p.timeline()).isEqualTo(2);
        });
    }

    @Test
    void anAnswerLargerThanAnyStatusDocumentIsCutOffAndCountsAsNone() throws Exception {
        byte[] huge = new byte[HttpPeerClient.MAX_STATUS_BYTES + 1];
        java.util.Arrays.fill(huge, (byte) ' ');
        huge[0] = '{';
        String url = serve(huge);
        Optional<PeerStatus> s = new HttpPeerClient(Optional.empty()).fetch("n2", Optional.of(url), Duration.ofSeconds(5))
                .toCompletableFuture().join();
        assertThat(s).isEmpty();
    }
}
