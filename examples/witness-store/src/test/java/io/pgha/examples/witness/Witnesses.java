package io.pgha.examples.witness;

import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.servers.PostgresProcess;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Witness databases for the tests. */
final class Witnesses {
    private Witnesses() {
    }

    /**
     * A fresh witness (a real PostgreSQL in a temp folder, on a free loopback port), warmed up: the
     * first call of a cold JVM loads pgjdbc and, on a fresh witness, creates the schema, which may
     * take longer than the 1 s retry_timeout that tests time their calls with. Done once here, with
     * time to spare (as the ZooKeeper tests warm their server up).
     */
    static PostgresProcess startWarm() throws Exception {
        PostgresProcess witness = PostgresProcess.start();
        try (WitnessDcs warmUp = WitnessDcs.builder().jdbcUrl(witness.jdbcUrl()).credentials(witness.user(), witness.password()).build();
             DcsSession s = warmUp.open(SessionSpec.observer("warm-up", Duration.ofSeconds(30)))) {
            s.read().toCompletableFuture().get(40, TimeUnit.SECONDS);
        } catch (Exception | Error e) {
            witness.close();
            throw e;
        }
        return witness;
    }
}
