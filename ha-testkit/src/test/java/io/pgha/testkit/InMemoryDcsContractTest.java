package io.pgha.testkit;

import io.pgha.spi.Dcs;

/** The in-memory store keeps the contract every store keeps. */
class InMemoryDcsContractTest extends DcsContractTest {
    @Override
    protected Dcs createDcs() {
        return InMemoryDcs.create();
    }

    @Override
    protected Dcs createUnreachableDcs() {
        InMemoryDcs down = InMemoryDcs.create();
        down.setOutage(true);
        return down;
    }
}
