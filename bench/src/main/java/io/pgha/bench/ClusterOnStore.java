package io.pgha.bench;

import io.pgha.testkit.servers.ConsulAgent;
import io.pgha.testkit.servers.EtcdProcess;
import io.pgha.testkit.servers.ZooKeeperProcess;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;

/**
 * Three (or {@code size}) agents on real PostgreSQL with their store: the {@link LocalCluster}'s own
 * etcd, or a ZooKeeper server ({@link ZooKeeperProcess}, from this program's class path) or a
 * Consul server ({@link ConsulAgent#startWithData()}) started here; and the outages that store can
 * suffer. {@link #close()} stops the agents, PostgreSQL and the store.
 */
final class ClusterOnStore implements AutoCloseable {
    final OutageKind.Store store;
    final OutageTimings timings;
    final LocalCluster cluster;
    private final ZooKeeperProcess zookeeper;
    private final ConsulAgent consul;

    private ClusterOnStore(OutageKind.Store store, OutageTimings timings, LocalCluster cluster, ZooKeeperProcess zookeeper,
                           ConsulAgent consul) {
        this.store = store;
        this.timings = timings;
        this.cluster = cluster;
        this.zookeeper = zookeeper;
        this.consul = consul;
    }

    /**
     * Starts the store and the agents (without waiting for them to form a cluster). The timings are
     * raised to what the store accepts ({@link OutageTimings#on}).
     */
    static ClusterOnStore start(OutageKind.Store store, OutageTimings requested, int size) {
        OutageTimings timings = requested.on(store);
        ZooKeeperProcess zookeeper = null;
        ConsulAgent consul = null;
        LocalCluster cluster;
        try {
            switch (store) {
                case ETCD -> cluster = new LocalCluster(size, timings.dcsSection());
                case ZOOKEEPER -> {
                    zookeeper = ZooKeeperProcess.start(Map.of());
                    cluster = LocalCluster.onStore(size, timings.dcsSection(), "zookeeper:\n  hosts:\n  - " + zookeeper.connectString() + "\n");
                }
                case CONSUL -> {
                    consul = ConsulAgent.startWithData();
                    cluster = LocalCluster.onStore(size, timings.dcsSection(), "consul:\n  url: " + consul.url() + "\n");
                }
                default -> throw new IllegalArgumentException(store.name());
            }
        } catch (IOException | RuntimeException e) {
            closeQuietly(zookeeper);
            closeQuietly(consul);
            throw new IllegalStateException("could not start " + store + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeQuietly(zookeeper);
            closeQuietly(consul);
            throw new IllegalStateException("interrupted while starting " + store, e);
        }
        ClusterOnStore c = new ClusterOnStore(store, timings, cluster, zookeeper, consul);
        try {
            cluster.startAll();
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** {@code kind}'s outage of this cluster's store. */
    StoreOutage.Outage outage(OutageKind kind) {
        if (kind.store != store) {
            throw new IllegalArgumentException(kind.label + " needs a cluster on " + kind.store + ", this one is on " + store);
        }
        return switch (kind) {
            case ETCD_FREEZE -> new StoreOutage.Outage(etcd()::pause, etcd()::resume);
            case ETCD_RESTART -> new StoreOutage.Outage(etcd()::stop, () -> {
                etcd().start();
                etcd().awaitHealthy(Duration.ofSeconds(30));
            });
            case ZOOKEEPER_STOP -> new StoreOutage.Outage(zookeeper::stop, zookeeper::start);
            case CONSUL_RESTART -> new StoreOutage.Outage(consul::stop, consul::restart);
            case CONSUL_FREEZE -> new StoreOutage.Outage(consul::pause, consul::resume);
        };
    }

    private EtcdProcess etcd() {
        return cluster.etcd.member(0);
    }

    /** The store server's last log lines (etcd's, ZooKeeper's or Consul's), for a stuck run's report. */
    String storeLog() {
        return switch (store) {
            case ETCD -> etcd().logTail();
            case ZOOKEEPER -> zookeeper.logTail();
            case CONSUL -> consul.logTail();
        };
    }

    /** The agents (and their PostgreSQL) first, while the store still answers, then the store. */
    @Override
    public void close() {
        try {
            cluster.close();
        } finally {
            closeQuietly(zookeeper);
            closeQuietly(consul);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // closing everything else matters more
        }
    }
}
