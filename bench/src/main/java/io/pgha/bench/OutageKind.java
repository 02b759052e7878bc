package io.pgha.bench;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The whole-store outages the benchmark and StoreOutageTest inflict, by the names bench/outage.sh takes. */
enum OutageKind {
    ETCD_FREEZE("etcd-freeze", Store.ETCD, "etcd frozen (SIGSTOP), then thawed"),
    ETCD_RESTART("etcd-restart", Store.ETCD, "etcd stopped, then started with its data"),
    ZOOKEEPER_STOP("zookeeper-stop", Store.ZOOKEEPER,
            "ZooKeeper (a single-server ensemble) stopped, then started with its data"),
    CONSUL_RESTART("consul-restart", Store.CONSUL,
            "Consul (a single server keeping its data, not -dev) stopped, then started with its data"),
    CONSUL_FREEZE("consul-freeze", Store.CONSUL, "Consul (a single server) frozen (SIGSTOP), then thawed");

    /** The store a cluster runs on; one server process of it, with its data on disk. */
    enum Store {
        ETCD, ZOOKEEPER, CONSUL
    }

    final String label;
    final Store store;
    final String description;

    OutageKind(String label, Store store, String description) {
        this.label = label;
        this.store = store;
        this.description = description;
    }

    static OutageKind named(String label) {
        return Arrays.stream(values()).filter(k -> k.label.equals(label)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown outage kind '" + label + "': one of " + labels() + " or all"));
    }

    static String labels() {
        return Arrays.stream(values()).map(k -> k.label).collect(Collectors.joining(", "));
    }
}
