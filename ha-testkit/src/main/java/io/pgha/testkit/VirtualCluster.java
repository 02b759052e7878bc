package io.pgha.testkit;

import io.pgha.spi.support.ForwardingDcsSession;
import io.pgha.HaEvent;
import io.pgha.HaNode;
import io.pgha.MemberTags;
import io.pgha.internal.InternalAccess;
import io.pgha.internal.engine.HaEngine;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsSession;
import io.pgha.spi.Lsn;
import io.pgha.spi.PeerStatus;
import io.pgha.spi.RunState;
import io.pgha.spi.SessionSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

/**
 * A whole pgha cluster on one thread in {@link VirtualTime}: real {@link HaNode}s on an
 * {@link InMemoryDcs} and {@link FakePostgres} servers, peers answering each other's status
 * requests. Members can be killed and restarted (JVM and postmaster), paused (JVM frozen,
 * PostgreSQL running) and resumed, restarted gracefully, cut off from their peers' status requests,
 * and given a clock that runs fast or slow. The simulator builds on it; tests of your own HA logic
 * can too.
 */
public final class VirtualCluster {
    private static final Instant EPOCH = Instant.parse("2026-01-01T00:00:00Z");

    private final VirtualTime time = new VirtualTime();
    private final InMemoryDcs dcs;
    private final FakePostgres.Network network;
    private final VirtualTime.Owner net;
    private final List<Member> members = new ArrayList<>();
    private final String scope;
    private final BiConsumer<Member, HaNode.Builder> configure;
    private final BiConsumer<String, HaEvent> events;
    private final java.util.function.BiFunction<String, DcsSession, DcsSession> sessions;

    private VirtualCluster(Builder b) {
        this.scope = b.scope;
        this.configure = b.configure;
        this.events = b.events;
        this.sessions = b.sessions;
        this.network = new FakePostgres.Network(b.seed * 31 + 7);
        this.net = time.owner("net");
        this.dcs = InMemoryDcs.builder().time(time, time.owner("dcs").scheduler()).seed(b.seed * 17 + 3)
                .latency(b.minLatency, b.maxLatency).cachedReads(b.cachedReads).build();
        for (int i = 1; i <= b.nodes; i++) {
            members.add(new Member("n" + i, b.tags.apply(i)));
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link VirtualCluster}. */
    public static final class Builder {
        private int nodes = 3;
        private long seed = 1;
        private String scope = "virtual";
        private Duration minLatency = Duration.ofNanos(200_000);
        private Duration maxLatency = Duration.ofMillis(3);
        private boolean cachedReads = true;
        private IntFunction<MemberTags> tags = i -> MemberTags.DEFAULT;
        private BiConsumer<Member, HaNode.Builder> configure = (m, b) -> { };
        private BiConsumer<String, HaEvent> events = (m, e) -> { };
        private java.util.function.BiFunction<String, DcsSession, DcsSession> sessions = (m, s) -> s;

        private Builder() {
        }

        public Builder nodes(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("nodes: at least 1");
            }
            this.nodes = n;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder scope(String scope) {
            this.scope = Objects.requireNonNull(scope);
            return this;
        }

        /** One-way latency of store requests. */
        public Builder dcsLatency(Duration min, Duration max) {
            this.minLatency = min;
            this.maxLatency = max;
            return this;
        }

        /**
         * Whether members read the cluster from a copy their watch keeps, as from etcd's watch
         * cache: it lags the store, even behind a member's own writes (see
         * {@link InMemoryDcs.Builder#cachedReads}). On by default.
         */
        public Builder cachedReads(boolean cachedReads) {
            this.cachedReads = cachedReads;
            return this;
        }

        /** Tags of member {@code i} (1-based). */
        public Builder tags(IntFunction<MemberTags> tags) {
            this.tags = Objects.requireNonNull(tags);
            return this;
        }

        /** Adjusts each member's builder (timings, listeners, ...) after the virtual parts are set. */
        public Builder configure(BiConsumer<Member, HaNode.Builder> configure) {
            this.configure = Objects.requireNonNull(configure);
            return this;
        }

        /**
         * Wraps each member's store session (given the member's name), for a test that watches or
         * fails some of its calls; see {@link ForwardingDcsSession}.
         */
        public Builder sessions(java.util.function.BiFunction<String, DcsSession, DcsSession> wrap) {
            this.sessions = Objects.requireNonNull(wrap);
            return this;
        }

        /** Receives every member's events, in virtual-time order. */
        public Builder events(BiConsumer<String, HaEvent> events) {
            this.events = Objects.requireNonNull(events);
            return this;
        }

        public VirtualCluster build() {
            return new VirtualCluster(this);
        }
    }

    /** One member: an HaNode incarnation (replaced on restart) and its PostgreSQL (kept). */
    public final class Member {
        private final String name;
        private final MemberTags tags;
        private final FakePostgres pg;
        private final MachineClock clock = new MachineClock();
        private VirtualTime.Owner owner;
        private HaNode node;
        private HaEngine engine;
        private boolean dead = true;
        private boolean unreachableForPeers;
        private boolean peersUnreachable;

        private Member(String name, MemberTags tags) {
            this.name = name;
            this.tags = tags;
            this.pg = new FakePostgres(name, network, time, time.owner("pg-" + name).scheduler(), new FakePostgres.Timings());
        }

        public String name() {
            return name;
        }

        public MemberTags tags() {
            return tags;
        }

        public FakePostgres postgres() {
            return pg;
        }

        /** The current incarnation's node. */
        public HaNode node() {
            return node;
        }

        public boolean isDead() {
            return dead;
        }

        /** Starts a new incarnation of this member's node. */
        public void boot() {
            owner = time.owner(name + "@" + time.steps());
            VirtualTime.Owner jvm = owner;
            HaNode.Builder b = HaNode.builder()
                    .name(name).scope(scope)
                    .dcs(new io.pgha.spi.Dcs() {
                        @Override
                        public DcsSession open(SessionSpec spec) {
                            return sessions.apply(name, new JvmBoundSession(dcs.open(spec), jvm));
                        }

                        @Override
                        public Duration leaseGuarantee(Duration ttl) {
                            return dcs.leaseGuarantee(ttl);
                        }

                        @Override
                        public void close() {
                            // the store outlives its members
                        }
                    }).postgres(pg).tags(tags)
                    .ticker(clock).scheduler(clock.scheduler(owner.scheduler())).executor(Runnable::run)
                    .clock(new VirtualClock(time))
                    .apiUrl("http://" + name + ":8008/patroni")
                    .peerClient(new io.pgha.spi.PeerClient() {
                        @Override
                        public CompletionStage<Optional<PeerStatus>> fetch(String member, Optional<String> api, Duration timeout) {
                            return askPeer(Member.this, member);
                        }

                        @Override
                        public CompletionStage<Boolean> confirmFailsafe(String member, Optional<String> api,
                                                                        io.pgha.spi.FailsafeRequest request, Duration timeout) {
                            return askFailsafe(Member.this, member, request);
                        }
                    })
                    .listener(e -> events.accept(name, e));
            configure.accept(this, b);
            node = b.build();
            engine = InternalAccess.engine(node);
            dead = false;
            node.start();
        }

        /** The node's process dies: nothing it scheduled runs again; its lease expires in the store by itself. */
        public void killNode() {
            if (dead) {
                return;
            }
            engine.kill();
            owner.freeze();
            owner.discardAll();
            dead = true;
        }

        /**
         * A graceful stop of the current incarnation, then, {@code bootAfter} after it completed (a
         * service manager's back-off, a JVM starting), a new incarnation; nothing is booted if the
         * node was killed or booted by someone else meanwhile.
         */
        public void restart(Duration bootAfter) {
            if (dead) {
                return;
            }
            HaNode stopping = node;
            stopping.closeAsync().whenComplete((v, e) -> {
                if (node == stopping && !dead) {
                    exited();
                    net.scheduler().schedule(() -> {
                        if (node == stopping && dead) {
                            boot();
                        }
                    }, bootAfter.toNanos());
                }
            });
        }

        /** The process ends after a graceful stop: nothing it scheduled runs again. */
        private void exited() {
            owner.freeze();
            owner.discardAll();
            dead = true;
        }

        /**
         * Whether this member's REST API is cut off from its peers (a firewall rule, a hung HTTP
         * thread): their status requests get no answer while the node reaches the store as usual.
         */
        public void setUnreachableForPeers(boolean unreachable) {
            this.unreachableForPeers = unreachable;
        }

        public boolean isUnreachableForPeers() {
            return unreachableForPeers;
        }

        /**
         * Whether this member cannot reach its peers' REST APIs either (with
         * {@link #setUnreachableForPeers}: a split of the peer network): its own status requests get
         * no answer.
         */
        public void setPeersUnreachable(boolean unreachable) {
            this.peersUnreachable = unreachable;
        }

        public boolean arePeersUnreachable() {
            return peersUnreachable;
        }

        /**
         * This member's machine clock runs at {@code rate} against true time from now on: its
         * node's ticker and timers, and its PostgreSQL's out-of-process fence, all run on it. The
         * store and the other members keep true time.
         */
        public void setClockRate(double rate) {
            clock.setRate(rate);
            pg.machineClockRate(rate);
        }

        public double clockRate() {
            return clock.rate;
        }

        /** The node's JVM freezes; PostgreSQL keeps running. */
        public void pause() {
            owner.freeze();
        }

        public void resume() {
            owner.thaw();
        }

        public boolean isPaused() {
            return owner != null && owner.isFrozen();
        }

        /** The HA loop gets stuck (its lease guard does not). */
        public void setLoopStuck(boolean stuck) {
            if (!dead) {
                engine.setLoopFrozen(stuck);
            }
        }

        /** Graceful stop of the current incarnation; the stage completes in virtual time. */
        public CompletableFuture<Void> stopGracefully() {
            CompletableFuture<Void> f = node.closeAsync().toCompletableFuture();
            f.whenComplete((v, e) -> dead = true);
            return f;
        }

        /** Whether this member's PostgreSQL is a running replica streaming straight from {@code primary}'s. */
        public boolean followsStreaming(Member primary) {
            return pg.isRunningReplica() && pg.isStreaming()
                    && pg.upstream().map(u -> u.connectionUrl().equals(primary.pg.connectionUrl())).orElse(false);
        }

        /** What this member would answer to a peer's status request. */
        public PeerStatus peerStatus() {
            boolean running = pg.runState() == RunState.RUNNING;
            return PeerStatus.builder(name).running(running).inRecovery(pg.isRunningReplica())
                    .walPosition(Lsn.of(pg.walRecords() * FakePostgres.LSN_STEP)).timeline(pg.timeline())
                    .nofailover(tags.nofailover()).failoverPriority(tags.failoverPriority())
                    .failsafeActive(engine != null && engine.failsafeActive()).build();
        }

        @Override
        public String toString() {
            return name + (dead ? " (dead)" : "") + " " + pg;
        }
    }

    public VirtualTime time() {
        return time;
    }

    public InMemoryDcs dcs() {
        return dcs;
    }

    public String scope() {
        return scope;
    }

    public List<Member> members() {
        return List.copyOf(members);
    }

    public Member member(String name) {
        return members.stream().filter(m -> m.name.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no member " + name));
    }

    /** Boots every member. */
    public VirtualCluster start() {
        members.forEach(Member::boot);
        return this;
    }

    /** An observer session for operator actions (a switchover request, a config edit). */
    public DcsSession operator() {
        return dcs.open(SessionSpec.observer(scope, Duration.ofSeconds(1)));
    }

    /** Members whose PostgreSQL accepts writes right now. */
    public List<Member> writers() {
        return members.stream().filter(m -> m.pg.acceptsWrites()).toList();
    }

    /** Who the leader key names. */
    public Optional<String> leaderKey() {
        return dcs.peek(scope, ClusterKey.LEADER);
    }

    /** One writable primary holding the leader key, every other live member a replica streaming from it. */
    public boolean isHealthy() {
        List<Member> w = writers();
        if (w.size() != 1 || !leaderKey().map(w.get(0).name::equals).orElse(false)) {
            return false;
        }
        return members.stream().filter(m -> m != w.get(0) && !m.dead).allMatch(m -> m.followsStreaming(w.get(0)));
    }

    public boolean runUntil(BooleanSupplier condition, Duration limit) {
        return time.runUntil(condition, limit);
    }

    public void advance(Duration d) {
        time.advance(d);
    }

    private CompletableFuture<java.util.Optional<PeerStatus>> askPeer(Member asker, String member) {
        CompletableFuture<Optional<PeerStatus>> f = new CompletableFuture<>();
        Member target = members.stream().filter(m -> m.name.equals(member)).findFirst().orElse(null);
        if ((target != null && target.unreachableForPeers) || asker.peersUnreachable) {
            return f; // no answer at all: the asking node's peer timeout decides
        }
        if (target == null || target.dead) {
            net.scheduler().schedule(() -> f.completeExceptionally(new java.net.ConnectException("connection refused")),
                    Duration.ofMillis(1).toNanos());
            return f;
        }
        // answered by the peer's own JVM: a frozen peer does not answer at all
        target.owner.scheduler().schedule(() -> f.complete(Optional.of(target.peerStatus())), Duration.ofMillis(1).toNanos());
        return f;
    }

    /** A primary's {@code POST /failsafe} to a member, over the same simulated network as a status request. */
    private CompletableFuture<Boolean> askFailsafe(Member asker, String member, io.pgha.spi.FailsafeRequest request) {
        CompletableFuture<Boolean> f = new CompletableFuture<>();
        Member target = members.stream().filter(m -> m.name.equals(member)).findFirst().orElse(null);
        if ((target != null && target.unreachableForPeers) || asker.peersUnreachable) {
            return f; // no answer at all: the asking node's timeout decides
        }
        if (target == null || target.dead) {
            net.scheduler().schedule(() -> f.completeExceptionally(new java.net.ConnectException("connection refused")),
                    Duration.ofMillis(1).toNanos());
            return f;
        }
        // answered by the member's own JVM: a frozen member does not answer at all
        target.owner.scheduler().schedule(() -> f.complete(target.engine.acceptFailsafe(request)
                instanceof io.pgha.internal.engine.FailsafeAnswer.Accepted), Duration.ofMillis(1).toNanos());
        return f;
    }

    /**
     * A member's store session as its JVM sees it: every answer, watch event and lease notice is
     * handed over on that member's own scheduler, so a paused member hears nothing until it resumes,
     * as a frozen JVM would (its client library's threads are frozen too).
     */
    private static final class JvmBoundSession extends ForwardingDcsSession {
        private final VirtualTime.Owner jvm;

        JvmBoundSession(DcsSession delegate, VirtualTime.Owner jvm) {
            super(delegate);
            this.jvm = jvm;
        }

        private <T> CompletionStage<T> onJvm(CompletionStage<T> stage) {
            CompletableFuture<T> f = new CompletableFuture<>();
            stage.whenComplete((v, e) -> jvm.scheduler().schedule(() -> {
                if (e != null) {
                    f.completeExceptionally(e);
                } else {
                    f.complete(v);
                }
            }, 0));
            return f;
        }

        @Override
        public CompletionStage<io.pgha.spi.ClusterSnapshot> read() {
            return onJvm(super.read());
        }

        @Override
        public CompletionStage<io.pgha.spi.ClusterSnapshot> readAuthoritative() {
            return onJvm(super.readAuthoritative());
        }

        @Override
        public CompletionStage<Boolean> acquireLeader() {
            return onJvm(super.acquireLeader());
        }

        @Override
        public CompletionStage<Boolean> renewLeader(Optional<String> status) {
            return onJvm(super.renewLeader(status));
        }

        @Override
        public CompletionStage<Boolean> releaseLeader() {
            return onJvm(super.releaseLeader());
        }

        @Override
        public CompletionStage<Void> touchMember(String value) {
            return onJvm(super.touchMember(value));
        }

        @Override
        public CompletionStage<Boolean> compareAndSet(ClusterKey key, String value, long expectedVersion) {
            return onJvm(super.compareAndSet(key, value, expectedVersion));
        }

        @Override
        public CompletionStage<Boolean> compareAndDelete(ClusterKey key, long expectedVersion) {
            return onJvm(super.compareAndDelete(key, expectedVersion));
        }

        @Override
        public CompletionStage<Void> deleteCluster() {
            return onJvm(super.deleteCluster());
        }

        @Override
        public io.pgha.spi.Subscription watch(io.pgha.spi.DcsListener listener) {
            return super.watch(new io.pgha.spi.DcsListener() {
                @Override
                public void clusterChanged(Optional<String> path) {
                    jvm.scheduler().schedule(() -> listener.clusterChanged(path), 0);
                }

                @Override
                public void leaseLost(String reason) {
                    jvm.scheduler().schedule(() -> listener.leaseLost(reason), 0);
                }
            });
        }
    }

    /**
     * A member machine's monotonic clock: true virtual time scaled by a rate that can change (a
     * drifting oscillator). Readings stay continuous when the rate changes; a timer of {@code d}
     * on this clock fires after {@code d / rate} of true time.
     */
    private final class MachineClock implements io.pgha.Ticker {
        private double rate = 1.0;
        private long anchorTrue = time.read();
        private long anchorLocal = time.read();

        @Override
        public long read() {
            return anchorLocal + (long) ((time.read() - anchorTrue) * rate);
        }

        void setRate(double next) {
            if (!(next > 0)) {
                throw new IllegalArgumentException("clock rate must be positive, got " + next);
            }
            anchorLocal = read();
            anchorTrue = time.read();
            rate = next;
        }

        io.pgha.TaskScheduler scheduler(io.pgha.TaskScheduler trueTime) {
            return (task, delayNanos) -> trueTime.schedule(task, rate == 1.0 ? delayNanos : (long) Math.ceil(delayNanos / rate));
        }
    }

    /** Wall-clock time that follows the virtual ticker (for scheduled switchovers and history). */
    static final class VirtualClock extends Clock {
        private final VirtualTime time;

        VirtualClock(VirtualTime time) {
            this.time = time;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return EPOCH.plusNanos(time.elapsed().toNanos());
        }
    }
}
