package io.pgha;

import io.pgha.internal.InternalAccess;
import io.pgha.internal.decision.PlantedBug;
import io.pgha.internal.engine.EngineConfig;
import io.pgha.internal.engine.HaEngine;
import io.pgha.internal.engine.ThreadTaskScheduler;
import io.pgha.internal.rest.HttpPeerClient;
import io.pgha.internal.rest.RestServer;
import java.net.InetSocketAddress;
import io.pgha.spi.Dcs;
import io.pgha.spi.PeerClient;
import io.pgha.spi.PostgresController;
import io.pgha.spi.SessionSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One PostgreSQL high-availability node, embedded in your service: it elects a leader through a
 * {@link Dcs}, keeps the leader lock alive, fails over, switches over and retargets replicas by
 * driving a {@link PostgresController}, like a Patroni daemon would.
 *
 * <pre>{@code
 * try (HaNode node = HaNode.builder()
 *         .name("pg-1").scope("orders")
 *         .dcs(EtcdDcs.builder().endpoints("http://127.0.0.1:2379").build())
 *         .postgres(postgresController)
 *         .ttl(Duration.ofSeconds(10)).loopWait(Duration.ofSeconds(2)).retryTimeout(Duration.ofSeconds(3))
 *         .listener(event -> log.info("{}", event))
 *         .build()
 *         .start()) {
 *     ... node.status().role() ...
 * }
 * }</pre>
 *
 * <p>Many nodes may live in one JVM: a node has no static state. By default each runs four threads
 * of its own; nodes built with one {@link NodeScheduling} share a fixed number of threads, and nodes
 * given one {@link Dcs} share its client, connection and threads. {@link #close()} is graceful: a
 * leader stops PostgreSQL and releases the leader key only after PostgreSQL stopped, so a replica
 * takes over at once instead of after the ttl.
 */
public final class HaNode implements AutoCloseable {
    static {
        InternalAccess.register(new InternalAccess.Accessor() {
            @Override
            public HaEngine engine(HaNode node) {
                return node.engine;
            }

            @Override
            public void plantBug(Builder builder, PlantedBug bug) {
                builder.bugs.add(bug);
            }
        });
    }

    private final HaEngine engine;
    private final EngineConfig config;
    private final List<AutoCloseable> owned;
    private final Optional<RestServer> rest;
    private final Optional<RestApiConfig> restApi;
    private final boolean apiUrlGiven;

    private final Optional<Runnable> configReloader;

    private HaNode(EngineConfig config, List<AutoCloseable> owned, Optional<RestApiConfig> restApi, boolean apiUrlGiven,
                   Optional<Runnable> configReloader) {
        this.config = config;
        this.owned = owned;
        this.engine = new HaEngine(config);
        this.restApi = restApi;
        this.apiUrlGiven = apiUrlGiven;
        this.configReloader = configReloader;
        this.rest = restApi.map(r -> new RestServer(r, engine, this::reload));
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the REST API (if configured) and the HA loop; returns at once. A node starts once.
     *
     * @throws ConfigurationException if the REST API cannot listen (its port is taken)
     */
    public HaNode start() {
        rest.ifPresent(RestServer::start);
        Optional<String> api = config.apiUrl();
        if (rest.isPresent() && !apiUrlGiven) {
            api = Optional.of(restApi.orElseThrow().apiUrl(rest.get().boundAddress().getPort()));
        }
        engine.start(api);
        return this;
    }

    /** Where the REST API listens (useful with port 0), if it is enabled and started. */
    public Optional<InetSocketAddress> restAddress() {
        return rest.map(RestServer::boundAddress);
    }

    /** The node's state as of its last cycle. */
    public NodeStatus status() {
        return engine.status();
    }

    /**
     * Patroni's {@code failsafe_mode_is_active}: this primary runs on without the store because every
     * member confirmed it, or this member confirmed a primary's failsafe request within the ttl.
     * Live, not as of the last cycle (what {@code /metrics} reports).
     */
    public boolean failsafeActive() {
        return engine.failsafeActive();
    }

    /** The settings this node was built with (the cluster's dynamic configuration may override them at run time). */
    public HaSettings settings() {
        return config.settings();
    }

    public String name() {
        return config.name();
    }

    public String scope() {
        return config.scope();
    }

    /**
     * Patroni's reload ({@code POST /reload}, SIGHUP to its daemon): runs the builder's
     * {@linkplain Builder#configReloader(Runnable) configuration reloader}, which re-reads the
     * embedder's configuration and applies what changed, then has PostgreSQL reload its files on
     * the next cycle.
     *
     * @throws ConfigurationException (or whatever the reloader throws) if the new configuration is
     *                                refused: nothing is reloaded, the node runs on as it was
     */
    public void reload() {
        configReloader.ifPresent(Runnable::run);
        engine.submit(new io.pgha.internal.decision.AdminRequest.Reload());
    }

    /**
     * Replaces this member's tags while it runs (a reloaded configuration): the next cycle decides
     * with them ({@code nofailover}, {@code failover_priority}, {@code nosync}, ...) and publishes them
     * in the member's entry and the REST API.
     *
     * @throws NullPointerException if {@code tags} is null
     */
    public void updateTags(MemberTags tags) {
        engine.updateTags(Objects.requireNonNull(tags, "tags"));
    }

    /** The tags in force now: the builder's, or the last {@link #updateTags(MemberTags)}. */
    public MemberTags tags() {
        return engine.tags();
    }

    /** Runs an HA cycle now instead of at the next tick. */
    public void wakeUp() {
        engine.wake();
    }

    /** Stops gracefully without waiting; the stage completes when the node stopped. */
    public CompletionStage<Void> closeAsync() {
        // health checks go first, so load balancers stop sending traffic before PostgreSQL stops
        rest.ifPresent(RestServer::close);
        return engine.shutdown().whenComplete((v, e) -> closeOwned());
    }

    /**
     * Stops gracefully and waits: PostgreSQL is stopped (fast), then the leader key is released
     * if this node held it, then the store session is closed. Waits at most the stop timeout plus
     * {@code retry_timeout}, then gives up waiting.
     */
    @Override
    public void close() {
        CompletableFuture<Void> f = closeAsync().toCompletableFuture();
        Duration wait = Duration.ofSeconds(60).plus(config.settings().primaryStartTimeout().compareTo(Duration.ofSeconds(60)) > 0
                ? config.settings().primaryStartTimeout().minusSeconds(60) : Duration.ZERO).plus(config.settings().retryTimeout());
        try {
            f.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            closeOwned();
        }
    }

    private void closeOwned() {
        for (AutoCloseable c : owned) {
            try {
                c.close();
            } catch (Exception e) {
                // closing our own threads cannot fail in a way the caller could act on
            }
        }
    }

    @Override
    public String toString() {
        return "HaNode[" + config.scope() + "/" + config.name() + "]";
    }

    /**
     * Builds an {@link HaNode}. Each setter checks its own argument and may be called once (a second
     * call throws {@link ConfigurationException}; {@link #listener} adds one more each time); a
     * {@code null} argument throws {@link NullPointerException} naming the setting. {@link #build()}
     * checks the combination ({@code loop_wait + 2 * retry_timeout <= ttl}, the fencing margin) and
     * that the required parts are present. Errors are {@link ConfigurationException}s naming the
     * setting by its Patroni key ({@code loop_wait}, {@code maximum_lag_on_failover}, ...).
     */
    public static final class Builder {
        private String name;
        private String scope;
        private Dcs dcs;
        private PostgresController postgres;
        private Duration ttl;
        private Duration loopWait;
        private Duration retryTimeout;
        private Long maximumLagOnFailover;
        private Duration primaryStartTimeout;
        private Duration fencingMargin;
        private Duration peerTimeout;
        private SynchronousMode synchronousMode;
        private Integer synchronousNodeCount;
        private Boolean usePgRewind;
        private boolean withoutExternalFence;
        private Boolean checkTimeline;
        private MemberTags tags;
        private PeerClient peerClient;
        private String apiUrl;
        private RestApiConfig restApi;
        private com.fasterxml.jackson.databind.node.ObjectNode initialConfig;
        private Ticker ticker;
        private TaskScheduler scheduler;
        private NodeScheduling scheduling;
        private java.util.concurrent.Executor executor;
        private Clock clock;
        private Runnable configReloader;
        private io.pgha.spi.Watchdog watchdog;
        private WatchdogMode watchdogMode;
        private Duration watchdogSafetyMargin;
        private final List<HaListener> listeners = new ArrayList<>();
        private final Set<PlantedBug> bugs = EnumSet.noneOf(PlantedBug.class);

        private Builder() {
        }

        /**
         * This member's name: unique in the cluster; letters, digits, '.', '_', '-'.
         *
         * @throws ConfigurationException if already set or not a valid name
         * @throws NullPointerException   if the argument is null
         */
        public Builder name(String name) {
            requireUnset("name", this.name);
            this.name = requireName("name", name);
            return this;
        }

        /**
         * The cluster's name (Patroni's {@code scope}).
         *
         * @throws ConfigurationException if already set or not a valid name
         * @throws NullPointerException   if the argument is null
         */
        public Builder scope(String scope) {
            requireUnset("scope", this.scope);
            this.scope = requireName("scope", scope);
            return this;
        }

        /**
         * The store to elect the leader in. The node opens one session on it.
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder dcs(Dcs dcs) {
            requireUnset("dcs", this.dcs);
            this.dcs = Objects.requireNonNull(dcs, "dcs");
            return this;
        }

        /**
         * The PostgreSQL server this node manages.
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder postgres(PostgresController postgres) {
            requireUnset("postgres", this.postgres);
            this.postgres = Objects.requireNonNull(postgres, "postgres");
            return this;
        }

        /**
         * Accepts a {@link PostgresController} without an out-of-process write fence
         * ({@link PostgresController#externalFence()} empty). Only the engine's own fence then stops
         * writes when the lease runs out, and it runs in this JVM: a JVM frozen past its lease (a
         * long GC pause, SIGSTOP, a suspended VM) leaves the old primary accepting writes beside the
         * new one. {@code build()} refuses such a controller unless this is called.
         */
        public Builder withoutExternalFence() {
            this.withoutExternalFence = true;
            return this;
        }

        /**
         * Lease time to live (default 30 s, at least 2 s). Failover after a silent crash takes about this long.
         *
         * @throws ConfigurationException if already set or below 2 s
         * @throws NullPointerException   if the argument is null
         */
        public Builder ttl(Duration ttl) {
            requireUnset("ttl", this.ttl);
            this.ttl = requireAtLeast("ttl", ttl, HaSettings.MIN_TTL);
            return this;
        }

        /**
         * Time between HA cycles (default 10 s).
         *
         * @throws ConfigurationException if already set or below the minimum
         * @throws NullPointerException   if the argument is null
         */
        public Builder loopWait(Duration loopWait) {
            requireUnset("loop_wait", this.loopWait);
            this.loopWait = requireAtLeast("loop_wait", loopWait, HaSettings.MIN_LOOP_WAIT);
            return this;
        }

        /**
         * Bound on every store and PostgreSQL call (default 10 s).
         *
         * @throws ConfigurationException if already set or below the minimum
         * @throws NullPointerException   if the argument is null
         */
        public Builder retryTimeout(Duration retryTimeout) {
            requireUnset("retry_timeout", this.retryTimeout);
            this.retryTimeout = requireAtLeast("retry_timeout", retryTimeout, HaSettings.MIN_RETRY_TIMEOUT);
            return this;
        }

        /**
         * Bytes a replica may lag behind the leader's last optime and still be promoted (default 1 MiB).
         *
         * @throws ConfigurationException if already set or negative
         */
        public Builder maximumLagOnFailover(long bytes) {
            requireUnset("maximum_lag_on_failover", this.maximumLagOnFailover);
            if (bytes < 0) {
                throw new ConfigurationException("maximum_lag_on_failover", "must be >= 0, got " + bytes);
            }
            this.maximumLagOnFailover = bytes;
            return this;
        }

        /**
         * How long a crashed primary is restarted in place before failing over (default 300 s; 0 fails over at once).
         *
         * @throws ConfigurationException if already set or negative
         * @throws NullPointerException   if the argument is null
         */
        public Builder primaryStartTimeout(Duration timeout) {
            requireUnset("primary_start_timeout", this.primaryStartTimeout);
            Objects.requireNonNull(timeout, "primary_start_timeout");
            if (timeout.isNegative()) {
                throw new ConfigurationException("primary_start_timeout", "must be >= 0, got " + timeout);
            }
            this.primaryStartTimeout = timeout;
            return this;
        }

        /**
         * How long before the lease could expire a primary that could not renew stops writing
         * (default: a tenth of the ttl, at least 100 ms, at most half of retry_timeout).
         *
         * @throws ConfigurationException if already set or below the minimum
         * @throws NullPointerException   if the argument is null
         */
        public Builder fencingMargin(Duration margin) {
            requireUnset("fencing_margin", this.fencingMargin);
            this.fencingMargin = requireAtLeast("fencing_margin", margin, HaSettings.MIN_FENCING_MARGIN);
            return this;
        }

        /**
         * Bound on asking a peer for its status during a leader race (default 2 s).
         *
         * @throws ConfigurationException if already set or not positive
         * @throws NullPointerException   if the argument is null
         */
        public Builder peerTimeout(Duration timeout) {
            requireUnset("peer_timeout", this.peerTimeout);
            this.peerTimeout = requireAtLeast("peer_timeout", timeout, Duration.ofMillis(1));
            return this;
        }

        /**
         * Synchronous replication mode for a cluster this node bootstraps (default off).
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder synchronousMode(SynchronousMode mode) {
            requireUnset("synchronous_mode", this.synchronousMode);
            this.synchronousMode = Objects.requireNonNull(mode, "synchronous_mode");
            return this;
        }

        /**
         * How many synchronous standbys to keep (default 1).
         *
         * @throws ConfigurationException if already set or below 1
         */
        public Builder synchronousNodeCount(int count) {
            requireUnset("synchronous_node_count", this.synchronousNodeCount);
            if (count < 1) {
                throw new ConfigurationException("synchronous_node_count", "must be >= 1, got " + count);
            }
            this.synchronousNodeCount = count;
            return this;
        }

        /**
         * Rewind a diverged former primary (default true).
         *
         * @throws ConfigurationException if already set
         */
        public Builder usePgRewind(boolean use) {
            requireUnset("use_pg_rewind", this.usePgRewind);
            this.usePgRewind = use;
            return this;
        }

        /**
         * Refuse to promote a member whose timeline is behind the cluster's (default false).
         *
         * @throws ConfigurationException if already set
         */
        public Builder checkTimeline(boolean check) {
            requireUnset("check_timeline", this.checkTimeline);
            this.checkTimeline = check;
            return this;
        }

        /**
         * This member's tags (nofailover, failover_priority, ...).
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder tags(MemberTags tags) {
            requireUnset("tags", this.tags);
            this.tags = Objects.requireNonNull(tags, "tags");
            return this;
        }

        /**
         * How to ask peers for their live status during a leader race (default: {@code GET} on their
         * {@code api_url}, Patroni's {@code /patroni}; a peer without one is judged by its member entry).
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder peerClient(PeerClient client) {
            requireUnset("peer_client", this.peerClient);
            this.peerClient = Objects.requireNonNull(client, "peerClient");
            return this;
        }

        /**
         * This node's REST API address, published as {@code api_url} in its member entry.
         *
         * @throws ConfigurationException if already set or not an absolute URL with a host
         * @throws NullPointerException   if the argument is null
         */
        public Builder apiUrl(String url) {
            requireUnset("api_url", this.apiUrl);
            Objects.requireNonNull(url, "api_url");
            try {
                java.net.URI u = new java.net.URI(url);
                if (u.getScheme() == null || u.getHost() == null) {
                    throw new ConfigurationException("api_url", "must be an absolute URL with a host, got '" + url + "'");
                }
            } catch (java.net.URISyntaxException e) {
                throw new ConfigurationException("api_url", "not a URL: '" + url + "'");
            }
            this.apiUrl = url;
            return this;
        }

        /**
         * Serves Patroni's REST API (health checks for HAProxy, status, switchover, ...). Also sets
         * {@code api_url} unless {@link #apiUrl} was given.
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder restApi(RestApiConfig config) {
            requireUnset("restapi", this.restApi);
            this.restApi = Objects.requireNonNull(config, "restapi");
            return this;
        }

        /**
         * The cluster's dynamic configuration, as a JSON object, that this node writes if it
         * bootstraps the cluster (Patroni's {@code bootstrap.dcs}); the node's settings fill in what it
         * leaves out, and keys pgha does not read are kept for other tools.
         *
         * @throws ConfigurationException if already set or not a JSON object
         * @throws NullPointerException   if the argument is null
         */
        public Builder initialDynamicConfig(String json) {
            requireUnset("bootstrap.dcs", this.initialConfig);
            Objects.requireNonNull(json, "bootstrap.dcs");
            com.fasterxml.jackson.databind.JsonNode n;
            try {
                n = io.pgha.internal.cluster.ClusterCodec.JSON.readTree(json);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new ConfigurationException("bootstrap.dcs", "not valid JSON: " + e.getOriginalMessage());
            }
            if (n == null || !n.isObject()) {
                throw new ConfigurationException("bootstrap.dcs", "must be a JSON object");
            }
            this.initialConfig = (com.fasterxml.jackson.databind.node.ObjectNode) n;
            return this;
        }

        /**
         * The monotonic clock (default {@link System#nanoTime()}). Must match {@link #scheduler}.
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder ticker(Ticker ticker) {
            requireUnset("ticker", this.ticker);
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /**
         * Where the loop, the lease heartbeat and the fence timer run (default: three daemon threads
         * of the node's own, so that a store call stuck on one cannot delay the fence on another).
         * A single scheduler given here runs all three: it must never block, or fencing may be late.
         * To run many nodes on a few threads, use {@link #scheduling(NodeScheduling)} instead.
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder scheduler(TaskScheduler scheduler) {
            requireUnset("scheduler", this.scheduler);
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Runs this node on threads shared with other nodes instead of four of its own: its loop,
         * lease heartbeat, fence timer and listener calls each go to the matching pool of
         * {@code scheduling}, where its tasks still run one at a time and in order. Its peer requests
         * use the HTTP client {@code scheduling} shares among its nodes. The node does not own the
         * shared threads: closing it leaves them running. Excludes {@link #scheduler} (and so
         * {@link #ticker}); {@link #executor} may still name where listeners are called.
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder scheduling(NodeScheduling scheduling) {
            requireUnset("scheduling", this.scheduling);
            this.scheduling = Objects.requireNonNull(scheduling, "scheduling");
            return this;
        }

        /**
         * Where listeners are called (default: one daemon thread of the node's own, or the shared
         * event pool of {@link #scheduling}).
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder executor(java.util.concurrent.Executor executor) {
            requireUnset("executor", this.executor);
            this.executor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /**
         * Wall-clock time, for scheduled switchovers and history timestamps (default the system clock).
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder clock(Clock clock) {
            requireUnset("clock", this.clock);
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * A kernel watchdog (Patroni's {@code watchdog}, for example {@link DeviceWatchdog} on
         * {@code /dev/watchdog}): armed when this node starts to lead, kept alive with each renewal,
         * disarmed with the other fences; the node closes it. Default: none (the in-process and the
         * controller's fences only).
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder watchdog(io.pgha.spi.Watchdog watchdog) {
            requireUnset("watchdog", this.watchdog);
            this.watchdog = Objects.requireNonNull(watchdog, "watchdog");
            return this;
        }

        /**
         * Patroni's {@code watchdog.mode}; default {@code automatic} with a {@link #watchdog} set, else {@code off}.
         * {@code required} needs a watchdog.
         *
         * @throws ConfigurationException if already set
         */
        public Builder watchdogMode(WatchdogMode mode) {
            requireUnset("watchdog.mode", this.watchdogMode);
            this.watchdogMode = Objects.requireNonNull(mode, "watchdog.mode");
            return this;
        }

        /**
         * Patroni's {@code watchdog.safety_margin}: the watchdog fires this long before the lease would
         * end (timeout {@code ttl - safety_margin}, at least a second); default 5 s.
         *
         * @throws ConfigurationException if already set or negative
         */
        public Builder watchdogSafetyMargin(Duration margin) {
            requireUnset("watchdog.safety_margin", this.watchdogSafetyMargin);
            Objects.requireNonNull(margin, "watchdog.safety_margin");
            if (margin.isNegative()) {
                throw new ConfigurationException("watchdog.safety_margin", "cannot be negative, got " + margin);
            }
            this.watchdogSafetyMargin = margin;
            return this;
        }

        /**
         * What {@link HaNode#reload()} and {@code POST /reload} run first: re-read the embedder's
         * configuration and apply what changed ({@link HaNode#updateTags(MemberTags)}, the PostgreSQL
         * controller's own settings). It runs on the caller's thread (the REST API's admin pool); an
         * exception refuses the reload (a {@link ConfigurationException} is answered 400 with its
         * message). Default: none, and a reload only has PostgreSQL re-read its files.
         *
         * @throws ConfigurationException if already set
         * @throws NullPointerException   if the argument is null
         */
        public Builder configReloader(Runnable reloader) {
            requireUnset("config_reloader", this.configReloader);
            this.configReloader = Objects.requireNonNull(reloader, "reloader");
            return this;
        }

        /** Adds a listener for every decision and role change. */
        public Builder listener(HaListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        public HaNode build() {
            Duration ttl = or(this.ttl, Duration.ofSeconds(30));
            Duration loopWait = or(this.loopWait, Duration.ofSeconds(10));
            Duration retryTimeout = or(this.retryTimeout, Duration.ofSeconds(10));
            MemberTags tags = or(this.tags, MemberTags.DEFAULT);
            requireSet("name", name);
            requireSet("scope", scope);
            requireSet("dcs", dcs);
            requireSet("postgres", postgres);
            if (watchdogMode == WatchdogMode.REQUIRED && watchdog == null) {
                throw new ConfigurationException("watchdog.mode", "required needs a watchdog (watchdog(...))");
            }
            if (postgres.externalFence().isEmpty() && !withoutExternalFence) {
                throw new ConfigurationException("postgres", "the PostgresController (" + postgres.getClass().getSimpleName()
                        + ") has no out-of-process write fence: a JVM frozen past its lease would leave its PostgreSQL "
                        + "accepting writes beside a new primary. Use one that has (pg-driver's does), or accept that with "
                        + "withoutExternalFence()");
            }
            if (scheduling != null && scheduler != null) {
                throw new ConfigurationException("scheduling", "scheduling(...) and scheduler(...) exclude each other: "
                        + "the shared threads keep the loop, the lease heartbeat and the fence apart, a single scheduler does not");
            }
            if (scheduling != null && ticker != null) {
                throw new ConfigurationException("ticker", "the shared scheduling runs on System.nanoTime(): a custom ticker needs scheduler(...)");
            }
            if (scheduling != null && scheduling.isClosed()) {
                throw new ConfigurationException("scheduling", "is closed");
            }
            if ((ticker == null) != (scheduler == null)) {
                throw new ConfigurationException(ticker == null ? "ticker" : "scheduler",
                        "ticker and scheduler go together: a custom scheduler needs the ticker whose time it runs on");
            }
            Duration guarantee = dcs.leaseGuarantee(ttl);
            if (guarantee.compareTo(ttl) < 0) {
                // the leadership belief lives within what the store certainly keeps (Consul: half the ttl)
                Duration cycle = loopWait.plus(retryTimeout.multipliedBy(2));
                if (cycle.compareTo(guarantee) > 0) {
                    throw new ConfigurationException("ttl", "this store (" + dcs.getClass().getSimpleName()
                            + ") certainly keeps a lease for only " + HaSettings.fmt(guarantee) + " of the ttl " + HaSettings.fmt(ttl)
                            + "; loop_wait (" + HaSettings.fmt(loopWait) + ") + 2 * retry_timeout (" + HaSettings.fmt(retryTimeout)
                            + ") = " + HaSettings.fmt(cycle) + " must fit in it: raise ttl or lower loop_wait and retry_timeout");
                }
            }
            Duration margin = fencingMargin != null ? fencingMargin : HaSettings.defaultFencingMargin(guarantee, retryTimeout);
            HaSettings settings = new HaSettings(ttl, loopWait, retryTimeout, or(maximumLagOnFailover, 1024L * 1024),
                    or(primaryStartTimeout, Duration.ofSeconds(300)), margin, or(peerTimeout, Duration.ofSeconds(2)),
                    or(synchronousMode, SynchronousMode.OFF), or(synchronousNodeCount, 1), or(usePgRewind, true),
                    or(checkTimeline, false));
            List<AutoCloseable> owned = new ArrayList<>();
            TaskScheduler loop = scheduler;
            TaskScheduler guard = scheduler;
            TaskScheduler heartbeat = scheduler;
            if (scheduling != null) {
                loop = scheduling.pools().loopLane();
                guard = scheduling.pools().guardLane();
                heartbeat = scheduling.pools().leaseLane();
            } else if (scheduler == null) {
                ThreadTaskScheduler l = new ThreadTaskScheduler("pgha-" + name + "-loop");
                ThreadTaskScheduler g = new ThreadTaskScheduler("pgha-" + name + "-guard");
                ThreadTaskScheduler h = new ThreadTaskScheduler("pgha-" + name + "-lease");
                owned.add(l);
                owned.add(g);
                owned.add(h);
                loop = l;
                guard = g;
                heartbeat = h;
            }
            java.util.concurrent.Executor events = executor;
            if (events == null && scheduling != null) {
                events = scheduling.pools().eventLane();
            } else if (events == null) {
                ExecutorService es = Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "pgha-" + name + "-events");
                    t.setDaemon(true);
                    return t;
                });
                owned.add(es::shutdown);
                events = es;
            }
            // every task of this node runs with its scope and name in the MDC, on whichever thread
            io.pgha.internal.NodeLogContext logContext = new io.pgha.internal.NodeLogContext(scope, name);
            loop = logContext.wrap(loop);
            guard = logContext.wrap(guard);
            heartbeat = logContext.wrap(heartbeat);
            events = logContext.wrap(events);
            String api = apiUrl != null ? apiUrl : restApi != null ? restApi.apiUrl() : null;
            Optional<javax.net.ssl.SSLContext> peerTls = restApi == null ? Optional.empty() : restApi.sslContext();
            Optional<String> peerUser = restApi == null ? Optional.empty() : restApi.username();
            Optional<char[]> peerPassword = restApi == null ? Optional.empty() : restApi.password();
            PeerClient peers = peerClient != null ? peerClient
                    : scheduling != null ? new HttpPeerClient(scheduling.pools().httpClient(peerTls), peerUser, peerPassword)
                    : new HttpPeerClient(peerTls, peerUser, peerPassword);
            EngineConfig cfg = new EngineConfig(name, scope, settings, tags, dcs, postgres, Optional.of(peers),
                    Optional.ofNullable(api), ticker != null ? ticker : Ticker.system(),
                    clock != null ? clock : Clock.systemUTC(), loop, guard, heartbeat, events, listeners, bugs,
                    Optional.ofNullable(initialConfig), Optional.ofNullable(watchdog),
                    watchdogMode != null ? watchdogMode : watchdog != null ? WatchdogMode.AUTOMATIC : WatchdogMode.OFF,
                    watchdogSafetyMargin != null ? watchdogSafetyMargin : Duration.ofSeconds(5));
            if (watchdog != null) {
                owned.add(watchdog);
            }
            return new HaNode(cfg, owned, Optional.ofNullable(restApi), apiUrl != null, Optional.ofNullable(configReloader));
        }

        private static String requireName(String setting, String value) {
            Objects.requireNonNull(value, setting);
            if (!SessionSpec.isValidName(value)) {
                throw new ConfigurationException(setting, "'" + value
                        + "' is not a valid name: use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
            }
            return value;
        }

        private static Duration requireAtLeast(String setting, Duration value, Duration min) {
            Objects.requireNonNull(value, setting);
            if (value.compareTo(min) < 0) {
                throw new ConfigurationException(setting, "must be at least " + HaSettings.fmt(min) + ", got " + HaSettings.fmt(value));
            }
            return value;
        }

        private static void requireUnset(String setting, Object current) {
            if (current != null) {
                throw new ConfigurationException(setting, "was already set");
            }
        }

        private static <T> T or(T value, T fallback) {
            return value != null ? value : fallback;
        }

        private static void requireSet(String setting, Object value) {
            if (value == null) {
                throw new ConfigurationException(setting, "is required");
            }
        }
    }
}
