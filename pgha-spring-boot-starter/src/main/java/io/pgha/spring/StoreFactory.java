package io.pgha.spring;

import io.pgha.ConfigurationException;
import io.pgha.dcs.consul.ConsulDcs;
import io.pgha.dcs.etcd.EtcdDcs;
import io.pgha.dcs.zookeeper.ZooKeeperDcs;
import io.pgha.spi.Dcs;
import org.springframework.util.ClassUtils;

/**
 * Builds the store {@code pgha.dcs.*} names. Each store's classes are touched only in its own
 * method, so an application carries only the store module it uses.
 */
final class StoreFactory {
    private StoreFactory() {
    }

    static Dcs create(PghaProperties.Dcs p) {
        if (p.type() == null) {
            throw new ConfigurationException("pgha.dcs.type", "required (etcd, zookeeper or consul), or define a "
                    + Dcs.class.getName() + " bean");
        }
        if (p.endpoints().isEmpty()) {
            throw new ConfigurationException("pgha.dcs.endpoints", "required: the " + p.type().name().toLowerCase(java.util.Locale.ROOT)
                    + " addresses");
        }
        String module = switch (p.type()) {
            case ETCD -> "io.pgha.dcs.etcd.EtcdDcs";
            case ZOOKEEPER -> "io.pgha.dcs.zookeeper.ZooKeeperDcs";
            case CONSUL -> "io.pgha.dcs.consul.ConsulDcs";
        };
        // the application's class loader (the thread context one), which a test may filter
        if (!ClassUtils.isPresent(module, ClassUtils.getDefaultClassLoader())) {
            throw new ConfigurationException("pgha.dcs.type", p.type().name().toLowerCase(java.util.Locale.ROOT)
                    + " needs io.pgha:dcs-" + (p.type() == PghaProperties.StoreType.ZOOKEEPER ? "zookeeper"
                    : p.type().name().toLowerCase(java.util.Locale.ROOT)) + " on the classpath");
        }
        return switch (p.type()) {
            case ETCD -> Etcd.create(p);
            case ZOOKEEPER -> ZooKeeper.create(p);
            case CONSUL -> Consul.create(p);
        };
    }

    /** Its own class: the JVM loads (and verifies) it only when this store is chosen. */
    private static final class Etcd {
        static Dcs create(PghaProperties.Dcs p) {
            EtcdDcs.Builder b = EtcdDcs.builder().endpoints(p.endpoints());
            if (p.namespace() != null) {
                b.namespace(p.namespace());
            }
            if (p.username() != null) {
                b.credentials(p.username(), p.password() == null ? "" : p.password());
            }
            return b.build();
        }
    }

    /** Its own class: the JVM loads (and verifies) it only when this store is chosen. */
    private static final class ZooKeeper {
        static Dcs create(PghaProperties.Dcs p) {
            ZooKeeperDcs.Builder b = ZooKeeperDcs.builder().endpoints(p.endpoints());
            if (p.namespace() != null) {
                b.namespace(p.namespace());
            }
            if (p.username() != null) {
                b.credentials(p.username(), p.password() == null ? "" : p.password());
            }
            return b.build();
        }
    }

    /** Its own class: the JVM loads (and verifies) it only when this store is chosen. */
    private static final class Consul {
        static Dcs create(PghaProperties.Dcs p) {
            ConsulDcs.Builder b = ConsulDcs.builder().endpoints(p.endpoints());
            if (p.namespace() != null) {
                b.namespace(p.namespace());
            }
            if (p.token() != null) {
                b.token(p.token());
            }
            return b.build();
        }
    }
}
