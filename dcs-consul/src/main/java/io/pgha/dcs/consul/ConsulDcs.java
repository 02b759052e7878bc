package io.pgha.dcs.consul;

import io.pgha.ConfigurationException;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.DaemonThreads;
import io.pgha.spi.support.PemTls;
import io.pgha.spi.support.StoreOutage;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * The {@link Dcs} on Consul's KV store, in Patroni's layout ({@code service/<scope>/leader},
 * {@code members/<name>}, ...; Consul keys have no leading slash).
 *
 * <pre>{@code
 * try (ConsulDcs consul = ConsulDcs.builder()
 *         .endpoints("https://127.0.0.1:8501")
 *         .token(System.getenv("CONSUL_HTTP_TOKEN"))
 *         .trustedCa(Path.of("/etc/consul/ca.pem"))
 *         .build()) {
 *     HaNode node = HaNode.builder().dcs(consul)...build().start();
 * }
 * }</pre>
 *
 * <h2>Leadership on Consul sessions</h2>
 * Each member session creates one Consul session ({@code Behavior=delete}, {@code LockDelay=0},
 * {@code "Checks": []}: bound to its TTL only, not to the agent's {@code serfHealth}) with its
 * first lease-bound call, and renews it with every {@code renewLeader} / {@code touchMember}: the
 * engine keeps it alive, nothing here does so in the background. The leader key and the member
 * entry are taken with {@code ?acquire=<session>}, so Consul deletes them when the session goes.
 *
 * <p>The session's TTL is <b>half the ttl</b>, as in Patroni: Consul documents that it may keep
 * an expired session for up to twice its TTL (in practice it reaps at 2 × TTL after the last
 * renewal), and may invalidate it as early as the TTL. So:
 * <ul>
 *   <li>after a successful renewal sent at {@code t}, the session certainly lives until
 *       {@code t + ttl/2}: {@link DcsSession#leaseGuarantee()} is {@code ttl/2}, and the engine
 *       believes in its leadership, and fences, within that window;</li>
 *   <li>the key of a leader that crashed silently disappears between {@code ttl/2} and
 *       {@code ttl} after its last renewal, so failover starts within {@code ttl} (plus the
 *       watch's wake-up, milliseconds).</li>
 * </ul>
 * The agent's {@code session_ttl_min} (10 s unless configured) bounds {@code ttl/2} from below;
 * tell the builder with {@link Builder#minSessionTtl} if your agents allow less.
 *
 * <p><b>Choose timings for half the ttl.</b> The engine fits {@code loop_wait + 2 × retry_timeout}
 * into the lease guarantee, here {@code ttl/2}; Patroni's defaults (ttl 30 s, loop_wait 10 s,
 * retry_timeout 10 s) do not fit into 15 s, so the engine would lower loop_wait to its 100 ms
 * minimum (measured: about 22 requests per second from one idle node instead of 0.6). Use, for
 * example, ttl 30 s, loop_wait 5 s, retry_timeout 5 s.
 *
 * <p>A session destroyed or invalidated in Consul is noticed by the watch within milliseconds
 * (the keys bound to it vanish; Consul is asked whether the session still exists) and reported
 * through {@link io.pgha.spi.DcsListener#leaseLost}, so a leader fences at once; the next
 * lease-bound call creates a new session.
 *
 * <h2>Threads and time bounds</h2>
 * consul-api's HTTP client blocks, so calls run on a small pool of this {@code Dcs}'s own
 * (daemon threads), with connect and read timeouts derived from the session's
 * {@code retry_timeout}; a call's stage fails with {@code DcsUnreachableException} at that bound
 * whatever the socket does. Each watch holds one blocking query open on a thread of its own.
 * {@link #close()} closes every open session and stops every thread and connection.
 */
public final class ConsulDcs implements Dcs {
    /** How reads are served: Consul's three consistency modes. */
    public enum Consistency {
        /** Served by the Raft leader, which may answer from its lease without a round of consensus (Consul's default). */
        DEFAULT,
        /** Served by the leader after confirming it still leads: linearizable, one more round trip. */
        CONSISTENT,
        /** Served by any server, possibly behind the leader: cheapest, may be stale. */
        STALE
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ConsulDcs.class);

    private final ConsulSettings settings;
    private final ExecutorService calls;
    private final Map<Duration, Agent> agents = new HashMap<>();
    /** The agent unreachable: logged once when it begins, now and then while it lasts, once when it ends. */
    private final StoreOutage outage;
    private final List<ConsulSession> open = new ArrayList<>();
    private boolean closed;

    private ConsulDcs(ConsulSettings settings) {
        this.settings = settings;
        this.outage = new StoreOutage(LOG, "Consul agent at [" + settings.url() + "]");
        ThreadPoolExecutor pool = new ThreadPoolExecutor(settings.callThreads(), settings.callThreads(), 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), DaemonThreads.factory("pgha-consul-call"));
        pool.allowCoreThreadTimeOut(true);
        this.calls = pool;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Sessions live between their TTL (ttl/2) and twice that: the engine may count on ttl/2. */
    @Override
    public Duration leaseGuarantee(Duration ttl) {
        return ttl.dividedBy(2);
    }

    /**
     * Opens a session; sends nothing (the Consul session is created by the first lease-bound call).
     *
     * @throws IllegalArgumentException if {@code ttl / 2} is below the agent's minimum session TTL
     *                                  ({@link Builder#minSessionTtl}, 10 s by default)
     * @throws IllegalStateException    if this {@code ConsulDcs} is closed
     */
    @Override
    public DcsSession open(SessionSpec spec) {
        Objects.requireNonNull(spec, "spec");
        if (spec.member().isPresent()) {
            Duration sessionTtl = spec.ttl().dividedBy(2);
            if (sessionTtl.compareTo(settings.minSessionTtl()) < 0) {
                throw new IllegalArgumentException("ttl " + spec.ttl().toMillis() + "ms is too short for Consul: the session TTL"
                        + " (ttl/2 = " + sessionTtl.toMillis() + "ms) must be at least the agent's session_ttl_min ("
                        + settings.minSessionTtl().toMillis() + "ms); raise the ttl to at least "
                        + settings.minSessionTtl().multipliedBy(2).toMillis() + "ms, or lower session_ttl_min on the agents and tell"
                        + " ConsulDcs.Builder.minSessionTtl");
            }
        }
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("this ConsulDcs is closed");
            }
            Agent agent = agents.computeIfAbsent(spec.retryTimeout(), t -> new Agent(settings, t, outage));
            ConsulSession s = new ConsulSession(spec, settings, agent, calls, this::forget);
            open.add(s);
            return s;
        }
    }

    /** For tests in this package: how many calls failed to reach the agent since it became unreachable; 0 while reachable. */
    long failedCallsInOutage() {
        return outage.failedCalls();
    }

    private synchronized void forget(ConsulSession s) {
        open.remove(s);
    }

    /** Closes every open session (destroying their Consul sessions), then the HTTP clients and threads. */
    @Override
    public void close() {
        List<ConsulSession> sessions;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            sessions = new ArrayList<>(open);
        }
        sessions.forEach(ConsulSession::close);
        List<Agent> toClose;
        synchronized (this) {
            toClose = new ArrayList<>(agents.values());
            agents.clear();
        }
        toClose.forEach(Agent::close);
        calls.shutdownNow();
    }

    @Override
    public String toString() {
        return "ConsulDcs[" + settings.url() + ", namespace " + settings.namespace() + "]";
    }

    // ============================================================================================

    /**
     * Builds a {@link ConsulDcs}, with the vocabulary of the other store builders: {@link #endpoints}
     * for the address, {@link #token} for the credentials, {@link #trustedCa},
     * {@link #clientCertificate} or {@link #sslContext} for TLS. Each setter may be called once and
     * checks its own argument at once; {@link #build()} checks the combination and loads the TLS
     * material. Errors are {@link ConfigurationException}s naming the setting in Patroni's spelling
     * ({@code consul.url}, {@code consul.cacert}, ...; {@code consul.<snake_case>} for pgha's own),
     * and never contain the ACL token.
     */
    public static final class Builder {
        private static final Pattern NAMESPACE = Pattern.compile("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");
        private static final URI DEFAULT_URL = URI.create("http://127.0.0.1:8500");

        private URI url;
        private String token;
        private PemTls.PemFile trustedCa;
        private PemTls.PemFile certificate;
        private PemTls.PemFile privateKey;
        private SSLContext sslContext;
        private String namespace;
        private Consistency consistency;
        private Boolean registerService;
        private Duration minSessionTtl;
        private Duration watchWait;
        private Integer callThreads;

        private Builder() {
        }

        /**
         * The agent's HTTP API, {@code http://host[:port]} or {@code https://host[:port]} (Patroni's
         * {@code consul.url}; default {@code http://127.0.0.1:8500}; the port defaults to 8500 for
         * http and 8501 for https). {@code ConsulDcs} talks to one agent, the local one as Consul
         * intends, so exactly one URL is accepted.
         *
         * @throws ConfigurationException ({@code consul.url}) if the endpoints were already set, if
         *                                there is not exactly one, or if it is not
         *                                {@code scheme://host[:port]} with scheme http or https
         * @throws NullPointerException   if {@code endpoints} or the URL is null
         */
        public Builder endpoints(String... endpoints) {
            Objects.requireNonNull(endpoints, "endpoints");
            return endpoints(Arrays.asList(endpoints));
        }

        /**
         * The agent's HTTP API; see {@link #endpoints(String...)}.
         *
         * @throws ConfigurationException ({@code consul.url}) if the endpoints were already set, if
         *                                there is not exactly one, or if it is not
         *                                {@code scheme://host[:port]} with scheme http or https
         * @throws NullPointerException   if {@code endpoints} or the URL is null
         */
        public Builder endpoints(Collection<String> endpoints) {
            requireUnset("consul.url", this.url);
            Objects.requireNonNull(endpoints, "endpoints");
            if (endpoints.size() != 1) {
                throw new ConfigurationException("consul.url", endpoints.isEmpty() ? "needs the agent's URL"
                        : "ConsulDcs talks to one agent (the local one, as Consul intends); give exactly one URL, got "
                        + endpoints.size());
            }
            this.url = parseUrl(Objects.requireNonNull(endpoints.iterator().next(), "consul.url"));
            return this;
        }

        private static URI parseUrl(String url) {
            URI u;
            try {
                u = new URI(url);
            } catch (URISyntaxException e) {
                throw new ConfigurationException("consul.url", "not a URL: '" + url + "'");
            }
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
                throw new ConfigurationException("consul.url", "must start with http:// or https://, got '" + url + "'");
            }
            if (u.getHost() == null) {
                throw new ConfigurationException("consul.url", "needs a host, got '" + url + "'");
            }
            if (u.getUserInfo() != null || u.getQuery() != null || u.getFragment() != null
                    || (u.getPath() != null && !u.getPath().isEmpty() && !u.getPath().equals("/"))) {
                throw new ConfigurationException("consul.url", "must be scheme://host[:port] only, got '" + url + "'");
            }
            int port = u.getPort() != -1 ? u.getPort() : "https".equals(u.getScheme()) ? 8501 : 8500;
            return URI.create(u.getScheme() + "://" + u.getHost() + ":" + port);
        }

        /**
         * The ACL token (Patroni's {@code consul.token}), sent as the {@code X-Consul-Token} header
         * of every request; never logged or put in a message. An ACL token is not a user name and a
         * password: Consul has no such login, so unlike the etcd builder this one has no
         * {@code credentials(user, password)}.
         *
         * @throws ConfigurationException ({@code consul.token}) if the token was already set, or is
         *                                not non-empty printable ASCII without spaces
         * @throws NullPointerException   if {@code token} is null
         */
        public Builder token(String token) {
            requireUnset("consul.token", this.token);
            Objects.requireNonNull(token, "consul.token");
            if (token.isBlank() || token.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
                throw new ConfigurationException("consul.token", "must be non-empty printable ASCII without spaces");
            }
            this.token = token;
            return this;
        }

        /**
         * PEM file of the CA(s) that signed the agent's certificate (Patroni's {@code consul.cacert};
         * default: the JVM's trust store). Needs an {@code https} URL.
         *
         * @throws ConfigurationException ({@code consul.cacert}) if it was already set, or the file
         *                                cannot be read; a file that holds no certificate is
         *                                refused by {@link #build()}
         * @throws NullPointerException   if {@code caPem} is null
         */
        public Builder trustedCa(Path caPem) {
            requireUnset("consul.cacert", this.trustedCa);
            this.trustedCa = new PemTls.PemFile("consul.cacert", caPem);
            return this;
        }

        /**
         * A client certificate for agents that set {@code verify_incoming}: the PEM certificate
         * (chain) and its PEM private key, PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted ({@code PemTls}; Patroni's
         * {@code consul.cert} and {@code consul.key}). Needs an {@code https} URL.
         *
         * @throws ConfigurationException ({@code consul.cert}) if it was already set, or
         *                                ({@code consul.cert}, {@code consul.key}) a file cannot be
         *                                read; files that hold no certificate or key are refused by
         *                                {@link #build()}
         * @throws NullPointerException   if either path is null
         */
        public Builder clientCertificate(Path certificatePem, Path privateKeyPem) {
            requireUnset("consul.cert", this.certificate);
            PemTls.PemFile cert = new PemTls.PemFile("consul.cert", certificatePem);
            this.privateKey = new PemTls.PemFile("consul.key", privateKeyPem);
            this.certificate = cert;
            return this;
        }

        /**
         * A ready TLS context, instead of {@link #trustedCa} and {@link #clientCertificate}. Needs an
         * {@code https} URL.
         *
         * @throws ConfigurationException ({@code consul.ssl_context}) if it was already set
         * @throws NullPointerException   if {@code context} is null
         */
        public Builder sslContext(SSLContext context) {
            requireUnset("consul.ssl_context", this.sslContext);
            this.sslContext = Objects.requireNonNull(context, "consul.ssl_context");
            return this;
        }

        /**
         * The key prefix clusters live under (Patroni's {@code namespace}, default {@code service},
         * as Patroni's {@code /service/}; slashes at either end are ignored).
         *
         * @throws ConfigurationException ({@code namespace}) if it was already set, or is not one or
         *                                more path segments of letters, digits, '.', '_' or '-'
         * @throws NullPointerException   if {@code namespace} is null
         */
        public Builder namespace(String namespace) {
            requireUnset("namespace", this.namespace);
            Objects.requireNonNull(namespace, "namespace");
            String n = namespace.replaceAll("^/+", "").replaceAll("/+$", "");
            if (!NAMESPACE.matcher(n).matches()) {
                throw new ConfigurationException("namespace", "must be one or more path segments of letters, digits, '.', '_'"
                        + " or '-', got '" + namespace + "'");
            }
            this.namespace = n;
            return this;
        }

        /**
         * How {@code read()} and the watches are served (Patroni's {@code consul.consistency}, default
         * {@link Consistency#DEFAULT}); {@code readAuthoritative()} is always
         * {@link Consistency#CONSISTENT}.
         *
         * @throws ConfigurationException ({@code consul.consistency}) if it was already set
         * @throws NullPointerException   if {@code consistency} is null
         */
        public Builder consistency(Consistency consistency) {
            requireUnset("consul.consistency", this.consistency);
            this.consistency = Objects.requireNonNull(consistency, "consul.consistency");
            return this;
        }

        /**
         * Registers each member as an instance of the Consul service named after the scope, tagged
         * with its role ({@code primary} / {@code replica}) from its member entry, as Patroni does
         * ({@code consul.register_service}), so that {@code primary.<scope>.service.consul} resolves
         * to the leader (default off). The address and port come from the member's {@code conn_url}.
         *
         * @throws ConfigurationException ({@code consul.register_service}) if it was already set
         */
        public Builder registerService(boolean register) {
            requireUnset("consul.register_service", this.registerService);
            this.registerService = register;
            return this;
        }

        /**
         * The agents' {@code session_ttl_min} (default 10 s, Consul's default). A session with
         * {@code ttl / 2} below it is refused at {@code open}.
         *
         * @throws ConfigurationException ({@code consul.session_ttl_min}) if it was already set, or
         *                                is not between 1 ms and 24 h
         * @throws NullPointerException   if {@code min} is null
         */
        public Builder minSessionTtl(Duration min) {
            requireUnset("consul.session_ttl_min", this.minSessionTtl);
            Objects.requireNonNull(min, "consul.session_ttl_min");
            if (min.compareTo(Duration.ofMillis(1)) < 0 || min.compareTo(Duration.ofHours(24)) > 0) {
                throw new ConfigurationException("consul.session_ttl_min", "must be between 1ms and 24h, got " + min);
            }
            this.minSessionTtl = min;
            return this;
        }

        /**
         * How long one blocking query of a watch waits for a change before it is re-issued
         * (default 30 s; Consul adds up to 1/16 of it as jitter). Only the idle request rate
         * depends on it: a change wakes the query at once.
         *
         * @throws ConfigurationException ({@code consul.watch_wait}) if it was already set, or is not
         *                                between 1 s and 10 min
         * @throws NullPointerException   if {@code wait} is null
         */
        public Builder watchWait(Duration wait) {
            requireUnset("consul.watch_wait", this.watchWait);
            Objects.requireNonNull(wait, "consul.watch_wait");
            if (wait.compareTo(Duration.ofSeconds(1)) < 0 || wait.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new ConfigurationException("consul.watch_wait", "must be between 1s and 10min, got " + wait);
            }
            this.watchWait = wait;
            return this;
        }

        /**
         * Threads for concurrent calls to the agent (default 4). Calls block a thread for at most
         * retry_timeout.
         *
         * @throws ConfigurationException ({@code consul.call_threads}) if it was already set, or is
         *                                not between 1 and 64
         */
        public Builder callThreads(int threads) {
            requireUnset("consul.call_threads", this.callThreads);
            if (threads < 1 || threads > 64) {
                throw new ConfigurationException("consul.call_threads", "must be between 1 and 64, got " + threads);
            }
            this.callThreads = threads;
            return this;
        }

        /**
         * Builds the {@link ConsulDcs}, loading the TLS material. Nothing is sent to the agent yet.
         *
         * @throws ConfigurationException ({@code consul.ssl_context}) if PEM files
         *                                ({@link #trustedCa}, {@link #clientCertificate}) and an
         *                                {@link #sslContext} were both given; ({@code consul.url}) if
         *                                TLS settings were given for an {@code http} URL;
         *                                ({@code consul.cacert}, {@code consul.cert},
         *                                {@code consul.key}) if a PEM file holds no certificate or no
         *                                usable key
         */
        public ConsulDcs build() {
            URI u = url != null ? url : DEFAULT_URL;
            boolean https = "https".equals(u.getScheme());
            boolean pemFiles = trustedCa != null || certificate != null;
            if (pemFiles && sslContext != null) {
                throw new ConfigurationException("consul.ssl_context", "give either PEM files (trustedCa, clientCertificate) or an"
                        + " SSLContext, not both");
            }
            if ((pemFiles || sslContext != null) && !https) {
                throw new ConfigurationException("consul.url", "TLS settings were given, but the url " + u + " is not https://");
            }
            Optional<SSLContext> ssl = Optional.ofNullable(sslContext);
            if (pemFiles) {
                ssl = Optional.of(PemTls.sslContext(Optional.ofNullable(trustedCa), Optional.ofNullable(certificate),
                        Optional.ofNullable(privateKey)));
            }
            return new ConsulDcs(new ConsulSettings(u, Optional.ofNullable(token), ssl,
                    namespace != null ? namespace : "service",
                    consistency != null ? consistency : Consistency.DEFAULT,
                    registerService != null && registerService,
                    minSessionTtl != null ? minSessionTtl : Duration.ofSeconds(10),
                    watchWait != null ? watchWait : Duration.ofSeconds(30),
                    callThreads != null ? callThreads : 4));
        }

        private static void requireUnset(String setting, Object current) {
            if (current != null) {
                throw new ConfigurationException(setting, "was already set");
            }
        }

        @Override
        public String toString() {
            return "ConsulDcs.Builder[" + (url != null ? url : DEFAULT_URL) + ", token " + (token == null ? "none" : "set") + "]";
        }
    }
}
