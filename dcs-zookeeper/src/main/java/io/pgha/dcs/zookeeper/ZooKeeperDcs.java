package io.pgha.dcs.zookeeper;

import io.pgha.ConfigurationException;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.DaemonThreads;
import io.pgha.spi.support.ReadableFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.client.ConnectStringParser;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.common.PathUtils;
import org.apache.zookeeper.data.ACL;

/**
 * A {@link Dcs} on ZooKeeper, through Apache Curator, in Patroni's layout
 * ({@code /service/<scope>/leader}, {@code members/<name>}, {@code config}, ...).
 *
 * <pre>{@code
 * try (ZooKeeperDcs zk = ZooKeeperDcs.builder().connectString("zk1:2181,zk2:2181,zk3:2181").build();
 *      HaNode node = HaNode.builder().name("pg-1").scope("orders").dcs(zk).postgres(pg).build().start()) {
 *     ...
 * }
 * }</pre>
 *
 * <p>Each member session opens a ZooKeeper session of its own, with the session timeout set to the
 * member's {@code ttl}: the leader key and the member entry are ephemeral znodes of it. Observer
 * sessions (tools) share one more client. A service that already has a {@link CuratorFramework}
 * can pass it with {@link Builder#client}; sessions then use its ZooKeeper session, and closing this
 * store leaves it open. See the package documentation for the rules and their reasons.
 */
public final class ZooKeeperDcs implements Dcs {
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final ZkSettings settings;
    private final CuratorFramework shared;
    private final ZkConnection sharedConnection;
    private final ScheduledThreadPoolExecutor timer;
    private final ExecutorService blocking;
    private final Set<ZkSession> sessions = ConcurrentHashMap.newKeySet();
    private final String id;

    // guarded by this
    private ZkConnection observerConnection;
    private boolean closed;

    private ZooKeeperDcs(ZkSettings settings, CuratorFramework shared) {
        this.settings = settings;
        this.shared = shared;
        this.id = "pgha-zk-" + INSTANCES.incrementAndGet();
        this.timer = new ScheduledThreadPoolExecutor(1, DaemonThreads.factory(id + "-timer"));
        this.timer.setRemoveOnCancelPolicy(true);
        this.blocking = Executors.newCachedThreadPool(DaemonThreads.factory(id + "-close"));
        this.sharedConnection = shared == null ? null : ZkConnection.shared(id + "-shared", shared, timer, blocking);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Opens a session; sends nothing until its first call.
     *
     * @throws IllegalArgumentException if the ttl does not fit a ZooKeeper session timeout
     * @throws IllegalStateException    if this store was closed
     */
    @Override
    public DcsSession open(SessionSpec spec) {
        Objects.requireNonNull(spec, "spec");
        if (spec.ttl().toMillis() > Integer.MAX_VALUE || spec.retryTimeout().toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("ttl and retry_timeout must fit a ZooKeeper timeout (at most "
                    + Integer.MAX_VALUE + " ms)");
        }
        if (spec.ttl().toMillis() < 1 || spec.retryTimeout().toMillis() < 1) {
            throw new IllegalArgumentException("ttl and retry_timeout must be at least 1 ms for ZooKeeper");
        }
        ZkConnection conn;
        boolean ownsConnection;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("this ZooKeeperDcs is closed");
            }
            if (shared != null) {
                conn = sharedConnection;
                ownsConnection = false;
            } else if (spec.member().isPresent()) {
                String name = id + "-" + spec.scope() + "-" + spec.memberName();
                conn = ZkConnection.owned(name, () -> newClient(name, spec.ttl(), spec.retryTimeout()), timer, blocking,
                        stallNanos(spec.retryTimeout()));
                ownsConnection = true;
            } else {
                if (observerConnection == null) {
                    String name = id + "-observer";
                    observerConnection = ZkConnection.owned(name, () -> newClient(name, spec.ttl(), spec.retryTimeout()), timer,
                            blocking, stallNanos(spec.retryTimeout()));
                }
                conn = observerConnection;
                ownsConnection = false;
            }
        }
        ZkSession[] self = new ZkSession[1];
        ZkSession s = new ZkSession(spec, conn, ownsConnection, root(), settings.acl(), timer, () -> sessions.remove(self[0]));
        self[0] = s;
        sessions.add(s);
        return s;
    }

    /** Where the scopes live: the chroot, the namespace, and (for a shared client) its Curator namespace in front. */
    private String root() {
        String curatorNamespace = shared == null || shared.getNamespace() == null || shared.getNamespace().isEmpty()
                ? "" : "/" + shared.getNamespace();
        String r = curatorNamespace + settings.root();
        return r.length() > 1 && r.endsWith("/") ? r.substring(0, r.length() - 1) : r;
    }

    /**
     * A call that has waited half of retry_timeout on a server that does not answer moves to another
     * server (the ZooKeeper client itself would wait two thirds of the session timeout); only worth it
     * when there is another server.
     */
    private long stallNanos(Duration retryTimeout) {
        return settings.servers() > 1 ? retryTimeout.toNanos() / 2 : 0;
    }

    private CuratorFramework newClient(String name, Duration sessionTimeout, Duration retryTimeout) {
        ZKClientConfig zc = new ZKClientConfig();
        settings.clientProperties().forEach(zc::setProperty);
        // bounds the only blocking request we make, closing the session
        zc.setProperty(ZKClientConfig.ZOOKEEPER_REQUEST_TIMEOUT, Long.toString(retryTimeout.toMillis()));
        CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder()
                .connectString(settings.connectString().orElseThrow())
                .sessionTimeoutMs((int) sessionTimeout.toMillis())
                .connectionTimeoutMs((int) retryTimeout.toMillis())
                // our own calls retry within retry_timeout; Curator's blocking retry loops are not used
                .retryPolicy(new RetryNTimes(0, 0))
                // no watch on /zookeeper/config: fewer requests, and dynamic reconfiguration is not used
                .ensembleTracker(false)
                .zkClientConfig(zc)
                .threadFactory(DaemonThreads.factory(name));
        settings.digest().ifPresent(d -> b.authorization("digest", d.getBytes(StandardCharsets.UTF_8)));
        return b.build();
    }

    /**
     * Closes every session still open (their leases end now), then the clients this store created.
     * A client passed in with {@link Builder#client} is left open.
     */
    @Override
    public void close() {
        ZkConnection observers;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            observers = observerConnection;
        }
        // in parallel: each may wait up to its retry_timeout for an unreachable ensemble
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        long longest = 0;
        for (ZkSession s : List.copyOf(sessions)) {
            closing.add(CompletableFuture.runAsync(s::close, blocking));
            longest = Math.max(longest, s.spec().retryTimeout().toMillis());
        }
        try {
            CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new))
                    .get(longest + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // each session closes best effort and bounded; nothing more to do here
        }
        if (observers != null) {
            observers.close(Duration.ofSeconds(5));
        }
        if (sharedConnection != null) {
            sharedConnection.close(Duration.ZERO);
        }
        timer.shutdownNow();
        blocking.shutdown();
    }

    @Override
    public String toString() {
        return "ZooKeeperDcs[" + settings + "]";
    }

    /**
     * Builds a {@link ZooKeeperDcs}. Each setter checks its argument at once; {@link #build()} checks
     * the combination. Errors are {@link ConfigurationException}s naming the setting; no message
     * ever contains a password.
     */
    public static final class Builder {
        private String connectString;
        private CuratorFramework client;
        private String namespace;
        private String chroot;
        private String digest;
        private List<ACL> acl;
        private Path trustStore;
        private String trustStorePassword;
        private Path keyStore;
        private String keyStorePassword;
        private final Map<String, String> clientProperties = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * The ensemble, {@code host:port[,host:port...]} (Patroni's {@code zookeeper.hosts}). A chroot
         * is set with {@link #chroot}, not here.
         */
        public Builder connectString(String hosts) {
            requireUnset("zookeeper.hosts", connectString);
            Objects.requireNonNull(hosts, "hosts");
            String s = hosts.trim();
            if (s.isEmpty()) {
                throw new ConfigurationException("zookeeper.hosts", "must name at least one host:port");
            }
            if (s.indexOf('/') >= 0) {
                throw new ConfigurationException("zookeeper.hosts", "must not contain a chroot ('" + s.substring(s.indexOf('/'))
                        + "'); use chroot(...)");
            }
            try {
                ConnectStringParser p = new ConnectStringParser(s);
                if (p.getServerAddresses().isEmpty()) {
                    throw new ConfigurationException("zookeeper.hosts", "must name at least one host:port, got '" + s + "'");
                }
                p.getServerAddresses().forEach(a -> {
                    if (a.getPort() < 1 || a.getPort() > 65535 || a.getHostString().isBlank()) {
                        throw new ConfigurationException("zookeeper.hosts", "bad server address '" + a + "' in '" + s + "'");
                    }
                });
            } catch (IllegalArgumentException e) {
                throw new ConfigurationException("zookeeper.hosts", "cannot parse '" + s + "': " + e.getMessage());
            }
            this.connectString = s;
            return this;
        }

        /**
         * Uses a client the service already has instead of creating clients: sessions use its
         * ZooKeeper session (whose timeout must then be at least the ttl), its connection, its
         * credentials and TLS settings, and paths are relative to its Curator namespace. The client is
         * not started or closed here.
         */
        public Builder client(CuratorFramework client) {
            requireUnset("zookeeper.client", this.client);
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        /** Patroni's {@code namespace}, the path above the scopes (default {@code /service}). */
        public Builder namespace(String namespace) {
            requireUnset("namespace", this.namespace);
            this.namespace = requirePath("namespace", namespace);
            return this;
        }

        /** A path prefix for everything this store writes, in front of the namespace (default none). */
        public Builder chroot(String chroot) {
            requireUnset("zookeeper.chroot", this.chroot);
            this.chroot = requirePath("zookeeper.chroot", chroot);
            return this;
        }

        /** Authenticates with ZooKeeper's {@code digest} scheme. The password is never logged or put in a message. */
        public Builder digestAuth(String user, String password) {
            requireUnset("zookeeper.auth", digest);
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(password, "password");
            if (user.isBlank() || user.indexOf(':') >= 0) {
                throw new ConfigurationException("zookeeper.auth", "the user name must be non-empty and contain no ':'");
            }
            if (password.isEmpty()) {
                throw new ConfigurationException("zookeeper.auth", "the password must not be empty");
            }
            this.digest = user + ":" + password;
            return this;
        }

        /**
         * The ACL of every znode this store creates (default: open to everyone,
         * {@link ZooDefs.Ids#OPEN_ACL_UNSAFE}); e.g. {@link ZooDefs.Ids#CREATOR_ALL_ACL} together with
         * {@link #digestAuth} when every member uses the same credentials.
         */
        public Builder acl(List<ACL> acl) {
            requireUnset("zookeeper.set_acls", this.acl);
            Objects.requireNonNull(acl, "acl");
            if (acl.isEmpty() || acl.contains(null)) {
                throw new ConfigurationException("zookeeper.set_acls", "must hold at least one entry and no null");
            }
            this.acl = List.copyOf(acl);
            return this;
        }

        /**
         * Talks TLS to the ensemble's secure client port, verifying the servers against this trust
         * store (JKS or PKCS12, by file extension or content).
         */
        public Builder tls(Path trustStore, String trustStorePassword) {
            requireUnset("zookeeper.use_ssl", this.trustStore);
            this.trustStore = ReadableFiles.require("zookeeper.cacert", trustStore);
            this.trustStorePassword = Objects.requireNonNullElse(trustStorePassword, "");
            return this;
        }

        /** Presents this client certificate (a key store) on TLS connections; needs {@link #tls}. */
        public Builder tlsClientCertificate(Path keyStore, String keyStorePassword) {
            requireUnset("zookeeper.cert", this.keyStore);
            this.keyStore = ReadableFiles.require("zookeeper.cert", keyStore);
            this.keyStorePassword = Objects.requireNonNullElse(keyStorePassword, "");
            return this;
        }

        /**
         * Any other ZooKeeper client property ({@code ZKClientConfig}), e.g. for SASL. Applied before
         * the properties this store sets itself.
         */
        public Builder clientProperty(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            if (name.isBlank()) {
                throw new ConfigurationException("zookeeper.client_property", "the property name must not be blank");
            }
            clientProperties.put(name, value);
            return this;
        }

        /**
         * @throws ConfigurationException if neither or both of a connect string and a client were
         *                                given, or client settings were combined with a shared client
         */
        public ZooKeeperDcs build() {
            if ((connectString == null) == (client == null)) {
                throw new ConfigurationException("zookeeper.hosts", connectString == null
                        ? "either a connect string or a shared CuratorFramework is required"
                        : "a connect string and a shared CuratorFramework cannot both be given");
            }
            if (client != null && (digest != null || trustStore != null || keyStore != null || !clientProperties.isEmpty())) {
                throw new ConfigurationException("zookeeper.client",
                        "credentials, TLS and client properties belong to the shared CuratorFramework; configure them there");
            }
            if (keyStore != null && trustStore == null) {
                throw new ConfigurationException("zookeeper.cert", "a client certificate needs tls(trustStore, password)");
            }
            Map<String, String> props = new LinkedHashMap<>(clientProperties);
            if (trustStore != null) {
                props.put(ZKClientConfig.SECURE_CLIENT, "true");
                props.put(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
                props.put("zookeeper.ssl.trustStore.location", trustStore.toString());
                props.put("zookeeper.ssl.trustStore.password", trustStorePassword);
            }
            if (keyStore != null) {
                props.put("zookeeper.ssl.keyStore.location", keyStore.toString());
                props.put("zookeeper.ssl.keyStore.password", keyStorePassword);
            }
            String ns = namespace == null ? "/service" : namespace;
            String root = chroot == null || chroot.equals("/") ? ns : chroot + ("/".equals(ns) ? "" : ns);
            ZkSettings settings = new ZkSettings(Optional.ofNullable(connectString), root, Optional.ofNullable(digest),
                    acl == null ? ZooDefs.Ids.OPEN_ACL_UNSAFE : acl, props);
            return new ZooKeeperDcs(settings, client);
        }

        private static void requireUnset(String setting, Object current) {
            if (current != null) {
                throw new ConfigurationException(setting, "was already set");
            }
        }

        private static String requirePath(String setting, String path) {
            Objects.requireNonNull(path, setting);
            try {
                PathUtils.validatePath(path);
            } catch (IllegalArgumentException e) {
                throw new ConfigurationException(setting, "'" + path + "' is not a ZooKeeper path: " + e.getMessage());
            }
            return path;
        }
    }

    /** For tests in this package: the sessions open now. */
    List<ZkSession> openSessions() {
        return new ArrayList<>(sessions);
    }
}
