package io.pgha.agent;

import io.pgha.ConfigurationException;
import io.pgha.agent.config.AgentConfig;
import io.pgha.agent.config.Secret;
import io.pgha.dcs.consul.ConsulDcs;
import io.pgha.dcs.etcd.EtcdDcs;
import io.pgha.dcs.zookeeper.ZooKeeperDcs;
import io.pgha.spi.Dcs;
import java.time.Duration;

/** Opens the store a configuration names. */
public final class Stores {
    private Stores() {
    }

    public static Dcs open(AgentConfig c, Duration retryTimeout) {
        return open(c.dcs(), c.namespace(), retryTimeout);
    }

    /** Opens the store of a {@code patroni.yml}'s store section under {@code namespace} (pghactl needs no more). */
    public static Dcs open(AgentConfig.DcsConfig d, String namespace, Duration retryTimeout) {
        if (d instanceof AgentConfig.DcsConfig.Etcd e) {
            EtcdDcs.Builder b = EtcdDcs.builder().endpoints(e.endpoints()).namespace(namespace)
                    .requestTimeout(retryTimeout);
            if (e.username().isPresent()) {
                b.credentials(e.username().get(), e.password().map(Secret::revealString).orElse(""));
            }
            e.cacert().ifPresent(b::trustedCa);
            if (e.cert().isPresent() && e.key().isPresent()) {
                b.clientCertificate(e.cert().get(), e.key().get());
            } else if (e.cert().isPresent() != e.key().isPresent()) {
                throw new ConfigurationException("etcd3.cert", "cert and key go together");
            }
            return b.build();
        }
        if (d instanceof AgentConfig.DcsConfig.Consul cs) {
            ConsulDcs.Builder b = ConsulDcs.builder().endpoints(cs.url()).namespace(namespace.replaceFirst("^/", ""))
                    .consistency(ConsulDcs.Consistency.valueOf(cs.consistency().toUpperCase(java.util.Locale.ROOT)))
                    .registerService(cs.registerService());
            cs.token().ifPresent(t -> b.token(t.revealString()));
            cs.cacert().ifPresent(b::trustedCa);
            if (cs.cert().isPresent() && cs.key().isPresent()) {
                b.clientCertificate(cs.cert().get(), cs.key().get());
            }
            return b.build();
        }
        if (d instanceof AgentConfig.DcsConfig.ZooKeeper z) {
            // Patroni's layout: /<namespace>/<scope>/... from the root of the ensemble.
            ZooKeeperDcs.Builder b = ZooKeeperDcs.builder().endpoints(z.hosts()).namespace(namespace);
            z.digestAuth().ifPresent(secret -> {
                String up = secret.revealString();
                b.credentials(up.substring(0, up.indexOf(':')), up.substring(up.indexOf(':') + 1));
            });
            if (!z.setAcls().isEmpty()) {
                b.acl(z.setAcls().entrySet().stream().map(e -> new org.apache.zookeeper.data.ACL(permissions(e.getValue()),
                        new org.apache.zookeeper.data.Id("x509", e.getKey()))).toList());
            }
            if (z.useSsl()) {
                // PEM straight to ZooKeeper's client; a key in the certificate file needs no key setting
                b.trustedCa(z.cacert().orElseThrow());
                z.cert().ifPresent(cert -> z.keyPassword().ifPresentOrElse(
                        pw -> b.clientCertificate(cert, z.key().orElse(cert), pw.revealString()),
                        () -> b.clientCertificate(cert, z.key().orElse(cert))));
                if (!z.verify()) {
                    b.clientProperty("zookeeper.ssl.hostnameVerification", "false");
                }
            }
            return b.build();
        }
        throw new IllegalStateException("unknown store " + d.getClass().getSimpleName());
    }

    /** Patroni's permission names as ZooKeeper's bits. */
    private static int permissions(java.util.List<String> names) {
        int bits = 0;
        for (String n : names) {
            bits |= switch (n) {
                case "CREATE" -> org.apache.zookeeper.ZooDefs.Perms.CREATE;
                case "READ" -> org.apache.zookeeper.ZooDefs.Perms.READ;
                case "WRITE" -> org.apache.zookeeper.ZooDefs.Perms.WRITE;
                case "DELETE" -> org.apache.zookeeper.ZooDefs.Perms.DELETE;
                case "ADMIN" -> org.apache.zookeeper.ZooDefs.Perms.ADMIN;
                default -> org.apache.zookeeper.ZooDefs.Perms.ALL;
            };
        }
        return bits;
    }
}
