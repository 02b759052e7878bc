package io.pgha.examples.embed;

import io.pgha.HaEvent;
import io.pgha.HaNode;
import io.pgha.RestApiConfig;
import io.pgha.dcs.etcd.EtcdDcs;
import io.pgha.postgres.PgController;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * pgha embedded in an existing service: what a service adds to run one member of a cluster
 * itself, without the agent. It owns three things and closes them in reverse order: the store
 * client, the PostgreSQL controller and the node.
 *
 * <pre>{@code
 * try (EmbeddedNode node = EmbeddedNode.start(settings, event -> log.info("{}", event))) {
 *     ... the service runs; node.node().status().role() says PRIMARY or REPLICA ...
 * }
 * }</pre>
 *
 * <p>Run it as a program with the settings in the environment ({@code PGHA_NAME},
 * {@code PGHA_SCOPE}, {@code PGHA_ETCD}, {@code PGHA_DATA_DIR}, {@code PGHA_PG_PORT},
 * {@code PGHA_API_PORT}, {@code PGHA_SUPERUSER_PASSWORD}, {@code PGHA_REPLICATION_PASSWORD}):
 * passwords come from the environment, never from arguments, where {@code ps} would show them.
 */
public final class EmbeddedNode implements AutoCloseable {
    private final EtcdDcs dcs;
    private final PgController postgres;
    private final HaNode node;

    private EmbeddedNode(EtcdDcs dcs, PgController postgres, HaNode node) {
        this.dcs = dcs;
        this.postgres = postgres;
        this.node = node;
    }

    /** What one member needs; everything else keeps pgha's defaults. */
    public record Settings(String name, String scope, String etcdEndpoint, Path dataDirectory, int postgresPort, int apiPort,
                           String superuserPassword, String replicationPassword) {
        public Settings {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(scope, "scope");
            Objects.requireNonNull(etcdEndpoint, "etcdEndpoint");
            Objects.requireNonNull(dataDirectory, "dataDirectory");
            Objects.requireNonNull(superuserPassword, "superuserPassword");
            Objects.requireNonNull(replicationPassword, "replicationPassword");
        }

        @Override
        public String toString() { // no passwords in logs
            return "Settings[" + name + " in " + scope + ", etcd " + etcdEndpoint + ", " + dataDirectory + ", port " + postgresPort
                    + ", api " + apiPort + "]";
        }

        /** From {@code PGHA_*} environment variables; a missing one is named in the error. */
        public static Settings fromEnvironment(Map<String, String> env) {
            return new Settings(required(env, "PGHA_NAME"), required(env, "PGHA_SCOPE"), required(env, "PGHA_ETCD"),
                    Path.of(required(env, "PGHA_DATA_DIR")), port(env, "PGHA_PG_PORT"), port(env, "PGHA_API_PORT"),
                    required(env, "PGHA_SUPERUSER_PASSWORD"), required(env, "PGHA_REPLICATION_PASSWORD"));
        }

        private static String required(Map<String, String> env, String key) {
            String v = env.get(key);
            if (v == null || v.isBlank()) {
                throw new io.pgha.ConfigurationException(key, "is required");
            }
            return v;
        }

        private static int port(Map<String, String> env, String key) {
            String v = required(env, key);
            try {
                int p = Integer.parseInt(v.trim());
                if (p < 1 || p > 65535) {
                    throw new NumberFormatException();
                }
                return p;
            } catch (NumberFormatException e) {
                throw new io.pgha.ConfigurationException(key, "expected a port number, got '" + v + "'");
            }
        }
    }

    /** Builds the three parts and starts the node; on a failure, what was built is closed again. */
    public static EmbeddedNode start(Settings s, Consumer<HaEvent> events) {
        EtcdDcs dcs = EtcdDcs.builder().endpoints(s.etcdEndpoint()).build();
        PgController postgres = null;
        try {
            postgres = PgController.builder()
                    .name(s.name())
                    .dataDirectory(s.dataDirectory())
                    .listenAddresses("127.0.0.1")
                    .port(s.postgresPort())
                    .superuser("postgres", s.superuserPassword())
                    .replicationUser("replicator", s.replicationPassword())
                    .hba(java.util.List.of("host all all 127.0.0.1/32 scram-sha-256",
                            "host replication replicator 127.0.0.1/32 scram-sha-256"))
                    .build();
            HaNode node = HaNode.builder()
                    .name(s.name())
                    .scope(s.scope())
                    .dcs(dcs)
                    .postgres(postgres)
                    .ttl(Duration.ofSeconds(10))
                    .loopWait(Duration.ofSeconds(2))
                    .retryTimeout(Duration.ofSeconds(3))
                    .restApi(RestApiConfig.builder().listen("127.0.0.1", s.apiPort()).build())
                    .listener(events::accept)
                    .build()
                    .start();
            return new EmbeddedNode(dcs, postgres, node);
        } catch (RuntimeException e) {
            if (postgres != null) {
                postgres.close();
            }
            dcs.close();
            throw e;
        }
    }

    public HaNode node() {
        return node;
    }

    /** Graceful: a leader stops PostgreSQL and hands the lock over at once. */
    @Override
    public void close() {
        try {
            node.close();
        } finally {
            try {
                postgres.close();
            } finally {
                dcs.close();
            }
        }
    }

    public static void main(String[] args) throws InterruptedException {
        EmbeddedNode n = start(Settings.fromEnvironment(System.getenv()), e -> System.out.println(e));
        Runtime.getRuntime().addShutdownHook(new Thread(n::close, "pgha-shutdown"));
        Thread.currentThread().join(); // the service's own work would run here
    }
}
