package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.spi.ClusterKey;
import java.io.IOException;
import java.util.function.Consumer;

/** Patroni's documentation cluster (batman: postgresql0 the leader, 1 and 2 replicas) in a test store, each member's REST API a {@link RestStub}. */
final class StubbedCluster implements AutoCloseable {
    final CtlFixture f;
    final RestStub p0 = new RestStub();
    final RestStub p1 = new RestStub();
    final RestStub p2 = new RestStub();

    StubbedCluster() throws IOException {
        this(p -> {
        }, p -> {
        }, p -> {
        });
    }

    /** The entries with a change each (a scheduled restart, pending_restart, ...). */
    StubbedCluster(Consumer<ObjectNode> change0, Consumer<ObjectNode> change1, Consumer<ObjectNode> change2) throws IOException {
        f = new CtlFixture("batman")
                .key(ClusterKey.INITIALIZE, "7277694203142172922")
                .key(ClusterKey.CONFIG, "{\"ttl\":30,\"loop_wait\":10}")
                .member("postgresql0", Entries.with(Entries.primary(5432, p0.port()), change0).toString(), true)
                .member("postgresql1", Entries.with(Entries.replica(5433, p1.port()), change1).toString(), false)
                .member("postgresql2", Entries.with(Entries.replica(5434, p2.port()), change2).toString(), false);
    }

    @Override
    public void close() throws IOException {
        p0.close();
        p1.close();
        p2.close();
        f.close();
    }
}
