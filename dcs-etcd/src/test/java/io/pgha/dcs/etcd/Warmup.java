package io.pgha.dcs.etcd;

import io.pgha.spi.SessionSpec;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The first jetcd client in a JVM spends a second or more loading classes (gRPC, Netty, Vert.x,
 * protobuf). Tests with a 1 s retry_timeout would count that against the store, so each test class
 * makes one throw-away call first.
 */
final class Warmup {
    private static volatile boolean done;

    private Warmup() {
    }

    static void once(String endpoint) {
        if (done) {
            return;
        }
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(endpoint).build()) {
            dcs.open(SessionSpec.observer("warmup", Duration.ofSeconds(30))).read().toCompletableFuture().get(30, TimeUnit.SECONDS);
            done = true;
        } catch (Exception e) {
            throw new IllegalStateException("etcd at " + endpoint + " did not answer a first read", e);
        }
    }
}
