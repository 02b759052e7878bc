package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.pgha.ConfigurationException;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.DaemonThreads;
import io.pgha.spi.support.PemTls;
import io.pgha.spi.support.WarnOnce;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
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
import javax.net.ssl.SSLContext;
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
 * <p>TLS: {@code https://} endpoints, with PEM files ({@link Builder#trustedCa},
 * {@link Builder#clientCertificate}) or a ready {@link SSLContext} ({@link Builder#sslContext}).
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

    private final EtcdSettings settings;
    private final Client client;
    private final boolean ownsClient;
    private final ExecutorService jetcdExecutor;
    private final ScheduledThreadPoolExecutor timer;
    private final ExecutorService callbacks;
    private final Calls calls;
    private final KeepAlives keepAlives;
    /** The one etcd watch every session's watches share. */
    private final SharedWatch watch;
    private final Set<EtcdSession> sessions = ConcurrentHashMap.newKeySet();
    private final WarnOnce warnings = new WarnOnce(LOG, MAX_WARNINGS);
    private volatile boolean closed;

    private EtcdDcs(EtcdSettings settings) {
        this.settings = settings;
        int id = INSTANCES.incrementAndGet();
        this.timer = new ScheduledThreadPoolExecutor(1, DaemonThreads.factory("pgha-etcd-" + id + "-timer"));
        this.timer.setRemoveOnCancelPolicy(true);
        this.callbacks = Executors.newCachedThreadPool(DaemonThreads.factory("pgha-etcd-" + id + "-callback"));
        if (settings.sharedClient().isPresent()) {
            this.client = settings.sharedClient().get();
            this.ownsClient = false;
            this.jetcdExecutor = null;
        } else {
            this.jetcdExecutor = new ContextExecutor(Executors.newCachedThreadPool(DaemonThreads.factory("pgha-etcd-" + id + "-jetcd")));
            try {
                this.client = buildClient(settings, jetcdExecutor);
            } catch (RuntimeException e) {
                jetcdExecutor.shutdownNow();
                timer.shutdownNow();
                callbacks.shutdownNow();
                throw e;
            }
            this.ownsClient = true;
        }
        String where = settings.sharedClient().isPresent() ? "(shared client)"
                : settings.endpoints().stream().map(u -> u.getHost() + ":" + u.getPort()).collect(Collectors.joining(",", "[", "]"));
        Reconnect reconnect = Reconnect.of(client);
        this.calls = new Calls(timer, callbacks, where, reconnect::kick, reconnect::trouble);
        this.keepAlives = KeepAlives.of(client);
        this.watch = new SharedWatch(client, calls);
    }

    private static Client buildClient(EtcdSettings c, ExecutorService executor) {
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
        c.sslContext().ifPresent(ssl -> b.sslContext(forGrpc(ssl)));
        return b.build();
    }

    /**
     * The JDK context wrapped for gRPC, configured as {@code GrpcSslContexts} configures one for the
     * JDK provider: client mode, HTTP/2's cipher suites (those of them the context supports) and ALPN
     * offering only {@code h2}. gRPC itself turns on host name verification for each connection.
     */
    static SslContext forGrpc(SSLContext jdk) {
        return new JdkSslContext(jdk, true, Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE,
                new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        // gRPC's own choice; gRPC then refuses a connection on which the server did not select h2
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2),
                ClientAuth.NONE, null, false);
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
        EtcdSession s = new EtcdSession(this, spec, new EtcdLayout(settings.namespace(), spec.scope()), calls, client, attemptTimeout(spec),
                settings.cachedReads());
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
        if (settings.requestTimeout().isPresent()) {
            return settings.requestTimeout().get();
        }
        int members = Math.max(1, Math.min(3, settings.endpoints().size()));
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
        watch.close();
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

    /** How many calls failed to reach etcd since it became unreachable; 0 while it is reachable. */
    long failedCallsInOutage() {
        return calls.failedCallsInOutage();
    }

    /** The one etcd watch the sessions' watches subscribe to. */
    SharedWatch sharedWatch() {
        return watch;
    }

    /** How the sessions send a lease keep-alive. */
    KeepAlives keepAlives() {
        return keepAlives;
    }

    /** Warnings logged once per subject (a foreign key seen every cycle must not flood the log). */
    WarnOnce warnings() {
        return warnings;
    }

    @Override
    public String toString() {
        return "EtcdDcs[" + settings + "]";
    }

    // ==========================================================================================

    /**
     * Builds an {@link EtcdDcs}, with the vocabulary of the other store builders: {@link #endpoints}
     * for the address, {@link #credentials} for etcd's user and password, {@link #trustedCa},
     * {@link #clientCertificate} or {@link #sslContext} for TLS. Each setter may be called once and
     * checks its own argument at once ({@link ConfigurationException} naming the setting in Patroni's
     * spelling, {@code etcd3.hosts}, {@code etcd3.cacert}, ..., or {@code etcd3.<snake_case>} for
     * pgha's own; {@link NullPointerException} for a null); {@link #build()} checks the combination
     * and loads the TLS material. Either {@link #endpoints} (pgha builds and owns a client) or
     * {@link #client} (the host service's) is required. No message contains the password.
     */
    public static final class Builder {
        private final List<URI> endpoints = new ArrayList<>();
        private String namespace;
        private String user;
        private String password;
        private PemTls.PemFile trustedCa;
        private PemTls.PemFile certificate;
        private PemTls.PemFile privateKey;
        private SSLContext sslContext;
        private Duration connectTimeout;
        private Duration requestTimeout;
        private Client client;
        private Boolean cachedReads;

        private Builder() {
        }

        /**
         * The etcd members' client URLs, {@code http://host:port} or {@code https://host:port}
         * (Patroni's {@code etcd3.hosts}; a bare {@code host:port} means http). Requests are spread
         * over all of them; one that is down is skipped.
         *
         * @throws ConfigurationException ({@code etcd3.hosts}) if the endpoints were already set, if
         *                                none is given, one is listed twice, or one is not
         *                                {@code scheme://host:port} with scheme http or https
         * @throws NullPointerException   if {@code endpoints} or one of them is null
         */
        public Builder endpoints(String... endpoints) {
            Objects.requireNonNull(endpoints, "endpoints");
            return endpoints(Arrays.asList(endpoints));
        }

        /**
         * The etcd members' client URLs; see {@link #endpoints(String...)}.
         *
         * @throws ConfigurationException ({@code etcd3.hosts}) if the endpoints were already set, if
         *                                none is given, one is listed twice, or one is not
         *                                {@code scheme://host:port} with scheme http or https
         * @throws NullPointerException   if {@code endpoints} or one of them is null
         */
        public Builder endpoints(Collection<String> endpoints) {
            if (!this.endpoints.isEmpty()) {
                throw new ConfigurationException("etcd3.hosts", "was already set");
            }
            Objects.requireNonNull(endpoints, "endpoints");
            if (endpoints.isEmpty()) {
                throw new ConfigurationException("etcd3.hosts", "at least one etcd endpoint is needed");
            }
            Set<URI> seen = new LinkedHashSet<>();
            for (String e : endpoints) {
                URI u = parseEndpoint(e);
                if (!seen.add(u)) {
                    throw new ConfigurationException("etcd3.hosts", "'" + e + "' is listed twice");
                }
            }
            this.endpoints.addAll(seen);
            return this;
        }

        private static URI parseEndpoint(String e) {
            Objects.requireNonNull(e, "etcd3.hosts");
            URI u;
            String s = e.trim();
            try {
                // Patroni's etcd3 "hosts" are host:port, with the protocol set separately (default http)
                u = new URI(s.contains("://") ? s : "http://" + s);
            } catch (URISyntaxException x) {
                throw new ConfigurationException("etcd3.hosts", "'" + e + "' is not a URL like http://127.0.0.1:2379");
            }
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
                throw new ConfigurationException("etcd3.hosts", "'" + e + "' must start with http:// or https://");
            }
            if (u.getHost() == null || u.getPort() < 1) {
                throw new ConfigurationException("etcd3.hosts", "'" + e + "' must name a host and a port, like http://127.0.0.1:2379");
            }
            if ((u.getPath() != null && !u.getPath().isEmpty() && !u.getPath().equals("/")) || u.getQuery() != null
                    || u.getUserInfo() != null) {
                throw new ConfigurationException("etcd3.hosts", "'" + e + "' must be just scheme://host:port");
            }
            return URI.create(u.getScheme() + "://" + u.getHost() + ":" + u.getPort());
        }

        /**
         * The key prefix above the clusters (Patroni's {@code namespace}, default {@code /service}):
         * a cluster's keys live under {@code <namespace>/<scope>/}.
         *
         * @throws ConfigurationException ({@code namespace}) if it was already set, or is blank or
         *                                contains white space or control characters
         * @throws NullPointerException   if {@code namespace} is null
         */
        public Builder namespace(String namespace) {
            requireUnset("namespace", this.namespace);
            Objects.requireNonNull(namespace, "namespace");
            if (namespace.isBlank() || namespace.chars().anyMatch(ch -> Character.isWhitespace(ch) || Character.isISOControl(ch))) {
                throw new ConfigurationException("namespace", "must be a non-empty path without spaces, like /service");
            }
            this.namespace = EtcdLayout.normalizeNamespace(namespace);
            return this;
        }

        /**
         * Authenticates as {@code user} with etcd's user/password auth (Patroni's
         * {@code etcd3.username} and {@code etcd3.password}). The password is never logged or put in
         * a message.
         *
         * @throws ConfigurationException ({@code etcd3.username}) if the credentials were already set
         *                                or the user is empty; ({@code etcd3.password}) if the
         *                                password is empty
         * @throws NullPointerException   if {@code user} or {@code password} is null
         */
        public Builder credentials(String user, String password) {
            requireUnset("etcd3.username", this.user);
            Objects.requireNonNull(user, "etcd3.username");
            Objects.requireNonNull(password, "etcd3.password");
            if (user.isEmpty()) {
                throw new ConfigurationException("etcd3.username", "must not be empty");
            }
            if (password.isEmpty()) {
                throw new ConfigurationException("etcd3.password", "must not be empty");
            }
            this.user = user;
            this.password = password;
            return this;
        }

        /**
         * The PEM file of the CA(s) that signed the etcd servers' certificates (Patroni's
         * {@code etcd3.cacert}); default: the JVM's trust store. Needs {@code https} endpoints.
         *
         * @throws ConfigurationException ({@code etcd3.cacert}) if it was already set, or the file
         *                                cannot be read; a file that holds no certificate is refused
         *                                by {@link #build()}
         * @throws NullPointerException   if {@code caPem} is null
         */
        public Builder trustedCa(Path caPem) {
            requireUnset("etcd3.cacert", this.trustedCa);
            this.trustedCa = new PemTls.PemFile("etcd3.cacert", caPem);
            return this;
        }

        /**
         * A client certificate (chain) and its private key, PEM files, the key PKCS#8, PKCS#1 RSA or
         * SEC1 EC and unencrypted ({@code PemTls}; Patroni's {@code etcd3.cert} and {@code etcd3.key}), for etcd's
         * {@code --client-cert-auth}. Needs {@code https} endpoints.
         *
         * @throws ConfigurationException ({@code etcd3.cert}) if it was already set, or
         *                                ({@code etcd3.cert}, {@code etcd3.key}) a file cannot be
         *                                read; files that hold no certificate or key are refused by
         *                                {@link #build()}
         * @throws NullPointerException   if either path is null
         */
        public Builder clientCertificate(Path certificatePem, Path privateKeyPem) {
            requireUnset("etcd3.cert", this.certificate);
            PemTls.PemFile cert = new PemTls.PemFile("etcd3.cert", certificatePem);
            this.privateKey = new PemTls.PemFile("etcd3.key", privateKeyPem);
            this.certificate = cert;
            return this;
        }

        /**
         * A ready TLS context, instead of {@link #trustedCa} and {@link #clientCertificate}: its trust
         * managers check the servers, its key managers (if any) present the client certificate. gRPC
         * negotiates HTTP/2 over it with ALPN. Needs {@code https} endpoints.
         *
         * @throws ConfigurationException ({@code etcd3.ssl_context}) if it was already set
         * @throws NullPointerException   if {@code context} is null
         */
        public Builder sslContext(SSLContext context) {
            requireUnset("etcd3.ssl_context", this.sslContext);
            this.sslContext = Objects.requireNonNull(context, "etcd3.ssl_context");
            return this;
        }

        /**
         * How long opening a TCP connection to one member may take (default 2 s).
         *
         * @throws ConfigurationException ({@code etcd3.connect_timeout}) if it was already set, or is
         *                                not positive and at most 10 minutes
         * @throws NullPointerException   if {@code timeout} is null
         */
        public Builder connectTimeout(Duration timeout) {
            requireUnset("etcd3.connect_timeout", this.connectTimeout);
            this.connectTimeout = positive("etcd3.connect_timeout", timeout, Duration.ofMinutes(10));
            return this;
        }

        /**
         * How long one request to one member may take before a session abandons it and, where
         * that is safe, sends it to the next member. Default: the session's {@code retry_timeout}
         * divided among up to three endpoints, at least 500 ms. A whole session call is always
         * bounded by {@code retry_timeout}.
         *
         * @throws ConfigurationException ({@code etcd3.request_timeout}) if it was already set, or is
         *                                not positive and at most 10 minutes
         * @throws NullPointerException   if {@code timeout} is null
         */
        public Builder requestTimeout(Duration timeout) {
            requireUnset("etcd3.request_timeout", this.requestTimeout);
            this.requestTimeout = positive("etcd3.request_timeout", timeout, Duration.ofMinutes(10));
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
         *
         * @throws ConfigurationException ({@code etcd3.cached_reads}) if it was already set
         */
        public Builder cachedReads(boolean cachedReads) {
            requireUnset("etcd3.cached_reads", this.cachedReads);
            this.cachedReads = cachedReads;
            return this;
        }

        /**
         * Uses a jetcd client the host service already has, instead of building one. Endpoints,
         * credentials, TLS and the connect timeout are then the client's; closing the
         * {@code EtcdDcs} leaves it open. Requests that a session abandons are not cancelled inside
         * such a client.
         *
         * @throws ConfigurationException ({@code etcd3.client}) if it was already set
         * @throws NullPointerException   if {@code client} is null
         */
        public Builder client(Client client) {
            requireUnset("etcd3.client", this.client);
            this.client = Objects.requireNonNull(client, "etcd3.client");
            return this;
        }

        /**
         * Builds the {@link EtcdDcs}, loading the TLS material. Nothing is sent to etcd yet.
         *
         * @throws ConfigurationException ({@code etcd3.client}) if a shared {@link #client} was given
         *                                together with endpoints, credentials, TLS settings or a
         *                                connect timeout; ({@code etcd3.hosts}) if neither endpoints
         *                                nor a client were given, the endpoints mix http and https,
         *                                or TLS settings were given for http endpoints;
         *                                ({@code etcd3.ssl_context}) if PEM files ({@link #trustedCa},
         *                                {@link #clientCertificate}) and an {@link #sslContext} were
         *                                both given; ({@code etcd3.cacert}, {@code etcd3.cert},
         *                                {@code etcd3.key}) if a PEM file holds no certificate or no
         *                                usable key
         */
        public EtcdDcs build() {
            boolean pemFiles = trustedCa != null || certificate != null;
            Optional<SSLContext> tls = Optional.empty();
            if (client != null) {
                List<String> conflicting = new ArrayList<>();
                if (!endpoints.isEmpty()) {
                    conflicting.add("etcd3.hosts");
                }
                if (user != null) {
                    conflicting.add("etcd3.username (credentials)");
                }
                if (trustedCa != null) {
                    conflicting.add("etcd3.cacert");
                }
                if (certificate != null) {
                    conflicting.add("etcd3.cert");
                }
                if (sslContext != null) {
                    conflicting.add("etcd3.ssl_context");
                }
                if (connectTimeout != null) {
                    conflicting.add("etcd3.connect_timeout");
                }
                if (!conflicting.isEmpty()) {
                    throw new ConfigurationException("etcd3.client", "a shared client brings its own connection settings; do not"
                            + " also set " + String.join(", ", conflicting));
                }
            } else {
                if (endpoints.isEmpty()) {
                    throw new ConfigurationException("etcd3.hosts", "are required (or pass a shared jetcd client)");
                }
                Set<String> schemes = endpoints.stream().map(URI::getScheme).collect(Collectors.toSet());
                if (schemes.size() > 1) {
                    throw new ConfigurationException("etcd3.hosts", "mix http and https; use one scheme for all members");
                }
                if (pemFiles && sslContext != null) {
                    throw new ConfigurationException("etcd3.ssl_context", "give either PEM files (trustedCa, clientCertificate)"
                            + " or an SSLContext, not both");
                }
                boolean https = schemes.contains("https");
                if (!https && (pemFiles || sslContext != null)) {
                    throw new ConfigurationException("etcd3.hosts", "TLS settings were given but the endpoints use http://;"
                            + " use https://");
                }
                if (https) {
                    // without TLS settings: the JVM's trust store and no client certificate
                    tls = Optional.of(sslContext != null ? sslContext : PemTls.sslContext(Optional.ofNullable(trustedCa),
                            Optional.ofNullable(certificate), Optional.ofNullable(privateKey)));
                }
            }
            EtcdSettings s = new EtcdSettings(endpoints, namespace != null ? namespace : "/service", Optional.ofNullable(user),
                    Optional.ofNullable(password), tls, connectTimeout != null ? connectTimeout : Duration.ofSeconds(2),
                    Optional.ofNullable(requestTimeout), Optional.ofNullable(client), cachedReads == null || cachedReads);
            return new EtcdDcs(s);
        }

        private static void requireUnset(String setting, Object current) {
            if (current != null) {
                throw new ConfigurationException(setting, "was already set");
            }
        }
    }
}
