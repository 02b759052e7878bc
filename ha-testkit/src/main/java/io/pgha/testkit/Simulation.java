package io.pgha.testkit;

import io.pgha.HaEvent;
import io.pgha.HaNode;
import io.pgha.MemberTags;
import io.pgha.SynchronousMode;
import io.pgha.internal.InternalAccess;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.engine.PlantedBug;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

/**
 * The deterministic cluster simulator: N {@link HaNode}s, an {@link InMemoryDcs} and N
 * {@link FakePostgres} servers on one thread in {@link VirtualTime}, a client writing continuously,
 * and faults drawn from a seed. Invariants are checked after every step:
 * <ol>
 *   <li>never two servers accepting writes at the same virtual instant;</li>
 *   <li>in synchronous mode, no acknowledged commit is missing from the final primary;</li>
 *   <li>after the faults heal, exactly one primary (holding the leader key) with every other
 *       member streaming from it, within {@link Config#convergenceBound()}.</li>
 * </ol>
 * Members read the store through a lagging watch cache (see {@link VirtualCluster.Builder#cachedReads}).
 * The same seed replays the same run exactly; a failure names the seed and the command that replays it.
 */
public final class Simulation {

    /** What can go wrong during a run. */
    public enum Fault {
        /** The node's JVM and its postmaster are killed; both come back later. */
        NODE_CRASH,
        /** The node's JVM freezes (stop-the-world, SIGSTOP) for longer than the ttl; PostgreSQL keeps running. */
        NODE_PAUSE,
        /** The node cannot reach the store. */
        DCS_PARTITION,
        /** The whole store refuses connections; when it is back every lease has been extended by a ttl. */
        DCS_OUTAGE,
        /**
         * The whole store stops answering (SIGSTOP): calls time out, the requests are applied late
         * when it resumes, their answers lost, and every lease whose ttl ran out ends at once.
         */
        DCS_FREEZE,
        /**
         * The node's read cache skips the changes its watch delivers while claiming their revision
         * (etcd#15220), and stays wrong about them after the fault until the node reads from the
         * store itself.
         */
        STALE_READS,
        /** Half of the node's store requests are applied but their answers are lost (the outcome of a write is unknown). */
        LOST_REPLIES,
        /** Only the postmaster dies; the node's JVM stays. */
        POSTGRES_CRASH,
        /** Promotions take up to twice the ttl. */
        SLOW_PROMOTE,
        /** The node's HA loop is stuck (its lease guard is not). */
        LOOP_STUCK,
        /** An operator asks for a switchover (or a failover) through the store. */
        SWITCHOVER
    }

    /**
     * One run's parameters, all drawn from the seed by {@link #forSeed}.
     *
     * @param faultPhase how long faults are injected after the cluster formed
     * @param maxFaults  at most this many faults per run (at least one)
     */
    public record Config(long seed, int nodes, SynchronousMode syncMode, Set<Fault> faults, Set<PlantedBug> bugs,
                         Duration ttl, Duration loopWait, Duration retryTimeout, Duration primaryStartTimeout,
                         long maximumLagOnFailover, Duration faultPhase, int maxFaults) {
        public Config {
            faults = Set.copyOf(faults);
            bugs = Set.copyOf(bugs);
        }

        /** Draws nodes (3 or 5), synchronous mode, timings and fault budget from the seed; all fault kinds enabled. */
        public static Config forSeed(long seed) {
            Random r = new Random(seed ^ 0x5DEECE66DL);
            int nodes = r.nextInt(3) == 0 ? 5 : 3;
            SynchronousMode mode = switch (r.nextInt(4)) {
                case 0 -> SynchronousMode.ON;
                case 1 -> SynchronousMode.STRICT;
                default -> SynchronousMode.OFF;
            };
            long[] ttls = {3, 5, 10, 20};
            Duration ttl = Duration.ofSeconds(ttls[r.nextInt(ttls.length)]);
            Duration loopWait = Duration.ofMillis(Math.max(200, (long) (ttl.toMillis() * (0.1 + 0.23 * r.nextDouble()))));
            long retryMax = (ttl.toMillis() - loopWait.toMillis()) / 2;
            Duration retry = Duration.ofMillis(Math.max(200, (long) (retryMax * (0.4 + 0.6 * r.nextDouble()))));
            Duration startTimeout = switch (r.nextInt(3)) {
                case 0 -> Duration.ZERO;
                case 1 -> ttl;
                default -> ttl.multipliedBy(3);
            };
            long lag = r.nextBoolean() ? 1024 * 1024 : 16 * 1024;
            return new Config(seed, nodes, mode, EnumSet.allOf(Fault.class), Set.of(), ttl, loopWait, retry, startTimeout, lag,
                    Duration.ofSeconds(60), 4);
        }

        public Config withBugs(Set<PlantedBug> b) {
            return new Config(seed, nodes, syncMode, faults, b, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults);
        }

        public Config withFaults(Set<Fault> f) {
            return new Config(seed, nodes, syncMode, f, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults);
        }

        /**
         * The stated bound for one primary after the last fault healed: two ttls (a stale lease
         * expiring, then a lease taken by a node that dies in between can only be that old), three
         * cycles plus a retry timeout (noticing, racing, being woken late), a restart with crash
         * recovery, a clone or rewind, and a promotion: {@code 2 ttl + 3 loop_wait + retry_timeout + 5 s}.
         */
        public Duration convergenceBound() {
            return ttl.multipliedBy(2).plus(loopWait.multipliedBy(3)).plus(retryTimeout).plusSeconds(5);
        }
    }

    /**
     * The outcome of one run.
     *
     * @param violation    the first invariant broken, if any
     * @param convergence  time from the heal to one primary (when reached)
     * @param acked        commits acknowledged to the client
     * @param lostAcked    acknowledged commits missing from the final primary (must be 0 in synchronous mode)
     * @param leaderChanges how many times the leader key changed hands
     */
    public record Result(Config config, Optional<String> violation, Optional<Duration> convergence, long steps,
                         Duration virtualTime, int acked, int lostAcked, int leaderChanges, List<String> faults,
                         List<String> trace) {
        public boolean ok() {
            return violation.isEmpty();
        }

        /** A report for a failed run: the violation, the seed, how to replay, and the last events. */
        public String report() {
            StringBuilder sb = new StringBuilder();
            sb.append("simulation seed ").append(config.seed()).append(" FAILED: ").append(violation.orElse("-")).append('\n');
            sb.append("replay: ").append(replayCommand(config)).append('\n');
            sb.append("config: ").append(config).append('\n');
            sb.append("faults: ").append(faults).append('\n');
            sb.append("last events:\n");
            trace.forEach(l -> sb.append("  ").append(l).append('\n'));
            return sb.toString();
        }
    }

    /** The one command that replays a seed. */
    public static String replayCommand(long seed) {
        return "./mvnw -q -pl ha-testkit -am test -Dsurefire.failIfNoSpecifiedTests=false "
                + "-Dtest=SimulationTest#replaysOneSeed -Dpgha.sim.seed=" + seed;
    }

    /** The command that replays a run, with its faults and planted bugs when they are not the seed's defaults. */
    public static String replayCommand(Config config) {
        StringBuilder sb = new StringBuilder(replayCommand(config.seed()));
        if (!config.faults().equals(Config.forSeed(config.seed()).faults())) {
            sb.append(" -Dpgha.sim.faults=").append(String.join(",", config.faults().stream().map(Enum::name).sorted().toList()));
        }
        if (!config.bugs().isEmpty()) {
            sb.append(" -Dpgha.sim.bugs=").append(String.join(",", config.bugs().stream().map(Enum::name).sorted().toList()));
        }
        return sb.toString();
    }

    public static Result run(Config config) {
        return new Simulation(config).execute();
    }

    // ============================================================================ one run

    private static final int TRACE_LINES = 300;

    private final Config cfg;
    private final Random random;
    private final VirtualCluster cluster;
    private final VirtualTime time;
    private final InMemoryDcs dcs;
    private final VirtualTime.Owner faultOwner;
    private final VirtualTime.Owner clientOwner;
    private final ArrayDeque<String> trace = new ArrayDeque<>();
    private final List<String> faultLog = new ArrayList<>();
    private final Set<Long> acked = new HashSet<>();
    private String violation;
    private Optional<String> lastLeader = Optional.empty();
    private int leaderChanges;
    private final DcsSession operator;

    private Simulation(Config cfg) {
        this.cfg = Objects.requireNonNull(cfg);
        this.random = new Random(cfg.seed());
        Random tagDraw = new Random(cfg.seed() * 7 + 1);
        MemberTags[] tags = new MemberTags[cfg.nodes() + 1];
        for (int i = 1; i <= cfg.nodes(); i++) {
            tags[i] = i > 1 && tagDraw.nextInt(6) == 0 ? MemberTags.DEFAULT.withFailoverPriority(2) : MemberTags.DEFAULT;
        }
        this.cluster = VirtualCluster.builder().nodes(cfg.nodes()).seed(cfg.seed()).scope("sim")
                .tags(i -> tags[i])
                .configure((m, b) -> {
                    b.ttl(cfg.ttl()).loopWait(cfg.loopWait()).retryTimeout(cfg.retryTimeout())
                            .primaryStartTimeout(cfg.primaryStartTimeout())
                            .maximumLagOnFailover(cfg.maximumLagOnFailover())
                            .synchronousMode(cfg.syncMode())
                            .peerTimeout(Duration.ofMillis(Math.min(2000, cfg.retryTimeout().toMillis())));
                    cfg.bugs().forEach(bug -> InternalAccess.plantBug(b, bug));
                })
                .events(this::onEvent)
                .build();
        this.time = cluster.time();
        this.dcs = cluster.dcs();
        this.faultOwner = time.owner("faults");
        this.clientOwner = time.owner("client");
        this.operator = cluster.operator();
    }

    private void onEvent(String member, HaEvent e) {
        String line;
        if (e instanceof HaEvent.Decision d) {
            line = d.reason() + (d.actions().isEmpty() ? "" : " " + d.actions());
        } else if (e instanceof HaEvent.RoleChanged r) {
            line = "ROLE " + r.from() + " -> " + r.to();
        } else if (e instanceof HaEvent.LeaderChanged l) {
            line = "LEADER " + l.from().orElse("-") + " -> " + l.to().orElse("-");
        } else if (e instanceof HaEvent.Fenced f) {
            line = "FENCED " + f.reason();
        } else if (e instanceof HaEvent.ActionFailed a) {
            line = "FAILED " + a.action() + ": " + a.error();
        } else {
            line = "NODE FAILED " + ((HaEvent.NodeFailed) e).reason();
        }
        note(member + ": " + line);
    }

    private Result execute() {
        time.afterEachStep(this::checkStep);
        cluster.start();

        Optional<Duration> convergence = Optional.empty();
        if (!time.runUntil(cluster::isHealthy, Duration.ofSeconds(120))) {
            fail("the cluster did not form within 120 s of virtual time");
        }
        if (violation == null) {
            startClient();
            long faultStart = time.read();
            List<Runnable> heals = injectFaults();
            time.runUntil(faultStart + cfg.faultPhase().toNanos());
            long healAt = time.read();
            note("--- heal all faults");
            heals.forEach(Runnable::run);
            if (violation == null) {
                boolean converged = time.runUntil(() -> violation != null || converged(), cfg.convergenceBound());
                if (violation == null) {
                    if (!converged) {
                        fail("no single primary with every member streaming from it within the convergence bound "
                                + cfg.convergenceBound().toMillis() + " ms after the heal: " + cluster.members()
                                + " (leader key: " + cluster.leaderKey().orElse("none") + ")");
                    } else {
                        convergence = Optional.of(Duration.ofNanos(time.read() - healAt));
                        time.advance(cfg.ttl().multipliedBy(2));
                        if (violation == null && !converged()) {
                            fail("the single primary did not last: " + describeWriters());
                        }
                    }
                }
            }
        }
        int lost = 0;
        List<VirtualCluster.Member> writers = cluster.writers();
        if (writers.size() == 1) {
            for (long id : acked) {
                if (!writers.get(0).postgres().contains(id)) {
                    lost++;
                }
            }
        }
        if (violation == null && cfg.syncMode().enabled() && lost > 0) {
            fail(lost + " acknowledged commits are missing from the final primary " + writers.get(0).name() + " in synchronous mode");
        }
        return new Result(cfg, Optional.ofNullable(violation), convergence, time.steps(), time.elapsed(), acked.size(), lost,
                leaderChanges, faultLog, List.copyOf(trace));
    }

    // ------------------------------------------------------------------ invariants

    private void checkStep() {
        if (violation != null) {
            return;
        }
        if (cluster.writers().size() > 1) {
            fail("two servers accept writes at the same instant: " + describeWriters());
        }
        Optional<String> leader = cluster.leaderKey();
        if (!leader.equals(lastLeader)) {
            leaderChanges++;
            note("store: leader " + lastLeader.orElse("-") + " -> " + leader.orElse("-"));
            lastLeader = leader;
        }
    }

    private String describeWriters() {
        return cluster.writers().stream().map(m -> m.postgres().toString()).toList()
                + " (leader key: " + cluster.leaderKey().orElse("none") + ")";
    }

    /** Exactly one writable primary, holding the leader key, and every other member streaming from it. */
    private boolean converged() {
        return cluster.isHealthy();
    }

    private void fail(String why) {
        if (violation == null) {
            violation = why + " at " + time.elapsed().toMillis() + " ms";
            note("!!! " + violation);
        }
    }

    private void note(String line) {
        if (trace.size() == TRACE_LINES) {
            trace.poll();
        }
        trace.add(String.format(Locale.ROOT, "%9.3f %s", time.elapsed().toNanos() / 1e9, line));
    }

    // ------------------------------------------------------------------ workload

    private void startClient() {
        clientOwner.scheduler().schedule(new Runnable() {
            @Override
            public void run() {
                for (VirtualCluster.Member m : cluster.members()) {
                    m.postgres().write(acked::add);
                }
                clientOwner.scheduler().schedule(this, Duration.ofMillis(40 + random.nextInt(60)).toNanos());
            }
        }, 0);
    }

    // ------------------------------------------------------------------ faults

    private List<Runnable> injectFaults() {
        List<Runnable> heals = new ArrayList<>();
        List<Fault> kinds = new ArrayList<>(cfg.faults());
        kinds.sort(null);
        if (kinds.isEmpty()) {
            return heals;
        }
        int count = 1 + random.nextInt(cfg.maxFaults());
        List<VirtualCluster.Member> nodes = cluster.members();
        long phase = cfg.faultPhase().toNanos();
        for (int i = 0; i < count; i++) {
            Fault kind = kinds.get(random.nextInt(kinds.size()));
            long at = (long) (random.nextDouble() * phase * 0.7);
            long ttl = cfg.ttl().toNanos();
            long length = (long) (ttl * (1.1 + 2 * random.nextDouble()));
            int pick = random.nextInt(cfg.nodes());
            boolean preferLeader = random.nextInt(3) > 0;
            FaultRun run = new FaultRun(kind, pick, preferLeader, length);
            faultOwner.scheduler().schedule(run::begin, at);
            heals.add(run::end);
        }
        return heals;
    }

    /** One fault: begins at its time, ends after its length or at the heal, whichever comes first. */
    private final class FaultRun {
        final Fault kind;
        final int pick;
        final boolean preferLeader;
        final long length;
        VirtualCluster.Member target;
        boolean begun;
        boolean ended;

        FaultRun(Fault kind, int pick, boolean preferLeader, long length) {
            this.kind = kind;
            this.pick = pick;
            this.preferLeader = preferLeader;
            this.length = length;
        }

        void begin() {
            if (ended) {
                return;
            }
            begun = true;
            target = cluster.members().get(pick);
            if (preferLeader) {
                Optional<String> leader = cluster.leaderKey();
                target = cluster.members().stream().filter(n -> leader.map(n.name()::equals).orElse(false)).findFirst().orElse(target);
            }
            String what = kind + " on " + (kind == Fault.DCS_OUTAGE || kind == Fault.DCS_FREEZE ? "the store" : target.name()) + " for "
                    + Duration.ofNanos(length).toMillis() + " ms";
            faultLog.add(String.format(Locale.ROOT, "%.3f %s", time.elapsed().toNanos() / 1e9, what));
            note("--- fault: " + what);
            switch (kind) {
                case NODE_CRASH -> {
                    if (target.isDead()) {
                        return;
                    }
                    target.killNode();
                    target.postgres().crash();
                }
                case NODE_PAUSE -> target.pause();
                case DCS_PARTITION -> dcs.partition(target.name());
                case DCS_OUTAGE -> dcs.setOutage(true);
                case DCS_FREEZE -> dcs.setFrozen(true);
                case STALE_READS -> dcs.staleReads(target.name(), true);
                case LOST_REPLIES -> dcs.loseReplies(target.name(), true);
                case POSTGRES_CRASH -> target.postgres().crash();
                case SLOW_PROMOTE -> {
                    target.postgres().timings().minPromote = cfg.ttl().dividedBy(2);
                    target.postgres().timings().maxPromote = cfg.ttl().multipliedBy(2);
                }
                case LOOP_STUCK -> target.setLoopStuck(true);
                case SWITCHOVER -> requestSwitchover();
            }
            faultOwner.scheduler().schedule(this::end, length);
        }

        void end() {
            if (ended) {
                return;
            }
            ended = true;
            if (!begun) {
                return;
            }
            note("--- end of fault: " + kind + (target == null ? "" : " on " + target.name()));
            switch (kind) {
                case NODE_CRASH -> {
                    if (target.isDead()) {
                        target.boot();
                    }
                }
                case NODE_PAUSE -> target.resume();
                case DCS_PARTITION -> dcs.heal(target.name());
                case DCS_OUTAGE -> dcs.setOutage(false);
                case DCS_FREEZE -> {
                    dcs.setFrozen(false);
                    misleadCachesAfterTheStoreResumed();
                }
                case STALE_READS -> dcs.staleReads(target.name(), false);
                case LOST_REPLIES -> dcs.loseReplies(target.name(), false);
                case POSTGRES_CRASH, SWITCHOVER -> {
                }
                case SLOW_PROMOTE -> {
                    FakePostgres.Timings defaults = new FakePostgres.Timings();
                    target.postgres().timings().minPromote = defaults.minPromote;
                    target.postgres().timings().maxPromote = defaults.maxPromote;
                }
                case LOOP_STUCK -> target.setLoopStuck(false);
            }
        }

        /**
         * A watch that catches up on a backlog is where an early progress report misleads a cache
         * (etcd#15220): right after the store resumes, each member's copy may skip what its watch
         * delivers for up to a second, which is when the members race for the leader key.
         */
        private void misleadCachesAfterTheStoreResumed() {
            for (VirtualCluster.Member m : cluster.members()) {
                if (random.nextBoolean()) {
                    long window = (long) (random.nextDouble() * Duration.ofSeconds(1).toNanos());
                    note("--- " + m.name() + "'s read cache skips changes for " + Duration.ofNanos(window).toMillis() + " ms");
                    dcs.staleReads(m.name(), true);
                    faultOwner.scheduler().schedule(() -> dcs.staleReads(m.name(), false), window);
                }
            }
        }

        private void requestSwitchover() {
            Optional<String> leader = cluster.leaderKey();
            List<String> others = cluster.members().stream().map(VirtualCluster.Member::name)
                    .filter(n -> !leader.map(n::equals).orElse(false)).toList();
            boolean named = random.nextBoolean();
            Optional<String> candidate = named ? Optional.of(others.get(random.nextInt(others.size()))) : Optional.empty();
            if (cfg.syncMode().enabled() && leader.isEmpty()) {
                // naming a candidate with no leader to name is an explicit failover, which may pick an
                // asynchronous node on purpose: the operator would accept the loss, the invariant would not
                candidate = Optional.empty();
            }
            // a failover to a named member without naming the leader may pick an asynchronous node on
            // purpose (the operator accepts the loss), so in synchronous mode the operator names the leader
            boolean nameLeader = candidate.isEmpty() || cfg.syncMode().enabled() || random.nextBoolean();
            String value = ClusterCodec.encodeFailover(leader.filter(l -> nameLeader), candidate, Optional.empty());
            operator.compareAndSet(ClusterKey.FAILOVER, value, DcsEntry.ABSENT);
        }
    }
}
