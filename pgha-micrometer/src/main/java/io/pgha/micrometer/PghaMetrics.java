package io.pgha.micrometer;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.pgha.HaEvent;
import io.pgha.HaListener;
import io.pgha.HaNode;
import io.pgha.NodeStatus;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.PostgresState;
import io.pgha.spi.SessionSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToDoubleFunction;

/**
 * Micrometer meters for one or more {@link HaNode}s, tagged {@code pgha.scope} and {@code pgha.member}.
 *
 * <p>Patroni's {@code /metrics} gauges keep Patroni's names (a Prometheus registry renders
 * {@code patroni.xlog.location} as {@code patroni_xlog_location}): {@code patroni.primary},
 * {@code patroni.replica}, {@code patroni.standby.leader}, {@code patroni.postgres.running},
 * {@code patroni.postgres.streaming}, {@code patroni.xlog.location}, {@code patroni.xlog.received.location},
 * {@code patroni.xlog.replayed.location}, {@code patroni.postgres.timeline}, {@code patroni.postgres.server.version},
 * {@code patroni.pending.restart}, {@code patroni.is.paused}, {@code patroni.cluster.unlocked},
 * {@code patroni.failsafe.mode.is.active}, {@code patroni.dcs.last.seen}. pgha's own:
 * {@code pgha.cycles} (HA cycles run), {@code pgha.cycle} (a timer: cycles finished and how long they took), {@code pgha.lease.renewal} (a timer, tag {@code outcome}
 * {@code renewed}/{@code lost}/{@code error}), {@code pgha.lease.renewal.failures},
 * {@code pgha.lease.since.renewal} (seconds since the last successful renewal; NaN before the first),
 * {@code pgha.fenced}, {@code pgha.failovers}, {@code pgha.switchovers}, {@code pgha.action.failures},
 * {@code pgha.role.changes}.
 *
 * <pre>{@code
 * PghaMetrics metrics = new PghaMetrics();
 * HaNode node = HaNode.builder()...
 *         .dcs(metrics.instrument(etcd))      // lease renewals: count, latency, failures
 *         .listener(metrics.listener())       // fences, failovers, switchovers, action failures
 *         .build();
 * metrics.add(node);                          // Patroni's gauges
 * metrics.bindTo(meterRegistry);              // or let Spring Boot bind the MeterBinder bean
 * }</pre>
 *
 * <p>The event counters and lease meters find a member by its name: one {@code PghaMetrics} serves
 * members with distinct names. A node added or a registry bound later gets every meter.
 */
public final class PghaMetrics implements MeterBinder {
    /** How one renewal ended. */
    enum RenewalOutcome {
        RENEWED, LOST, ERROR;

        String tag() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The counters of one member, fed by its events and its store session. */
    private static final class MemberCounters {
        final AtomicLong renewalFailures = new AtomicLong();
        final AtomicLong fenced = new AtomicLong();
        final AtomicLong failovers = new AtomicLong();
        final AtomicLong switchovers = new AtomicLong();
        final AtomicLong actionFailures = new AtomicLong();
        final AtomicLong roleChanges = new AtomicLong();
        /** ticker time of the last successful renewal; {@link Long#MIN_VALUE}: none yet */
        final AtomicLong lastRenewal = new AtomicLong(Long.MIN_VALUE);
        volatile String scope = "";
        /** "manual" or "automatic" once a cycle decided to promote, until the next role change */
        volatile String pendingPromotion;
    }

    private final Ticker ticker;
    private final List<HaNode> nodes = new CopyOnWriteArrayList<>();
    private final List<MeterRegistry> registries = new CopyOnWriteArrayList<>();
    private final Map<String, MemberCounters> members = new ConcurrentHashMap<>();

    /** Measures latencies with the system's monotonic clock. */
    public PghaMetrics() {
        this(Ticker.system());
    }

    /** Measures latencies and the time since the last renewal with {@code ticker} (the nodes' own, for virtual time). */
    public PghaMetrics(Ticker ticker) {
        this.ticker = Objects.requireNonNull(ticker, "ticker");
    }

    Ticker ticker() {
        return ticker;
    }

    /** The listener to add to each node's builder ({@link HaNode.Builder#listener}): counts fences, failovers, switchovers, failures. */
    public HaListener listener() {
        return this::onEvent;
    }

    /** Wraps a store so every member session opened through it times its lease renewals. */
    public Dcs instrument(Dcs dcs) {
        return new InstrumentedDcs(Objects.requireNonNull(dcs, "dcs"));
    }

    /** The store, opening instrumented sessions; its name says what it wraps (it appears in configuration errors). */
    private final class InstrumentedDcs implements Dcs {
        private final Dcs delegate;

        InstrumentedDcs(Dcs delegate) {
            this.delegate = delegate;
        }

        @Override
        public DcsSession open(SessionSpec spec) {
            return instrument(delegate.open(spec));
        }

        @Override
        public Duration leaseGuarantee(Duration ttl) {
            return delegate.leaseGuarantee(ttl);
        }

        @Override
        public void close() {
            delegate.close();
        }

        @Override
        public String toString() {
            return "InstrumentedDcs[" + delegate + "]";
        }
    }

    /** Wraps one store session so it times its lease renewals. */
    public DcsSession instrument(DcsSession session) {
        Objects.requireNonNull(session, "session");
        session.spec().member().ifPresent(m -> counters(m).scope = session.spec().scope());
        return new InstrumentedSession(session, this);
    }

    /** Adds a node's gauges (and its members' counters) to every registry bound now or later. */
    public PghaMetrics add(HaNode node) {
        Objects.requireNonNull(node, "node");
        counters(node.name()).scope = node.scope();
        nodes.add(node);
        for (MeterRegistry r : registries) {
            register(r, node);
        }
        return this;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        registries.add(registry);
        for (HaNode node : nodes) {
            register(registry, node);
        }
    }

    private MemberCounters counters(String member) {
        return members.computeIfAbsent(member, m -> new MemberCounters());
    }

    private void onEvent(HaEvent event) {
        MemberCounters c = counters(event.member());
        if (event instanceof HaEvent.Fenced) {
            c.fenced.incrementAndGet();
        } else if (event instanceof HaEvent.ActionFailed) {
            c.actionFailures.incrementAndGet();
        } else if (event instanceof HaEvent.Decision d && d.actions().stream().anyMatch(a -> a.startsWith("promote"))) {
            // the cycle that decides a promotion says why ("promoted self to leader by acquiring the session lock
            // (this member is the manual failover candidate)"); the role change comes cycles later, with another reason
            c.pendingPromotion = d.reason().contains("manual") ? "manual" : "automatic";
        } else if (event instanceof HaEvent.RoleChanged r) {
            c.roleChanges.incrementAndGet();
            String promotion = c.pendingPromotion;
            c.pendingPromotion = null;
            // a promotion, not a bootstrap or a restart of a primary that kept its lock
            if (r.to() == Role.PRIMARY && promotion != null) {
                (promotion.equals("manual") ? c.switchovers : c.failovers).incrementAndGet();
            }
        }
    }

    void renewed(SessionSpec spec, long startedAt, RenewalOutcome outcome) {
        String member = spec.member().orElse("");
        MemberCounters c = counters(member);
        long now = ticker.read();
        if (outcome == RenewalOutcome.RENEWED) {
            c.lastRenewal.set(now);
        } else {
            c.renewalFailures.incrementAndGet();
        }
        Tags tags = tags(spec.scope(), member).and("outcome", outcome.tag());
        for (MeterRegistry r : registries) {
            Timer.builder("pgha.lease.renewal").description("Leader lease renewals and how long the store took to answer")
                    .tags(tags).register(r).record(now - startedAt, TimeUnit.NANOSECONDS);
        }
    }

    private static Tags tags(String scope, String member) {
        return Tags.of("pgha.scope", scope, "pgha.member", member);
    }

    private void register(MeterRegistry r, HaNode node) {
        Tags tags = tags(node.scope(), node.name());
        MemberCounters c = counters(node.name());
        gauge(r, "patroni.primary", "1 if this node is the leader (a primary with the lock), 0 otherwise", tags, node,
                n -> role(n) == Role.PRIMARY && n.status().leaseValid() ? 1 : 0);
        gauge(r, "patroni.replica", "1 if this node is a replica, 0 otherwise", tags, node, n -> role(n) == Role.REPLICA ? 1 : 0);
        gauge(r, "patroni.standby.leader", "1 if this node is a standby cluster's standby leader, 0 otherwise", tags, node,
                n -> role(n) == Role.STANDBY_LEADER ? 1 : 0);
        gauge(r, "patroni.postgres.running", "1 if PostgreSQL is running, 0 otherwise", tags, node,
                n -> pg(n).map(PostgresState::isRunning).orElse(false) ? 1 : 0);
        gauge(r, "patroni.postgres.streaming", "1 if PostgreSQL streams from its upstream, 0 otherwise", tags, node,
                n -> pg(n).map(PostgresState::streaming).orElse(false) ? 1 : 0);
        gauge(r, "patroni.xlog.location", "The primary's WAL write position, 0 if this node is not the leader", tags, node,
                n -> role(n) == Role.PRIMARY ? pg(n).map(p -> p.writeLsn().value()).orElse(0L) : 0);
        gauge(r, "patroni.xlog.received.location", "The WAL received by this replica, 0 if it is not a replica", tags, node,
                n -> pg(n).filter(PostgresState::isRunningReplica).map(p -> p.receiveLsn().value()).orElse(0L));
        gauge(r, "patroni.xlog.replayed.location", "The WAL replayed by this replica, 0 if it is not a replica", tags, node,
                n -> pg(n).filter(PostgresState::isRunningReplica).map(p -> p.replayLsn().value()).orElse(0L));
        gauge(r, "patroni.postgres.timeline", "PostgreSQL's timeline, 0 if not running", tags, node,
                n -> pg(n).filter(PostgresState::isRunning).map(PostgresState::timeline).orElse(0));
        gauge(r, "patroni.postgres.server.version", "PostgreSQL's version number, 0 if not running", tags, node,
                n -> pg(n).filter(PostgresState::isRunning).map(PostgresState::serverVersion).orElse(0));
        gauge(r, "patroni.pending.restart", "1 if a changed setting waits for a restart, 0 otherwise", tags, node,
                n -> pg(n).filter(PostgresState::isRunning).map(p -> p.pendingRestart().isEmpty() ? 0 : 1).orElse(0));
        gauge(r, "patroni.is.paused", "1 if the cluster is in maintenance mode (no automatic failover), 0 otherwise", tags, node,
                n -> n.status().paused() ? 1 : 0);
        gauge(r, "patroni.cluster.unlocked", "1 if no member holds the leader key, 0 otherwise", tags, node,
                n -> n.status().leader().isEmpty() ? 1 : 0);
        gauge(r, "patroni.failsafe.mode.is.active", "1 if failsafe mode is active, 0 otherwise", tags, node,
                n -> n.failsafeActive() ? 1 : 0);
        gauge(r, "patroni.dcs.last.seen", "Epoch seconds of the last successful read of the store, 0 if none", tags, node,
                n -> n.status().dcsLastSeen().map(java.time.Instant::getEpochSecond).orElse(0L));
        FunctionCounter.builder("pgha.cycles", node, n -> n.status().cycles()).description("HA cycles run").tags(tags).register(r);
        io.micrometer.core.instrument.FunctionTimer.builder("pgha.cycle", node, n -> n.status().cyclesCompleted(),
                        n -> n.status().cycleTime().toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS)
                .description("HA cycles that finished and how long they took, from observing to writing the member entry")
                .tags(tags).register(r);
        counter(r, "pgha.lease.renewal.failures", "Lease renewals that lost the lease or failed", tags, c.renewalFailures);
        counter(r, "pgha.fenced", "Times the in-process fence stopped PostgreSQL's writes", tags, c.fenced);
        counter(r, "pgha.failovers", "Automatic promotions of this node after the leader was lost", tags, c.failovers);
        counter(r, "pgha.switchovers", "Promotions of this node on a switchover or manual failover request", tags, c.switchovers);
        counter(r, "pgha.action.failures", "Actions that failed (the engine goes on and decides again)", tags, c.actionFailures);
        counter(r, "pgha.role.changes", "Role changes of this node", tags, c.roleChanges);
        Gauge.builder("pgha.lease.since.renewal", c, m -> {
            long last = m.lastRenewal.get();
            return last == Long.MIN_VALUE ? Double.NaN : (ticker.read() - last) / 1e9;
        }).description("Seconds since the last successful leader-lease renewal; NaN before the first").baseUnit("seconds")
                .tags(tags).strongReference(true).register(r);
    }

    private static Role role(HaNode n) {
        return n.status().role();
    }

    private static java.util.Optional<PostgresState> pg(HaNode n) {
        NodeStatus s = n.status();
        return s.postgres();
    }

    private static void gauge(MeterRegistry r, String name, String help, Tags tags, HaNode node, ToDoubleFunction<HaNode> value) {
        Gauge.builder(name, node, value).description(help).tags(tags).strongReference(true).register(r);
    }

    private static void counter(MeterRegistry r, String name, String help, Tags tags, AtomicLong value) {
        FunctionCounter.builder(name, value, AtomicLong::get).description(help).tags(tags).register(r);
    }
}
