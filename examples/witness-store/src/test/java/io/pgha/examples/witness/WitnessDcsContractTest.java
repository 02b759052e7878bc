package io.pgha.examples.witness;

import io.pgha.spi.Dcs;
import io.pgha.testkit.DcsContractTest;
import io.pgha.testkit.servers.PostgresProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The witness store keeps the contract every store keeps: the suite, unchanged, against a real
 * PostgreSQL (15 where installed) in a temp folder on a free loopback port, stopped afterwards.
 */
class WitnessDcsContractTest extends DcsContractTest {
    private static PostgresProcess witness;

    // the suite opens the store in its own @BeforeEach: start the server before all
    @BeforeAll
    static void startWitness() throws Exception {
        witness = Witnesses.startWarm();
    }

    @AfterAll
    static void stopWitness() {
        if (witness != null) {
            witness.close();
        }
    }

    @Override
    protected Dcs createDcs() {
        return WitnessDcs.builder().jdbcUrl(witness.jdbcUrl()).credentials(witness.user(), witness.password()).build();
    }

    @Override
    protected Dcs createUnreachableDcs() {
        return WitnessDcs.builder().jdbcUrl("jdbc:postgresql://127.0.0.1:" + PostgresProcess.freePort() + "/postgres")
                .credentials("postgres", "irrelevant").build();
    }
}
