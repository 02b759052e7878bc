package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.pgha.ConfigurationException;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.DaemonThreads;
import io.pgha.spi.support.ReadableFiles;
import io.pgha.spi.support.WarnOnce;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Dcs} on etcd v3, in Patroni's etcd3 key layout ({@code /service/<scope>/leader},
 * {@code members/<name>}, {@code config}, {@code initialize}, {@code failover}, {@code sync},
 * {@code history}, {@code status}), so Patroni's tools can read a pgha cluster and the other way round.
 *
 * <pre>{@code
 * try (EtcdDcs dcs = EtcdDcs.builder()
 *         .endpoints("http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379")
 *         .build()) {
 *     HaNode node = HaNode.builder().dcs(dcs)...build();
 * }
 * }</pre>
 *
 * <p>Each member session holds one etcd lease whose TTL is the session's {@code ttl} (rounded up
 * to whole seconds; etcd counts seconds). The leader key and the member entry are bound to it. The
 * lease is refreshed only by the engine's own calls, so a node whose HA loop stops loses its keys
 * after {@code ttl}. Every call completes within the session's {@code retry_timeout}.
 *
 * <p>An {@code EtcdDcs} built with {@link Builder#endpoints} owns a jetcd client and its threads and
 * closes them in {@link #close()}; one built with {@link Builder#client} uses the host service's
 * client and leaves it open.
 */
public final class EtcdDcs implements Dcs {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdDcs.class);
    /** Requests abandoned by a session are dropped by gRPC after this long at the latest. */
    private static final Duration REQUEST_BACKSTOP = Duration.ofSeconds(60);
    /** A session with several endpoints gives one request at least this long before trying another member. */
    private static final Duration MIN_ATTEMPT = Duration.ofMillis(500);
    private static final int MAX_WARNINGS = 256;
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final Config config;
    private final Client client;
    private final boolean ownsClient;
    private final ExecutorService jetcdExecutor;
    private final ScheduledThreadPoolExecutor timer;
    private final ExecutorService callbacks;
    private final Calls calls;
    private final Set<EtcdSession> sessions = ConcurrentHashMap.newKeySet();
    private final WarnOnce warnings = new WarnOnce(LOG, MAX_WARNINGS);
    private volatile boolean closed;

    /** The settings, immutable once built. */
    record Config(List<URI> endpoints, String namespace, Optional<String> user, Optional<String> password,
                  Optional<Path> trustedCa, Optional<Path> clientCertificate, Optional<Path> clientKey,
                  Duration connectTimeout, Optional<Duration> requestTimeout, Optional<Client> sharedClient, boolean cachedReads) {
        @Override
        public String toString() {
            // never the password
            return "endpoints=" + (sharedClient.isPresent() ? "<shared client>" : endpoints) + ", namespace=" + namespace
                    + user.map(u -> ", user=" + u).orElse("") + (trustedCa.isPresent() || clientCertificate.isPresent() ? ", tls" : "")
                    + ", connectTimeout=" + connectTimeout + requestTimeout.map(t -> ", requestTimeout=" + t).orElse("")
                    + (cachedReads ? "" : ", cachedReads=false");
        }
    }

    private EtcdDcs(Config config) {
        this.config = config;
        int id = INSTANCES.incrementAndGet();
        this.timer = new ScheduledThreadPoolExecutor(1, DaemonThreads.factory("pgha-etcd-" + id + "-timer"));
        this.timer.setRemoveOnCancelPolicy(true);
        this.callbacks = Executors.newCachedThreadPool(DaemonThreads.factory("pgha-etcd-" + id + "-callback"));
        if (config.sharedClient().isPresent()) {
            this.client = config.sharedClient().get();
            this.ownsClient = false;
            this.jetcdExecutor = null;
        } else {
            this.jetcdExecutor = new ContextExecutor(Executors.newCachedThreadPool(DaemonThreads.factory("pgha-etcd-" + id + "-jetcd")));
            try {
                this.client = buildClient(config, jetcdExecutor);
            } catch (RuntimeException e) {
                jetcdExecutor.shutdownNow();
                timer.shutdownNow();
                callbacks.shutdownNow();
                throw e;
            }
            this.ownsClient = true;
        }
        String where = config.sharedClient().isPresent() ? "(shared client)"
                : config.endpoints().stream().map(u -> u.getHost() + ":" + u.getPort()).collect(Collectors.joining(",", "[", "]"));
        this.calls = new Calls(timer, callbacks, where, Reconnect.of(client)::kick);
    }

    private static Client buildClient(Config c, ExecutorService executor) {
        ClientBuilder b = Client.builder()
                .endpoints(c.endpoints().toArray(new URI[0]))
                .executorService(executor)
                .connectTimeout(c.connectTimeout())
                // gRPC pings on idle connections so that a dead member is noticed; 10 s is gRPC's minimum
                .keepaliveTime(Duration.ofSeconds(10))
                .keepaliveTimeout(Duration.ofSeconds(5))
                // sessions repeat requests themselves, within their budget and only when safe; jetcd
                // keeps one retry so that an expired auth token is refreshed transparently
                .retryMaxAttempts(1)
                .retryDelay(20)
                .retryMaxDelay(100)
                .interceptor(new DeadlineInterceptor(REQUEST_BACKSTOP.toNanos()));
        if (c.user().isPresent()) {
            b.user(ByteSequence.from(c.user().get(), StandardCharsets.UTF_8));
            b.password(ByteSequence.from(c.password().orElseThrow(), StandardCharsets.UTF_8));
        }
        if (isTls(c.endpoints())) {
            try {
                SslContextBuilder ssl = GrpcSslContexts.forClient();
                c.trustedCa().ifPresent(ca -> ssl.trustManager(ca.toFile()));
                if (c.clientCertificate().isPresent()) {
                    ssl.keyManager(c.clientCertificate().get().toFile(), c.clientKey().orElseThrow().toFile());
                }
                SslContext context = ssl.build();
                b.sslContext(context);
            } catch (SSLException | RuntimeException e) {
                throw new ConfigurationException("tls", "cannot use the certificate files (" + e.getMessage()
                        + "); the private key must be PEM-encoded PKCS#8");
            }
        }
        return b.build();
    }

    private static boolean isTls(List<URI> endpoints) {
        return !endpoints.isEmpty() && "https".equals(endpoints.get(0).getScheme());
    }

    /** A builder with the defaults: namespace {@code /service}, connect timeout 2 s, no auth, no TLS. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Opens a session. Sends nothing: a member session grants its lease with its first lease-bound
     * call.
     *
     * @throws IllegalStateException if this {@code EtcdDcs} is closed
     */
    @Override
    public DcsSession open(SessionSpec spec) {
        Objects.requireNonNull(spec, "spec");
        if (closed) {
            throw new IllegalStateException("this EtcdDcs is closed");
        }
        EtcdSession s = new EtcdSession(this, spec, new EtcdLayout(config.namespace(), spec.scope()), calls, client, attemptTimeout(spec),
                config.cachedReads());
        sessions.add(s);
        if (closed) {
            s.close();
            throw new IllegalStateException("this EtcdDcs is closed");
        }
        return s;
    }

    /**
     * How long one request may take before a session abandons it and, if that is safe, sends it
     * again (gRPC's round-robin balancer then picks the next member). Like Patroni, the budget is
     * split among the members, but a try gets at least {@link #MIN_ATTEMPT}.
     */
    private Duration attemptTimeout(SessionSpec spec) {
        if (config.requestTimeout().isPresent()) {
            return config.requestTimeout().get();
        }
        int members = Math.max(1, Math.min(3, config.endpoints().size()));
        Duration share = spec.retryTimeout().dividedBy(members);
        return share.compareTo(MIN_ATTEMPT) < 0 ? MIN_ATTEMPT : share;
    }

    /** Closes open sessions (revoking their leases), then the client if this {@code EtcdDcs} built it. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (EtcdSession s : new ArrayList<>(sessions)) {
            s.close();
        }
        if (ownsClient) {
            try {
                client.close();
            } catch (RuntimeException e) {
                LOG.debug("closing the jetcd client failed", e);
            }
            jetcdExecutor.shutdownNow();
        }
        timer.shutdownNow();
        callbacks.shutdown();
    }

    void sessionClosed(EtcdSession s) {
        sessions.remove(s);
    }

    /** Warnings logged once per subject (a foreign key seen every cycle must not flood the log). */
    WarnOnce warnings() {
        return warnings;
    }

    @Override
    public String toString() {
        return "EtcdDcs[" + config + "]";
    }

    // ==========================================================================================

    /**
     * Builds an {@link EtcdDcs}. Each setter checks its own argument ({@link ConfigurationException}
     * naming the setting, {@link NullPointerException} for a null); {@link #build()} checks the
     * combination. Either {@link #endpoints} (pgha builds and owns a client) or {@link #client} (the
     * host service's) is required.
     */
    public static final class Builder {
        private final List<URI> endpoints = new ArrayList<>();
        private String namespace = "/service";
        private String user;
        private String password;
        private Path trustedCa;
        private Path clientCertificate;
        private Path clientKey;
        private Duration connectTimeout;
        private Duration requestTimeout;
        private Client client;
        private boolean cachedReads = true;

        private Builder() {
        }

        /**
         * The etcd members' client URLs, {@code http://host:port} or {@code https://host:port}
         * (Patroni's {@code etcd3.hosts}; a bare {@code host:port} means http). Requests are spread
         * over all of them; one that is down is skipped.
         */
        public Builder endpoints(String... endpoints) {
            Objects.requireNonNull(endpoints, "endpoints");
            return endpoints(List.of(endpoints));
        }

        /** The etcd members' client URLs; see {@link #endpoints(String...)}. */
        public Builder endpoints(Collection<String> endpoints) {
            Objects.requireNonNull(endpoints, "endpoints");
            if (endpoints.isEmpty()) {
                throw new ConfigurationException("endpoints", "at least one etcd endpoint is needed");
            }
            if (!this.endpoints.isEmpty()) {
                throw new ConfigurationException("endpoints", "were already set to " + this.endpoints);
            }
            Set<URI> seen = new LinkedHashSet<>();
            for (String e : endpoints) {
                URI u = parseEndpoint(e);
                if (!seen.add(u)) {
                    throw new ConfigurationException("endpoints", "'" + e + "' is listed twice");
                }
            }
            this.endpoints.addAll(seen);
            return this;
        }

        private static URI parseEndpoint(String e) {
            Objects.requireNonNull(e, "endpoint");
            URI u;
            String s = e.trim();
            try {
                // Patroni's etcd3 "hosts" are host:port, with the protocol set separately (default http)
                u = new URI(s.contains("://") ? s : "http://" + s);
            } catch (URISyntaxException x) {
                throw new ConfigurationException("endpoints", "'" + e + "' is not a URL like http://127.0.0.1:2379");
            }
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
                throw new ConfigurationException("endpoints", "'" + e + "' must start with http:// or https://");
            }
            if (u.getHost() == null || u.getPort() < 1) {
                throw new ConfigurationException("endpoints", "'" + e + "' must name a host and a port, like http://127.0.0.1:2379");
            }
            if ((u.getPath() != null && !u.getPath().isEmpty() && !u.getPath().equals("/")) || u.getQuery() != null
                    || u.getUserInfo() != null) {
                throw new ConfigurationException("endpoints", "'" + e + "' must be just scheme://host:port");
            }
            return URI.create(u.getScheme() + "://" + u.getHost() + ":" + u.getPort());
        }

        /**
         * The key prefix above the clusters (Patroni's {@code namespace}, default {@code /service}):
         * a cluster's keys live under {@code <namespace>/<scope>/}.
         */
        public Builder namespace(String namespace) {
            Objects.requireNonNull(namespace, "namespace");
            if (namespace.isBlank() || namespace.chars().anyMatch(ch -> Character.isWhitespace(ch) || Character.isISOControl(ch))) {
                throw new ConfigurationException("namespace", "must be a non-empty path without spaces, like /service");
            }
            this.namespace = EtcdLayout.normalizeNamespace(namespace);
            return this;
        }

        /** Authenticates as {@code user} (etcd's user/password auth). The password is never logged. */
        public Builder credentials(String user, String password) {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(password, "password");
            if (user.isEmpty()) {
                throw new ConfigurationException("user", "must not be empty");
            }
            if (password.isEmpty()) {
                throw new ConfigurationException("password", "must not be empty");
            }
            this.user = user;
            this.password = password;
            return this;
        }

        /** The CA certificate (PEM) that signed the etcd servers' certificates; default: the JVM's trust store. */
        public Builder trustedCa(Path caCertificate) {
            this.trustedCa = ReadableFiles.require("cacert", caCertificate);
            return this;
        }

        /** A client certificate chain and its private key (PEM, the key in PKCS#8), for etcd's {@code --client-cert-auth}. */
        public Builder clientCertificate(Path certificate, Path privateKey) {
            this.clientCertificate = ReadableFiles.require("cert", certificate);
            this.clientKey = ReadableFiles.require("key", privateKey);
            return this;
        }

        /** How long opening a TCP connection to one member may take (default 2 s). */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive("connect_timeout", timeout, Duration.ofMinutes(10));
            return this;
        }

        /**
         * How long one request to one member may take before a session abandons it and, where
         * that is safe, sends it to the next member. Default: the session's {@code retry_timeout}
         * divided among up to three endpoints, at least 500 ms. A whole session call is always
         * bounded by {@code retry_timeout}.
         */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = positive("request_timeout", timeout, Duration.ofMinutes(10));
            return this;
        }

        private static Duration positive(String setting, Duration d, Duration max) {
            Objects.requireNonNull(d, setting);
            if (d.isNegative() || d.isZero() || d.compareTo(max) > 0) {
                throw new ConfigurationException(setting, "must be positive and at most " + max + ", got " + d);
            }
            return d;
        }

        /**
         * Whether a member session with a watch answers reads, and renewals that change nothing,
         * from what its watch delivered when that is provably as new as the store (default
         * {@code true}). An idle member then sends etcd one keep-alive per HA cycle instead of a
         * read, a keep-alive and a transaction. With {@code false} every read is a range request.
         * Observer sessions always read from etcd.
         */
        public Builder cachedReads(boolean cachedReads) {
            this.cachedReads = cachedReads;
            return this;
        }

        /**
         * Uses a jetcd client the host service already has, instead of building one. Endpoints,
         * credentials, TLS and timeouts are then the client's; closing the {@code EtcdDcs} leaves it
         * open. Requests that a session abandons are not cancelled inside such a client.
         */
        public Builder client(Client client) {
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        /**
         * Builds the {@link EtcdDcs}. Nothing is sent to etcd yet.
         *
         * @throws ConfigurationException if the settings do not fit together
         */
        public EtcdDcs build() {
            if (client != null) {
                List<String> conflicting = new ArrayList<>();
                if (!endpoints.isEmpty()) {
                    conflicting.add("endpoints");
                }
                if (user != null) {
                    conflicting.add("credentials");
                }
                if (trustedCa != null || clientCertificate != null) {
                    conflicting.add("TLS files");
                }
                if (connectTimeout != null) {
                    conflicting.add("connect_timeout");
                }
                if (!conflicting.isEmpty()) {
                    throw new ConfigurationException("client", "a shared client brings its own connection settings; do not also set "
                            + String.join(", ", conflicting));
                }
            } else {
                if (endpoints.isEmpty()) {
                    throw new ConfigurationException("endpoints", "are required (or pass a shared jetcd client)");
                }
                Set<String> schemes = endpoints.stream().map(URI::getScheme).collect(Collectors.toSet());
                if (schemes.size() > 1) {
                    throw new ConfigurationException("endpoints", "mix http and https; use one scheme for all members");
                }
                boolean tls = schemes.contains("https");
                if (!tls && (trustedCa != null || clientCertificate != null)) {
                    throw new ConfigurationException("endpoints", "TLS files are set but the endpoints use http://; use https://");
                }
            }
            Config c = new Config(List.copyOf(endpoints), namespace, Optional.ofNullable(user), Optional.ofNullable(password),
                    Optional.ofNullable(trustedCa), Optional.ofNullable(clientCertificate), Optional.ofNullable(clientKey),
                    connectTimeout != null ? connectTimeout : Duration.ofSeconds(2), Optional.ofNullable(requestTimeout),
                    Optional.ofNullable(client), cachedReads);
            return new EtcdDcs(c);
        }
    }
}
