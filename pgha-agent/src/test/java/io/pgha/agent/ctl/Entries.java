package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.support.SnapshotBuilder;
import java.util.function.Consumer;

/** Member entries as the engine writes them (ClusterCodec.encodeMember), and snapshots of a cluster built from them. */
final class Entries {
    static final ObjectMapper JSON = new ObjectMapper();
    /** 0/40004E8, the position of patronictl's documentation examples. */
    static final long LSN = 0x40004E8L;

    private Entries() {
    }

    /** A running primary on 127.0.0.1:{@code port}, REST API on {@code apiPort}. */
    static ObjectNode primary(int port, int apiPort) {
        ObjectNode n = base(port, apiPort, "primary");
        n.put("xlog_location", LSN);
        n.put("timeline", 5);
        return n;
    }

    /** A running replica streaming at {@link #LSN}. */
    static ObjectNode replica(int port, int apiPort) {
        ObjectNode n = base(port, apiPort, "replica");
        n.put("xlog_location", LSN);
        n.put("receive_lsn", LSN);
        n.put("replay_lsn", LSN);
        n.put("replication_state", "streaming");
        n.put("timeline", 5);
        return n;
    }

    private static ObjectNode base(int port, int apiPort, String role) {
        ObjectNode n = JSON.createObjectNode();
        n.put("conn_url", "postgres://127.0.0.1:" + port + "/postgres");
        n.put("api_url", "http://127.0.0.1:" + apiPort + "/patroni");
        n.put("state", "running");
        n.put("role", role);
        n.put("version", "0.1.0");
        return n;
    }

    static ObjectNode with(ObjectNode n, Consumer<ObjectNode> change) {
        change.accept(n);
        return n;
    }

    /** Patroni's documentation cluster: batman, postgresql0 the leader on 5432, postgresql1 and 2 streaming replicas. */
    static SnapshotBuilder batman() {
        SnapshotBuilder b = new SnapshotBuilder();
        b.add("initialize", "7277694203142172922", 1);
        b.add("config", "{\"ttl\":30,\"loop_wait\":10}", 1);
        b.add("leader", "postgresql0", 1);
        b.add("status", "{\"optime\":" + LSN + "}", 1);
        b.add("members/postgresql0", primary(5432, 8008).toString(), 1);
        b.add("members/postgresql1", replica(5433, 8009).toString(), 1);
        b.add("members/postgresql2", replica(5434, 8010).toString(), 1);
        return b;
    }

    static ClusterState state(SnapshotBuilder b) {
        ClusterSnapshot s = b.build(1);
        return ClusterState.of("batman", s);
    }
}
