package io.pgha.dcs.consul;

import io.pgha.ConfigurationException;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.DaemonThreads;
import io.pgha.spi.support.ReadableFiles;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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
 *         .url("https://127.0.0.1:8501")
 *         .token(System.getenv("CONSUL_HTTP_TOKEN"))
 *         .caFile(Path.of("/etc/consul/ca.pem"))
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

    private final Config config;
    private final ExecutorService calls;
    private final Map<Duration, Agent> agents = new HashMap<>();
    private final List<ConsulSession> open = new ArrayList<>();
    private boolean closed;

    private ConsulDcs(Config config) {
        this.config = config;
        ThreadPoolExecutor pool = new ThreadPoolExecutor(config.callThreads, config.callThreads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), DaemonThreads.factory("pgha-consul-call"));
        pool.allowCoreThreadTimeOut(true);
        this.calls = pool;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Opens a session; sends nothing (the Consul session is created by the first lease-bound call).
     *
     * @throws IllegalArgumentException if {@code ttl / 2} is below the agent's minimum session TTL
     *                                  ({@link Builder#minSessionTtl}, 10 s by default)
     * @throws IllegalStateException    if this {@code ConsulDcs} is closed
     */
    /** Sessions live between their TTL (ttl/2) and twice that: the engine may count on ttl/2. */
    @Override
    public Duration leaseGuarantee(Duration ttl) {
        return ttl.dividedBy(2);
    }

    @Override
    public DcsSession open(SessionSpec spec) {
        Objects.requireNonNull(spec, "spec");
        if (spec.member().isPresent()) {
            Duration sessionTtl = spec.ttl().dividedBy(2);
            if (sessionTtl.compareTo(config.minSessionTtl) < 0) {
                throw new IllegalArgumentException("ttl " + spec.ttl().toMillis() + "ms is too short for Consul: the session TTL"
                        + " (ttl/2 = " + sessionTtl.toMillis() + "ms) must be at least the agent's session_ttl_min ("
                        + config.minSessionTtl.toMillis() + "ms); raise the ttl to at least "
                        + config.minSessionTtl.multipliedBy(2).toMillis() + "ms, or lower session_ttl_min on the agents and tell"
                        + " ConsulDcs.Builder.minSessionTtl");
            }
        }
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("this ConsulDcs is closed");
            }
            Agent agent = agents.computeIfAbsent(spec.retryTimeout(), t -> new Agent(config, t));
            ConsulSession s = new ConsulSession(spec, config, agent, calls, this::forget);
            open.add(s);
            return s;
        }
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
        return "ConsulDcs[" + config.url + ", namespace " + config.namespace + "]";
    }

    // ============================================================================================

    /** Everything a {@link ConsulDcs} was built with; immutable. */
    static final class Config {
        final URI url;
        final Optional<String> token;
        final Optional<SSLContext> sslContext;
        final String namespace;
        final Consistency consistency;
        final boolean registerService;
        final Duration minSessionTtl;
        final Duration watchWait;
        final int callThreads;

        private Config(Builder b, Optional<SSLContext> ssl) {
            this.url = b.url;
            this.token = Optional.ofNullable(b.token);
            this.sslContext = ssl;
            this.namespace = b.namespace;
            this.consistency = b.consistency;
            this.registerService = b.registerService;
            this.minSessionTtl = b.minSessionTtl;
            this.watchWait = b.watchWait;
            this.callThreads = b.callThreads;
        }
    }

    /**
     * Builds a {@link ConsulDcs}. Each setter checks its own argument; {@link #build()} checks the
     * combination (TLS settings need an {@code https} URL; a client certificate needs its key) and
     * loads the TLS material. Errors are {@link ConfigurationException}s naming the setting, and
     * never contain the ACL token.
     */
    public static final class Builder {
        private static final Pattern NAMESPACE = Pattern.compile("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");

        private URI url = URI.create("http://127.0.0.1:8500");
        private String token;
        private Path caFile;
        private Path certFile;
        private Path keyFile;
        private SSLContext sslContext;
        private String namespace = "service";
        private Consistency consistency = Consistency.DEFAULT;
        private boolean registerService;
        private Duration minSessionTtl = Duration.ofSeconds(10);
        private Duration watchWait = Duration.ofSeconds(30);
        private int callThreads = 4;

        private Builder() {
        }

        /**
         * The agent's HTTP API, {@code http://host:port} or {@code https://host:port}
         * (default {@code http://127.0.0.1:8500}). Talk to the local agent, as Consul intends.
         */
        public Builder url(String url) {
            Objects.requireNonNull(url, "url");
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
            this.url = URI.create(u.getScheme() + "://" + u.getHost() + ":" + port);
            return this;
        }

        /** The ACL token, sent as the {@code X-Consul-Token} header of every request; never logged. */
        public Builder token(String token) {
            Objects.requireNonNull(token, "token");
            if (token.isBlank() || token.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
                throw new ConfigurationException("consul.token", "must be non-empty printable ASCII without spaces");
            }
            this.token = token;
            return this;
        }

        /** PEM file of the CA(s) that signed the agent's certificate (default: the JVM's trust store). */
        public Builder caFile(Path pem) {
            this.caFile = ReadableFiles.require("consul.cacert", pem);
            return this;
        }

        /** A client certificate for agents that set {@code verify_incoming}: PEM certificate (chain) and PEM key (PKCS#8, or PKCS#1 RSA). */
        public Builder clientCertificate(Path certPem, Path keyPem) {
            this.certFile = ReadableFiles.require("consul.cert", certPem);
            this.keyFile = ReadableFiles.require("consul.key", keyPem);
            return this;
        }

        /** A ready TLS context, instead of {@link #caFile} and {@link #clientCertificate}. */
        public Builder sslContext(SSLContext context) {
            this.sslContext = Objects.requireNonNull(context, "sslContext");
            return this;
        }

        /** The key prefix clusters live under (default {@code service}, as Patroni's {@code /service/}; slashes at either end are ignored). */
        public Builder namespace(String namespace) {
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
         * How {@code read()} and the watches are served (default {@link Consistency#DEFAULT});
         * {@code readAuthoritative()} is always {@link Consistency#CONSISTENT}.
         */
        public Builder consistency(Consistency consistency) {
            this.consistency = Objects.requireNonNull(consistency, "consistency");
            return this;
        }

        /**
         * Registers each member as an instance of the Consul service named after the scope, tagged
         * with its role ({@code primary} / {@code replica}) from its member entry, as Patroni does,
         * so that {@code primary.<scope>.service.consul} resolves to the leader (default off).
         * The address and port come from the member's {@code conn_url}.
         */
        public Builder registerService(boolean register) {
            this.registerService = register;
            return this;
        }

        /**
         * The agents' {@code session_ttl_min} (default 10 s, Consul's default). A session with
         * {@code ttl / 2} below it is refused at {@code open}.
         */
        public Builder minSessionTtl(Duration min) {
            Objects.requireNonNull(min, "minSessionTtl");
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
         */
        public Builder watchWait(Duration wait) {
            Objects.requireNonNull(wait, "watchWait");
            if (wait.compareTo(Duration.ofSeconds(1)) < 0 || wait.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new ConfigurationException("consul.watch_wait", "must be between 1s and 10min, got " + wait);
            }
            this.watchWait = wait;
            return this;
        }

        /** Threads for concurrent calls to the agent (default 4). Calls block a thread for at most retry_timeout. */
        public Builder callThreads(int threads) {
            if (threads < 1 || threads > 64) {
                throw new ConfigurationException("consul.call_threads", "must be between 1 and 64, got " + threads);
            }
            this.callThreads = threads;
            return this;
        }

        public ConsulDcs build() {
            boolean https = "https".equals(url.getScheme());
            boolean tlsFiles = caFile != null || certFile != null;
            if (tlsFiles && sslContext != null) {
                throw new ConfigurationException("consul.sslContext", "give either PEM files (caFile, clientCertificate) or an"
                        + " SSLContext, not both");
            }
            if ((tlsFiles || sslContext != null) && !https) {
                throw new ConfigurationException("consul.url", "TLS settings were given, but the url " + url + " is not https://");
            }
            Optional<SSLContext> ssl = Optional.ofNullable(sslContext);
            if (tlsFiles) {
                ssl = Optional.of(Pem.sslContext(Optional.ofNullable(caFile), Optional.ofNullable(certFile), Optional.ofNullable(keyFile)));
            }
            return new ConsulDcs(new Config(this, ssl));
        }

        @Override
        public String toString() {
            return "ConsulDcs.Builder[" + url + ", token " + (token == null ? "none" : "set") + "]";
        }
    }
}
