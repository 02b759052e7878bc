package io.pgha.dcs.zookeeper;

import io.pgha.ConfigurationException;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.DaemonThreads;
import io.pgha.spi.support.PemTls;
import io.pgha.spi.support.ReadableFiles;
import io.pgha.spi.support.StoreOutage;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
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
 * try (ZooKeeperDcs zk = ZooKeeperDcs.builder().endpoints("zk1:2181", "zk2:2181", "zk3:2181").build();
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
 *
 * <p>TLS comes from PEM files, which ZooKeeper's client reads itself: {@link Builder#trustedCa} and
 * {@link Builder#clientCertificate}, Patroni's {@code zookeeper.cacert}, {@code cert} and
 * {@code key}. Unlike the etcd and Consul store builders, this one has no
 * {@code sslContext(SSLContext)} setter: ZooKeeper's Netty client builds its TLS context only from
 * the files named in its client properties, anew for each connection, and takes no
 * {@code SSLContext} object. A service whose TLS material is in JKS or PKCS#12 key stores names them
 * with {@link Builder#clientProperty}, or passes a {@link CuratorFramework} it configured itself
 * with {@link Builder#client}.
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
    /** The temp directory of the joined client key file this store wrote, if it wrote one; deleted on close. */
    private final Path ownedDirectory;
    /** The ensemble unreachable: logged once when it begins, now and then while it lasts, once when it ends. */
    private final StoreOutage outage;

    // guarded by this
    private ZkConnection observerConnection;
    private boolean closed;

    private ZooKeeperDcs(ZkSettings settings, CuratorFramework shared, Path ownedDirectory) {
        this.settings = settings;
        this.shared = shared;
        this.ownedDirectory = ownedDirectory;
        this.id = "pgha-zk-" + INSTANCES.incrementAndGet();
        this.timer = new ScheduledThreadPoolExecutor(1, DaemonThreads.factory(id + "-timer"));
        this.timer.setRemoveOnCancelPolicy(true);
        this.blocking = Executors.newCachedThreadPool(DaemonThreads.factory(id + "-close"));
        // logged as the connections' own lines
        this.outage = new StoreOutage(org.slf4j.LoggerFactory.getLogger(ZkConnection.class), "ZooKeeper at ["
                + (shared == null ? settings.connectString().orElseThrow() : shared.getZookeeperClient().getCurrentConnectionString())
                + "]");
        this.sharedConnection = shared == null ? null : ZkConnection.shared(id + "-shared", shared, timer, blocking, outage);
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
                        stallNanos(spec.retryTimeout()), outage);
                ownsConnection = true;
            } else {
                if (observerConnection == null) {
                    String name = id + "-observer";
                    observerConnection = ZkConnection.owned(name, () -> newClient(name, spec.ttl(), spec.retryTimeout()), timer,
                            blocking, stallNanos(spec.retryTimeout()), outage);
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
                // handles that can end a session quietly while no server answers (ZkHandle)
                .zookeeperFactory(ZkHandle.factory(zc))
                .threadFactory(DaemonThreads.factory(name));
        settings.digest().ifPresent(d -> b.authorization("digest", d.getBytes(StandardCharsets.UTF_8)));
        return b.build();
    }

    /**
     * Closes every session still open (their leases end now), then the clients this store created,
     * and deletes the joined client key file if {@link Builder#clientCertificate} wrote one. A client
     * passed in with {@link Builder#client} is left open.
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
        if (ownedDirectory != null) {
            ZkPem.delete(ownedDirectory);
        }
    }

    @Override
    public String toString() {
        return "ZooKeeperDcs[" + settings + "]";
    }

    /**
     * Builds a {@link ZooKeeperDcs}, in the vocabulary the etcd and Consul store builders share
     * ({@code endpoints}, {@code credentials}, {@code trustedCa}, {@code clientCertificate},
     * {@code namespace}, {@code client}). Each setter may be called once ({@link #clientProperty} once
     * per property name) and checks its own argument at once; {@link #build()} checks the combination
     * and reads the PEM files. Errors are {@link ConfigurationException}s naming the setting, in
     * Patroni's spelling where one exists ({@code zookeeper.hosts}, {@code namespace},
     * {@code zookeeper.cacert}, {@code zookeeper.cert}, {@code zookeeper.key}), else
     * {@code zookeeper.<snake_case>}; a {@code null} argument is a {@link NullPointerException}. No
     * message ever contains a password or anything read from a key file.
     */
    public static final class Builder {
        private static final String HOSTS = "zookeeper.hosts";
        private static final String CACERT = "zookeeper.cacert";
        private static final String CERT = "zookeeper.cert";
        private static final String KEY = "zookeeper.key";
        private static final String CLIENT_PROPERTY = "zookeeper.client_property";
        private static final String TRUST_STORE_LOCATION = "zookeeper.ssl.trustStore.location";
        private static final String TRUST_STORE_TYPE = "zookeeper.ssl.trustStore.type";
        private static final String KEY_STORE_LOCATION = "zookeeper.ssl.keyStore.location";
        private static final String KEY_STORE_TYPE = "zookeeper.ssl.keyStore.type";
        private static final String KEY_STORE_PASSWORD = "zookeeper.ssl.keyStore.password";
        private static final String KEY_PASSWORD = "zookeeper.key_password";
        /** What {@link #trustedCa} and {@link #clientCertificate} set, so not to be given as client properties too. */
        private static final Set<String> TLS_PROPERTIES = Set.of(ZKClientConfig.SECURE_CLIENT,
                ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, TRUST_STORE_LOCATION, TRUST_STORE_TYPE,
                "zookeeper.ssl.trustStore.password", KEY_STORE_LOCATION, KEY_STORE_TYPE, KEY_STORE_PASSWORD);

        private String hosts;
        private CuratorFramework client;
        private String namespace;
        private String chroot;
        private String digest;
        private List<ACL> acl;
        private Path trustedCa;
        private Path certificatePem;
        private Path privateKeyPem;
        private String keyPassword;
        private final Map<String, String> clientProperties = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * The ensemble's servers, each one {@code host:port} (Patroni's {@code zookeeper.hosts}; a
         * host without a port means 2181). They are joined with commas into ZooKeeper's connect
         * string. A chroot is set with {@link #chroot}, not here.
         *
         * @throws ConfigurationException ({@code zookeeper.hosts}) if there is no server, one is
         *                                blank, holds a comma or a chroot ({@code /...}), has a port
         *                                outside 1..65535, or is listed twice; or the servers were
         *                                already set
         * @throws NullPointerException   if {@code hostPorts} or one of its elements is null
         */
        public Builder endpoints(String... hostPorts) {
            Objects.requireNonNull(hostPorts, "hostPorts");
            return endpoints(Arrays.asList(hostPorts));
        }

        /**
         * The ensemble's servers, each one {@code host:port}; see {@link #endpoints(String...)}.
         *
         * @throws ConfigurationException ({@code zookeeper.hosts}) as for {@link #endpoints(String...)}
         * @throws NullPointerException   if {@code hostPorts} or one of its elements is null
         */
        public Builder endpoints(Collection<String> hostPorts) {
            Objects.requireNonNull(hostPorts, "hostPorts");
            requireUnset(HOSTS, hosts);
            if (hostPorts.isEmpty()) {
                throw new ConfigurationException(HOSTS, "must name at least one host:port");
            }
            Set<String> servers = new LinkedHashSet<>();
            for (String hostPort : hostPorts) {
                String s = hostPort(hostPort);
                if (!servers.add(s)) {
                    throw new ConfigurationException(HOSTS, "'" + s + "' is listed twice");
                }
            }
            this.hosts = String.join(",", servers);
            return this;
        }

        private static String hostPort(String hostPort) {
            Objects.requireNonNull(hostPort, HOSTS);
            String s = hostPort.trim();
            if (s.isEmpty()) {
                throw new ConfigurationException(HOSTS, "an entry is blank; each must be one host:port");
            }
            if (s.indexOf(',') >= 0) {
                throw new ConfigurationException(HOSTS, "'" + s + "' names more than one server; pass each host:port as an element of its own");
            }
            if (s.indexOf('/') >= 0) {
                throw new ConfigurationException(HOSTS, "must not contain a chroot ('" + s.substring(s.indexOf('/'))
                        + "' in '" + s + "'); use chroot(...)");
            }
            try {
                List<InetSocketAddress> parsed = new ConnectStringParser(s).getServerAddresses();
                if (parsed.size() != 1) {
                    throw new ConfigurationException(HOSTS, "'" + s + "' is not one host:port");
                }
                InetSocketAddress a = parsed.get(0);
                if (a.getPort() < 1 || a.getPort() > 65535 || a.getHostString().isBlank()) {
                    throw new ConfigurationException(HOSTS, "'" + s + "' is not a host:port with a port from 1 to 65535");
                }
            } catch (IllegalArgumentException e) {
                throw new ConfigurationException(HOSTS, "cannot parse '" + s + "' as host:port: " + e.getMessage());
            }
            return s;
        }

        /**
         * Uses a client the service already has instead of creating clients: sessions use its
         * ZooKeeper session (whose timeout must then be at least the ttl), its connection, its
         * credentials and TLS settings, and paths are relative to its Curator namespace. The client is
         * not started or closed here.
         *
         * @throws ConfigurationException ({@code zookeeper.client}) if a client was already set
         * @throws NullPointerException   if {@code client} is null
         */
        public Builder client(CuratorFramework client) {
            Objects.requireNonNull(client, "client");
            requireUnset("zookeeper.client", this.client);
            this.client = client;
            return this;
        }

        /**
         * Patroni's {@code namespace}, the path above the scopes (default {@code /service}).
         *
         * @throws ConfigurationException ({@code namespace}) if it is not a ZooKeeper path
         *                                ({@code /a/b}, no trailing slash) or was already set
         * @throws NullPointerException   if {@code namespace} is null
         */
        public Builder namespace(String namespace) {
            Objects.requireNonNull(namespace, "namespace");
            requireUnset("namespace", this.namespace);
            this.namespace = requirePath("namespace", namespace);
            return this;
        }

        /**
         * A path prefix for everything this store writes, in front of the namespace (default none).
         *
         * @throws ConfigurationException ({@code zookeeper.chroot}) if it is not a ZooKeeper path or
         *                                was already set
         * @throws NullPointerException   if {@code chroot} is null
         */
        public Builder chroot(String chroot) {
            Objects.requireNonNull(chroot, "chroot");
            requireUnset("zookeeper.chroot", this.chroot);
            this.chroot = requirePath("zookeeper.chroot", chroot);
            return this;
        }

        /**
         * Authenticates every connection with ZooKeeper's {@code digest} scheme as {@code user} with
         * {@code password} (what {@code addauth digest user:password} does); pair it with {@link #acl}
         * to keep others out. The password is never logged or put in a message.
         *
         * @throws ConfigurationException ({@code zookeeper.auth}) if the user is blank or contains
         *                                {@code ':'}, the password is empty, or credentials were
         *                                already set
         * @throws NullPointerException   if {@code user} or {@code password} is null
         */
        public Builder credentials(String user, String password) {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(password, "password");
            requireUnset("zookeeper.auth", digest);
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
         * {@link #credentials} when every member uses the same credentials.
         *
         * @throws ConfigurationException ({@code zookeeper.set_acls}) if it is empty, holds a null or
         *                                was already set
         * @throws NullPointerException   if {@code acl} is null
         */
        public Builder acl(List<ACL> acl) {
            Objects.requireNonNull(acl, "acl");
            requireUnset("zookeeper.set_acls", this.acl);
            if (acl.isEmpty() || acl.contains(null)) {
                throw new ConfigurationException("zookeeper.set_acls", "must hold at least one entry and no null");
            }
            this.acl = List.copyOf(acl);
            return this;
        }

        /**
         * Talks TLS to the ensemble's secure client port and verifies the servers against the CA
         * certificates in this PEM file (Patroni's {@code zookeeper.cacert}). ZooKeeper's client reads
         * the file itself ({@code zookeeper.ssl.trustStore.type=PEM}, over its Netty socket), at every
         * connection: it must stay in place while the store is open, and a CA file replaced in place
         * is used from the next connection on. {@link #build()} parses it once, to fail early.
         *
         * @throws ConfigurationException ({@code zookeeper.cacert}) if the file cannot be read or a CA
         *                                was already set
         * @throws NullPointerException   if {@code caPem} is null
         */
        public Builder trustedCa(Path caPem) {
            Objects.requireNonNull(caPem, CACERT);
            requireUnset(CACERT, trustedCa);
            this.trustedCa = ReadableFiles.require(CACERT, caPem);
            return this;
        }

        /**
         * Presents this client certificate on TLS connections (Patroni's {@code zookeeper.cert} and
         * {@code zookeeper.key}); needs {@link #trustedCa}. {@code certificatePem} holds the
         * certificate chain, leaf first; {@code privateKeyPem} its unencrypted RSA or EC private key,
         * PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#1 ({@code BEGIN RSA PRIVATE KEY}) or SEC1
         * ({@code BEGIN EC PRIVATE KEY}), read by {@code PemTls}.
         *
         * <p>ZooKeeper's client reads the key and the chain from <em>one</em> PEM file. If both
         * arguments are the same file and its key is PKCS#8, ZooKeeper reads that file as it is.
         * Otherwise {@link #build()} writes a copy of the key (as PKCS#8) and of the chain into a new
         * file that only this process's user can read (mode 0600, in a new temp directory of mode
         * 0700); {@link ZooKeeperDcs#close()} deletes it, and it is marked delete-on-exit for a JVM that
         * exits without closing the store (a JVM that is killed leaves it behind). That copy is made
         * once: certificate files renewed later are used only by a store built after that.
         *
         * @throws ConfigurationException ({@code zookeeper.cert} or {@code zookeeper.key}) if a file
         *                                cannot be read, or a client certificate was already set
         * @throws NullPointerException   if either path is null
         */
        public Builder clientCertificate(Path certificatePem, Path privateKeyPem) {
            Objects.requireNonNull(certificatePem, CERT);
            Objects.requireNonNull(privateKeyPem, KEY);
            requireUnset(CERT, this.certificatePem);
            this.certificatePem = ReadableFiles.require(CERT, certificatePem);
            this.privateKeyPem = ReadableFiles.require(KEY, privateKeyPem);
            return this;
        }

        /**
         * Like {@link #clientCertificate(Path, Path)} for an encrypted key ({@code BEGIN ENCRYPTED
         * PRIVATE KEY}) and its passphrase (Patroni's {@code zookeeper.key_password}). The copy
         * {@link #build()} writes for ZooKeeper's client holds the key encrypted again with the same
         * passphrase, never in the clear; a wrong passphrase fails {@link #build()} with a
         * {@link io.pgha.spi.support.PemException} naming {@code zookeeper.key}.
         *
         * @throws ConfigurationException as {@link #clientCertificate(Path, Path)}, or
         *                                ({@code zookeeper.key_password}) for an empty passphrase
         * @throws NullPointerException   if an argument is null
         */
        public Builder clientCertificate(Path certificatePem, Path privateKeyPem, String keyPassword) {
            Objects.requireNonNull(keyPassword, KEY_PASSWORD);
            if (keyPassword.isEmpty()) {
                throw new ConfigurationException(KEY_PASSWORD, "cannot be empty");
            }
            clientCertificate(certificatePem, privateKeyPem);
            this.keyPassword = keyPassword;
            return this;
        }

        /**
         * Any other ZooKeeper client property ({@link ZKClientConfig}), e.g. for SASL, or TLS options
         * such as {@code zookeeper.ssl.protocol}. A service whose TLS material is in JKS or PKCS#12 key
         * stores can name them here ({@code zookeeper.client.secure}, {@code zookeeper.clientCnxnSocket},
         * {@code zookeeper.ssl.trustStore.*}, {@code zookeeper.ssl.keyStore.*}) instead of using
         * {@link #trustedCa} and {@link #clientCertificate}, but not together with them. The request
         * timeout ({@code zookeeper.request.timeout}) is always the session's {@code retry_timeout}.
         *
         * @throws ConfigurationException ({@code zookeeper.client_property}) if the name is blank or
         *                                {@code zookeeper.request.timeout}, or this name was already set
         * @throws NullPointerException   if {@code name} or {@code value} is null
         */
        public Builder clientProperty(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            if (name.isBlank()) {
                throw new ConfigurationException(CLIENT_PROPERTY, "the property name must not be blank");
            }
            if (name.equals(ZKClientConfig.ZOOKEEPER_REQUEST_TIMEOUT)) {
                throw new ConfigurationException(CLIENT_PROPERTY, "'" + name + "' is set from each session's retry_timeout");
            }
            if (clientProperties.containsKey(name)) {
                throw new ConfigurationException(CLIENT_PROPERTY, "'" + name + "' was already set");
            }
            clientProperties.put(name, value);
            return this;
        }

        /**
         * Builds the store; nothing is sent to ZooKeeper before a session's first call. Reads the PEM
         * files and, if {@link #clientCertificate} needs one, writes the joined key file.
         *
         * @throws ConfigurationException {@code zookeeper.hosts} if neither or both of endpoints and a
         *                                shared client were given; {@code zookeeper.client} if
         *                                credentials, TLS files or client properties were given with
         *                                a shared client; {@code zookeeper.cert} if a client
         *                                certificate was given without {@link #trustedCa};
         *                                {@code zookeeper.client_property} if a client property is one
         *                                that the TLS files set; {@code zookeeper.cacert},
         *                                {@code zookeeper.cert} or {@code zookeeper.key} if a PEM file
         *                                holds no certificate or no usable key (encrypted, Ed25519,
         *                                EC in SEC1 form), or the key does not belong to the
         *                                certificate; {@code zookeeper.key} if the joined file cannot
         *                                be written
         */
        public ZooKeeperDcs build() {
            if ((hosts == null) == (client == null)) {
                throw new ConfigurationException(HOSTS, hosts == null
                        ? "either endpoints or a shared CuratorFramework is required"
                        : "endpoints and a shared CuratorFramework cannot both be given");
            }
            if (client != null && (digest != null || trustedCa != null || certificatePem != null || !clientProperties.isEmpty())) {
                throw new ConfigurationException("zookeeper.client",
                        "credentials, TLS and client properties belong to the shared CuratorFramework; configure them there");
            }
            if (certificatePem != null && trustedCa == null) {
                throw new ConfigurationException(CERT, "a client certificate needs trustedCa(caPem): TLS is on only with a CA");
            }
            if (trustedCa != null) {
                for (String name : clientProperties.keySet()) {
                    if (TLS_PROPERTIES.contains(name)) {
                        throw new ConfigurationException(CLIENT_PROPERTY, "'" + name
                                + "' is set by trustedCa/clientCertificate; use one or the other");
                    }
                }
            }
            Map<String, String> props = new LinkedHashMap<>(clientProperties);
            Path ownedDirectory = null;
            if (trustedCa != null) {
                ZkPem.requireCertificates(new PemTls.PemFile(CACERT, trustedCa));
                props.put(ZKClientConfig.SECURE_CLIENT, "true");
                props.put(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
                props.put(TRUST_STORE_LOCATION, trustedCa.toString());
                props.put(TRUST_STORE_TYPE, "PEM");
            }
            if (certificatePem != null) {
                // last: it may write a file, which the store then owns
                ZkPem.KeyStoreFile keyStore = ZkPem.clientKeyStore(new PemTls.PemFile(CERT, certificatePem),
                        new PemTls.PemFile(KEY, privateKeyPem), Optional.ofNullable(keyPassword));
                ownedDirectory = keyStore.ownedDirectory().orElse(null);
                props.put(KEY_STORE_LOCATION, keyStore.file().toString());
                props.put(KEY_STORE_TYPE, "PEM");
                if (keyPassword != null) {
                    props.put(KEY_STORE_PASSWORD, keyPassword); // in memory only: ZooKeeper's client configuration
                }
            }
            String ns = namespace == null ? "/service" : namespace;
            String root = chroot == null || chroot.equals("/") ? ns : chroot + ("/".equals(ns) ? "" : ns);
            try {
                ZkSettings settings = new ZkSettings(Optional.ofNullable(hosts), root, Optional.ofNullable(digest),
                        acl == null ? ZooDefs.Ids.OPEN_ACL_UNSAFE : acl, props);
                return new ZooKeeperDcs(settings, client, ownedDirectory);
            } catch (RuntimeException | Error e) {
                if (ownedDirectory != null) {
                    ZkPem.delete(ownedDirectory);
                }
                throw e;
            }
        }

        private static void requireUnset(String setting, Object current) {
            if (current != null) {
                throw new ConfigurationException(setting, "was already set");
            }
        }

        private static String requirePath(String setting, String path) {
            try {
                PathUtils.validatePath(path);
            } catch (IllegalArgumentException e) {
                throw new ConfigurationException(setting, "'" + path + "' is not a ZooKeeper path: " + e.getMessage());
            }
            return path;
        }
    }

    /** For tests in this package: what this store was built with. */
    ZkSettings settings() {
        return settings;
    }

    /** For tests in this package: how many calls failed to reach the ensemble since it became unreachable; 0 while reachable. */
    long failedCallsInOutage() {
        return outage.failedCalls();
    }

    /** For tests in this package: the sessions open now. */
    List<ZkSession> openSessions() {
        return new ArrayList<>(sessions);
    }
}
