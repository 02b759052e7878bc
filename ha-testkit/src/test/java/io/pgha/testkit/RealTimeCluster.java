package io.pgha.testkit;

import io.pgha.HaNode;
import io.pgha.MemberTags;
import io.pgha.RestApiConfig;
import io.pgha.Ticker;
import io.pgha.internal.engine.ThreadTaskScheduler;
import io.pgha.spi.ClusterKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.IntFunction;

/**
 * A pgha cluster on real threads and real time (for what virtual time cannot drive: the REST API's
 * sockets): real HaNodes with their REST APIs on free ports, an in-memory store and fake servers.
 */
final class RealTimeCluster implements AutoCloseable {
    final InMemoryDcs dcs = InMemoryDcs.create();
    final FakePostgres.Network network = new FakePostgres.Network(11);
    final ThreadTaskScheduler pgThread = new ThreadTaskScheduler("fake-postgres");
    final List<FakePostgres> servers = new ArrayList<>();
    final List<HaNode> nodes = new ArrayList<>();
    final String scope = "rest" + Long.toHexString(System.nanoTime() & 0xFFFFF);

    private final boolean https;

    /** {@code n} nodes, each serving its REST API as {@code restApi} gives it for the node's number. */
    RealTimeCluster(int n, IntFunction<RestApiConfig> restApi, BiConsumer<Integer, HaNode.Builder> configure) {
        this.https = restApi.apply(1).sslContext().isPresent();
        for (int i = 1; i <= n; i++) {
            FakePostgres pg = new FakePostgres("n" + i, network, Ticker.system(), pgThread, new FakePostgres.Timings());
            servers.add(pg);
            HaNode.Builder b = HaNode.builder().name("n" + i).scope(scope).dcs(dcs).postgres(pg)
                    .ttl(Duration.ofSeconds(3)).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(1))
                    .restApi(restApi.apply(i));
            configure.accept(i, b);
            nodes.add(b.build());
        }
    }

    RealTimeCluster start() {
        nodes.forEach(HaNode::start);
        return this;
    }

    Optional<String> leader() {
        return dcs.peek(scope, ClusterKey.LEADER);
    }

    HaNode node(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    FakePostgres pg(String name) {
        return servers.stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
    }

    String url(String name) {
        return (https ? "https" : "http") + "://127.0.0.1:" + node(name).restAddress().orElseThrow().getPort();
    }

    /** One writable primary holding the key, the others streaming from it. */
    boolean healthy() {
        List<FakePostgres> writers = servers.stream().filter(FakePostgres::acceptsWrites).toList();
        if (writers.size() != 1 || !leader().map(writers.get(0).name()::equals).orElse(false)) {
            return false;
        }
        return servers.stream().filter(p -> p != writers.get(0)).allMatch(p -> p.isRunningReplica() && p.isStreaming());
    }

    String replicaName() {
        String l = leader().orElseThrow();
        return nodes.stream().map(HaNode::name).filter(n -> !n.equals(l)).findFirst().orElseThrow();
    }

    static MemberTags tags() {
        return MemberTags.DEFAULT;
    }

    @Override
    public void close() {
        nodes.forEach(HaNode::close);
        pgThread.close();
        dcs.close();
    }
}
