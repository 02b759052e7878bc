package io.pgha.dcs.etcd;

import io.pgha.testkit.servers.EtcdCluster;
import io.pgha.spi.Dcs;
import io.pgha.testkit.DcsContractTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** etcd keeps the contract every store keeps: the suite runs against a real single-member etcd. */
class EtcdDcsContractTest extends DcsContractTest {
    private static EtcdCluster etcd;

    @BeforeAll
    static void startEtcd() {
        etcd = EtcdCluster.single();
        Warmup.once(etcd.clientUrl());
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    @Override
    protected Dcs createDcs() {
        return EtcdDcs.builder().endpoints(etcd.clientUrl()).build();
    }

    @Override
    protected Dcs createUnreachableDcs() {
        return EtcdDcs.builder().endpoints("http://127.0.0.1:" + EtcdCluster.closedPort()).build();
    }
}
