package io.pgha.spring;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code pgha.*}: the {@link io.pgha.HaNode.Builder} as Spring properties, with Patroni's names
 * where Patroni has them ({@code ttl}, {@code loop-wait}, {@code retry-timeout},
 * {@code maximum-lag-on-failover}). Immutable; checked when the node is built, and a bad value fails
 * the context with a {@link io.pgha.ConfigurationException} naming the property.
 *
 * <pre>
 * pgha.name=pg-1
 * pgha.scope=orders
 * pgha.dcs.type=etcd
 * pgha.dcs.endpoints=http://127.0.0.1:2379
 * pgha.postgresql.data-dir=/var/lib/postgresql/15/main
 * pgha.postgresql.bin-dir=/usr/lib/postgresql/15/bin
 * pgha.postgresql.port=5432
 * pgha.postgresql.superuser.password=...
 * pgha.postgresql.replication.password=...
 * </pre>
 *
 * @param enabled              {@code false}: no node at all (for tests, or a profile without HA)
 * @param name                 this member's name, unique in the cluster (Patroni's {@code name})
 * @param scope                the cluster's name (Patroni's {@code scope})
 * @param ttl                  the leader lease
 * @param loopWait             the HA loop's period
 * @param retryTimeout         how long a store or PostgreSQL call may take before it counts as failed
 * @param maximumLagOnFailover bytes a replica may lag and still be promoted; empty: the builder's default (1 MB)
 * @param dcs                  the store that holds the leader lock
 * @param postgresql           the local PostgreSQL, run by pg-driver (unless the application supplies its own
 *                             {@link io.pgha.spi.PostgresController} bean)
 * @param restapi              pgha's own Patroni-compatible REST server (needed for peers' status checks in a
 *                             leader race and for patronictl-style tools); the application's own web server
 *                             serves the health checks (see {@code health-checks})
 * @param healthChecks         the HAProxy checks mounted in the application's web server
 */
@ConfigurationProperties("pgha")
public record PghaProperties(@DefaultValue("true") boolean enabled, String name, String scope, @DefaultValue("30s") Duration ttl,
                             @DefaultValue("10s") Duration loopWait, @DefaultValue("10s") Duration retryTimeout,
                             Long maximumLagOnFailover, @DefaultValue Dcs dcs, @DefaultValue Postgresql postgresql,
                             @DefaultValue RestApi restapi, @DefaultValue HealthChecks healthChecks) {

    /** The stores pgha supports; each needs its module ({@code io.pgha:dcs-etcd}, ...) on the classpath. */
    public enum StoreType {
        ETCD, ZOOKEEPER, CONSUL
    }

    /**
     * {@code pgha.dcs.*}.
     *
     * @param type      which store; required unless the application supplies its own {@link io.pgha.spi.Dcs} bean
     * @param endpoints its addresses ({@code http://host:2379} for etcd and Consul, {@code host:2181} for ZooKeeper)
     * @param namespace the key prefix (Patroni's {@code namespace}); empty: the store module's default ({@code /service})
     * @param username  for etcd and ZooKeeper authentication; Consul uses {@code token}
     * @param password  the user's password
     * @param token     Consul's ACL token
     */
    public record Dcs(StoreType type, @DefaultValue List<String> endpoints, String namespace, String username, String password,
                      String token) {
        @Override
        public String toString() {
            return "Dcs[type=" + type + ", endpoints=" + endpoints + ", namespace=" + namespace + ", username=" + username
                    + ", password=" + (password == null ? "none" : "***") + ", token=" + (token == null ? "none" : "***") + "]";
        }
    }

    /**
     * {@code pgha.postgresql.*}: what pg-driver needs to run the local PostgreSQL.
     *
     * @param dataDir          the data directory ({@code PGDATA}); required
     * @param binDir           where {@code pg_ctl}, {@code initdb}, ... live; empty: found on the {@code PATH}
     * @param listenAddresses  PostgreSQL's {@code listen_addresses}
     * @param connectHost      how the other members reach this server
     * @param port             PostgreSQL's port
     * @param superuser        the superuser pgha connects as
     * @param replication      the user replicas stream as
     * @param hba              {@code pg_hba.conf} lines; empty: pg-driver's default
     * @param parameters       further {@code postgresql.conf} settings
     */
    public record Postgresql(Path dataDir, Path binDir, @DefaultValue("127.0.0.1") String listenAddresses, String connectHost,
                             @DefaultValue("5432") int port, @DefaultValue Credentials superuser,
                             @DefaultValue Credentials replication, @DefaultValue List<String> hba,
                             @DefaultValue Map<String, String> parameters) {
    }

    /**
     * A database user and its password (never printed).
     *
     * @param username empty: pg-driver's default ({@code postgres} / {@code replicator})
     * @param password empty: no password (trust or peer authentication)
     */
    public record Credentials(String username, String password) {
        Optional<String> passwordIfSet() {
            return Optional.ofNullable(password).filter(p -> !p.isEmpty());
        }

        @Override
        public String toString() {
            return "Credentials[username=" + username + ", password=" + (password == null ? "none" : "***") + "]";
        }
    }

    /**
     * {@code pgha.restapi.*}: pgha's own REST server.
     *
     * @param enabled whether it runs; off by default (the application's web server serves the health checks)
     * @param listen  the address it binds
     * @param port    its port (Patroni's default 8008)
     */
    public record RestApi(@DefaultValue("false") boolean enabled, @DefaultValue("127.0.0.1") String listen,
                          @DefaultValue("8008") int port) {
    }

    /**
     * {@code pgha.health-checks.*}: Patroni's checks ({@code /primary}, {@code /replica?lag=}, ...) served
     * by the application's own web server, for HAProxy's {@code option httpchk}.
     *
     * @param enabled  whether they are mounted (when Spring MVC is present)
     * @param basePath where: {@code /pgha} serves {@code /pgha/primary}, {@code /pgha/replica}, ...
     */
    public record HealthChecks(@DefaultValue("true") boolean enabled, @DefaultValue("/pgha") String basePath) {
    }
}
