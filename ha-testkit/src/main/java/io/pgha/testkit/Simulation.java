package io.pgha.testkit;

import io.pgha.HaEvent;
import io.pgha.HaNode;
import io.pgha.HaSettings;
import io.pgha.MemberTags;
import io.pgha.SynchronousMode;
import io.pgha.internal.InternalAccess;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.decision.PlantedBug;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

/**
 * The deterministic cluster simulator: N {@link HaNode}s, an {@link InMemoryDcs} and N
 * {@link FakePostgres} servers on one thread in {@link VirtualTime}, a client writing continuously,
 * and faults drawn from a seed. Invariants ({@link Invariant}) are checked after every step:
 * <ol>
 *   <li>never two servers accepting writes at the same virtual instant;</li>
 *   <li>in synchronous mode, no acknowledged commit is missing from a newly promoted primary nor
 *       from the final one;</li>
 *   <li>in asynchronous mode, an automatic failover loses at most {@code maximum_lag_on_failover}
 *       bytes of acknowledged commits, and none that another member it could ask held;</li>
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
        /**
         * The whole store refuses connections; when it is back every lease has been extended by a
         * ttl, and the members' watches catch up on the backlog, which can mislead their read
         * caches for up to a second (as after {@link #DCS_FREEZE}).
         */
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
        /** The node's promotions take up to twice the ttl (aimed at the leader, it hits the likeliest successor). */
        SLOW_PROMOTE,
        /** The node's HA loop is stuck (its lease guard is not). */
        LOOP_STUCK,
        /** An operator asks for a switchover (or a failover) through the store. */
        SWITCHOVER,
        /**
         * The node's JVM dies (an OutOfMemoryError, {@code kill -9} of the agent alone); PostgreSQL
         * keeps running, as the primary if it was one, with only the out-of-process fence armed. The
         * agent is booted again when the fault ends.
         */
        AGENT_CRASH,
        /**
         * The agent is stopped gracefully and booted again once the stop completed and up to a ttl
         * more went by (a deployment, a service manager's restart with its back-off and a JVM
         * starting). In half the draws the node's PostgreSQL refuses graceful stops meanwhile, so the
         * stop fails while the server keeps accepting writes.
         */
        AGENT_RESTART,
        /**
         * The node's REST API is unreachable for its peers (a hung HTTP server, a firewall rule)
         * while the node reaches the store as usual: peers asking for its status during a leader
         * race get no answer. In half the draws the peer network is split both ways: the node's own
         * status requests get no answer either. A fault of this kind that would aim at the leader
         * aims at the member whose answer matters in the next race instead: the synchronous
         * standby, else the standby with the most WAL.
         */
        PEER_PARTITION,
        /**
         * The node's PostgreSQL refuses graceful stops (a backend that does not exit): fast and
         * smart stops fail and the server keeps accepting writes. In a third of the draws every stop
         * fails, an immediate one too (the stop command cannot run), and only the out-of-process
         * fence can still kill the postmaster.
         */
        STOP_FAILS,
        /**
         * The store's answers to the node come back late, each after it took effect: delayed by up
         * to just under retry_timeout, and in a quarter of the draws by up to 1.5 retry_timeout, so
         * some calls time out although the store applied them.
         */
        SLOW_REPLIES,
        /**
         * The node's machine clock runs fast or slow against the store's: its ticker, its timers and
         * its PostgreSQL's out-of-process fence all run on it. The engine counts the ttl on its own
         * ticker while the store counts it on its own, so a slow clock makes a node believe in its
         * lease for longer than the store keeps it; the lease math tolerates a clock that runs slow
         * by less than {@link Config#toleratedSlowDrift()} (the fences fire early enough by the
         * margin). The drift is drawn within {@link Config#clockDrift()} times that bound: by
         * default within it.
         */
        CLOCK_DRIFT
    }

    /** What the checker holds the cluster to; a failed run names the one it broke first. */
    public enum Invariant {
        /**
         * The cluster formed (one primary, every member streaming) within 120 s of virtual time, before
         * the fault phase: with {@link Config#formationFaults()}, after its answers stopped being lost.
         */
        CLUSTER_FORMS("the cluster forms"),
        /** Never two servers accepting writes at the same virtual instant. */
        SINGLE_WRITER("never two writable primaries"),
        /**
         * In synchronous mode, no acknowledged commit is missing from a newly promoted primary nor
         * from the final primary.
         */
        NO_ACKNOWLEDGED_COMMIT_LOST("no acknowledged commit lost in synchronous mode"),
        /**
         * In asynchronous mode, an automatic failover (a promotion not asked for by an operator)
         * loses at most {@code maximum_lag_on_failover} bytes ({@link FakePostgres#LSN_STEP} per
         * commit) of the acknowledged commits up to the optime the old leader last published in the
         * store. This is the bound Patroni documents and pgha keeps: a candidate compares its WAL
         * with that published optime, so the commits a leader acknowledged after its last
         * publication (at most a ttl of them, when it is frozen or cut off until its fence) are
         * beyond any bound a candidate can check; the run counts them separately
         * ({@link Result#mostLostAfterPublication()}).
         */
        FAILOVER_LOSS_WITHIN_MAXIMUM_LAG("a failover loses at most maximum_lag_on_failover"),
        /**
         * In asynchronous mode, an automatic failover won in a leader race loses no acknowledged
         * commit that another member held when the winner took the leader key, if the winner could
         * have asked it: a member listed in the store, its agent alive and answering its peers, its
         * PostgreSQL running as a replica, allowed to fail over, while the winner itself could reach
         * its peers — both throughout the race (the peer timeout and a store read before the key
         * was taken: a peer that came back after the question was sent could not answer it). This
         * is the design's "a candidate does not promote while a reachable peer has more WAL", as
         * the client sees it.
         */
        NO_AVOIDABLE_FAILOVER_LOSS("a failover loses nothing a reachable peer had"),
        /**
         * After the heal, one primary holding the leader key with every live member streaming from
         * it within {@link Config#convergenceBound()}, and it lasts.
         */
        CONVERGENCE("one primary again within the bound");

        private final String sentence;

        Invariant(String sentence) {
            this.sentence = sentence;
        }

        /** The invariant in a few words, for reports. */
        public String sentence() {
            return sentence;
        }
    }

    /**
     * One run's parameters, all drawn from the seed by {@link #forSeed}.
     *
     * @param faultPhase   how long faults are injected after the cluster formed
     * @param maxFaults    at most this many faults per run (at least one)
     * @param clockDrift   how far a {@link Fault#CLOCK_DRIFT} may move a clock, as a multiple of
     *                     {@link #toleratedSlowDrift()}: below 1 the lease math holds (the default)
     * @param writesPerTick commits the client sends per tick (every 40 to 100 ms): more make the
     *                     standbys lag, so which one is promoted shows in the acknowledged commits
     * @param faultsOnTheLeader every fault aims at the leader of the moment (by default a third of
     *                     them pick a member at random): sharper runs for a bug that two faults on
     *                     the same leader expose
     * @param formationFaults the store loses half of every member's answers while the cluster forms
     *                     (with {@link Fault#LOST_REPLIES} among the faults): the bootstrap claim, the
     *                     first leader key and the configuration are written with outcomes unknown
     */
    public record Config(long seed, int nodes, SynchronousMode syncMode, Set<Fault> faults, Set<PlantedBug> bugs,
                         Duration ttl, Duration loopWait, Duration retryTimeout, Duration primaryStartTimeout,
                         long maximumLagOnFailover, Duration faultPhase, int maxFaults, double clockDrift,
                         int writesPerTick, boolean faultsOnTheLeader, Set<Fault> suppressed, boolean failsafeMode,
                         int syncNodeCount, boolean formationFaults) {
        /** The default {@link #clockDrift()}: drifting clocks stay within what the lease math tolerates. */
        public static final double DEFAULT_CLOCK_DRIFT = 0.9;

        public Config {
            faults = Set.copyOf(faults);
            bugs = Set.copyOf(bugs);
            suppressed = Set.copyOf(suppressed);
            if (maxFaults < 1 || writesPerTick < 1 || !(clockDrift >= 0)) {
                throw new IllegalArgumentException("maxFaults and writesPerTick must be at least 1, clockDrift not negative");
            }
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
            // drawn from a stream of its own, so every seed's other draws stay what they were before failsafe mode existed
            Random late = new Random(seed * 0x9E3779B97F4A7C15L + 17);
            boolean failsafe = late.nextInt(3) == 0;
            // five-node clusters in synchronous mode wait for two standbys in half the seeds
            int syncCount = nodes == 5 && mode.enabled() && late.nextBoolean() ? 2 : 1;
            // half the seeds in synchronous mode run quorum commit instead (synchronous_mode: quorum), drawn last
            if (mode.enabled() && late.nextBoolean()) {
                mode = SynchronousMode.of(true, true, mode.strict());
            }
            // a quarter of the seeds form their cluster while the store loses answers, drawn after everything else
            boolean formationFaults = late.nextInt(4) == 0;
            return new Config(seed, nodes, mode, EnumSet.allOf(Fault.class), Set.of(), ttl, loopWait, retry, startTimeout, lag,
                    Duration.ofSeconds(60), 4, DEFAULT_CLOCK_DRIFT, 1, false, Set.of(), failsafe, syncCount, formationFaults);
        }

        /** The same run waiting for {@code n} synchronous standbys ({@code synchronous_node_count}). */
        public Config withSyncNodeCount(int n) {
            return new Config(seed, nodes, syncMode, faults, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults, clockDrift, writesPerTick, faultsOnTheLeader, suppressed, failsafeMode, n, formationFaults);
        }

        /** The same run with or without lost answers while the cluster forms ({@link #formationFaults()}). */
        public Config withFormationFaults(boolean on) {
            return new Config(seed, nodes, syncMode, faults, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults, clockDrift, writesPerTick, faultsOnTheLeader, suppressed, failsafeMode,
                    syncNodeCount, on);
        }

        /** The same run with {@code failsafe_mode} on or off. */
        public Config withFailsafeMode(boolean on) {
            return new Config(seed, nodes, syncMode, faults, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults, clockDrift, writesPerTick, faultsOnTheLeader, suppressed, on, syncNodeCount, formationFaults);
        }

        public Config withBugs(Set<PlantedBug> b) {
            return new Config(seed, nodes, syncMode, faults, b, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults, clockDrift, writesPerTick, faultsOnTheLeader, suppressed, failsafeMode, syncNodeCount, formationFaults);
        }

        public Config withFaults(Set<Fault> f) {
            return new Config(seed, nodes, syncMode, f, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults, clockDrift, writesPerTick, faultsOnTheLeader, suppressed, failsafeMode, syncNodeCount, formationFaults);
        }

        public Config withNodes(int n) {
            return new Config(seed, n, syncMode, faults, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults, clockDrift, writesPerTick, faultsOnTheLeader, suppressed, failsafeMode, syncNodeCount, formationFaults);
        }

        public Config withSyncMode(SynchronousMode mode) {
            return new Config(seed, nodes, mode, faults, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults, clockDrift, writesPerTick, faultsOnTheLeader, suppressed, failsafeMode, syncNodeCount, formationFaults);
        }

        public Config withMaxFaults(int n) {
            return new Config(seed, nodes, syncMode, faults, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, n, clockDrift, writesPerTick, faultsOnTheLeader, suppressed, failsafeMode, syncNodeCount, formationFaults);
        }

        public Config withClockDrift(double multipleOfTheBound) {
            return new Config(seed, nodes, syncMode, faults, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults, multipleOfTheBound, writesPerTick, faultsOnTheLeader, suppressed, failsafeMode, syncNodeCount, formationFaults);
        }

        public Config withFaultsOnTheLeader(boolean onTheLeader) {
            return new Config(seed, nodes, syncMode, faults, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults, clockDrift, writesPerTick, onTheLeader, suppressed, failsafeMode, syncNodeCount, formationFaults);
        }

        /**
         * The same run with the faults of these kinds drawn as before but not applied: how a catch
         * is shown to need a kind of fault (the run takes its own course once it differs).
         */
        public Config withSuppressed(Set<Fault> kinds) {
            return new Config(seed, nodes, syncMode, faults, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults, clockDrift, writesPerTick, faultsOnTheLeader, kinds, failsafeMode, syncNodeCount, formationFaults);
        }

        public Config withWritesPerTick(int n) {
            return new Config(seed, nodes, syncMode, faults, bugs, ttl, loopWait, retryTimeout, primaryStartTimeout,
                    maximumLagOnFailover, faultPhase, maxFaults, clockDrift, n, faultsOnTheLeader, suppressed, failsafeMode, syncNodeCount, formationFaults);
        }

        /** The fencing margin the members run with (the default for these timings). */
        public Duration fencingMargin() {
            return HaSettings.defaultFencingMargin(ttl, retryTimeout);
        }

        /**
         * How much slower than the store's a member's clock may run while the lease math still holds,
         * as a fraction: {@code fencing_margin / (2 ttl)}. A leader counts {@code ttl} from the send
         * of its last renewal on its own ticker; the store counts it from the renewal's arrival on
         * its own. With a clock at rate {@code 1 - d}, the controller's fence, armed for
         * {@code ttl - fencing_margin / 2} on the leader's clock, fires after
         * {@code (ttl - fencing_margin / 2) / (1 - d)} of the store's time, which stays below the
         * store's {@code ttl} exactly when {@code d < fencing_margin / (2 ttl)} (what is left is the
         * time the store's answer took to arrive and the new leader takes to promote). The in-process
         * fence, at {@code ttl - fencing_margin}, tolerates twice as much, but it cannot act while
         * the JVM is frozen. A clock that runs fast only makes the fences fire earlier.
         */
        public double toleratedSlowDrift() {
            return fencingMargin().toNanos() / (2.0 * ttl.toNanos());
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
     * @param violated     the first invariant broken, if any
     * @param violation    how it was broken, if it was
     * @param convergence  time from the heal to one primary (when reached)
     * @param acked        commits acknowledged to the client
     * @param lostAcked    acknowledged commits missing from the final primary (must be 0 in synchronous mode)
     * @param leaderChanges how many times the leader key changed hands
     * @param faultCounts  how many faults of each kind began
     * @param failovers    automatic promotions after the cluster formed, and the most acknowledged
     *                     commits one of them lost
     * @param mostLostAfterPublication the most acknowledged commits one asynchronous failover lost
     *                     that the old leader acknowledged after the optime it last published
     *                     (outside the maximum_lag_on_failover bound, see {@link Invariant#FAILOVER_LOSS_WITHIN_MAXIMUM_LAG})
     */
    public record Result(Config config, Optional<Invariant> violated, Optional<String> violation, Optional<Duration> convergence,
                         long steps, Duration virtualTime, int acked, int lostAcked, int leaderChanges,
                         Map<Fault, Integer> faultCounts, int failovers, int mostLostInAFailover, long mostLostAfterPublication, List<String> faults,
                         List<String> trace) {
        public Result {
            faultCounts = Map.copyOf(faultCounts);
        }

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
        return "./mvnw -q -pl simulation -am test -Dsurefire.failIfNoSpecifiedTests=false "
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
        Config drawn = Config.forSeed(config.seed());
        if (config.syncMode() != drawn.syncMode()) {
            sb.append(" -Dpgha.sim.syncMode=").append(config.syncMode().name());
        }
        if (config.nodes() != drawn.nodes()) {
            sb.append(" -Dpgha.sim.nodes=").append(config.nodes());
        }
        if (config.syncNodeCount() != drawn.syncNodeCount()) {
            sb.append(" -Dpgha.sim.syncNodeCount=").append(config.syncNodeCount());
        }
        if (config.failsafeMode() != drawn.failsafeMode()) {
            sb.append(" -Dpgha.sim.failsafe=").append(config.failsafeMode());
        }
        if (config.formationFaults() != drawn.formationFaults()) {
            sb.append(" -Dpgha.sim.formationFaults=").append(config.formationFaults());
        }
        if (config.maxFaults() != drawn.maxFaults()) {
            sb.append(" -Dpgha.sim.maxFaults=").append(config.maxFaults());
        }
        if (config.clockDrift() != drawn.clockDrift()) {
            sb.append(" -Dpgha.sim.clockDrift=").append(config.clockDrift());
        }
        if (config.writesPerTick() != drawn.writesPerTick()) {
            sb.append(" -Dpgha.sim.writesPerTick=").append(config.writesPerTick());
        }
        if (!config.suppressed().isEmpty()) {
            sb.append(" -Dpgha.sim.suppressed=").append(String.join(",", config.suppressed().stream().map(Enum::name).sorted().toList()));
        }
        if (config.faultsOnTheLeader()) {
            sb.append(" -Dpgha.sim.faultsOnTheLeader=true");
        }
        return sb.toString();
    }

    public static Result run(Config config) {
        return new Simulation(config).execute();
    }

    // ============================================================================ one run

    /** Events kept for a failure report: the last 300, or {@code -Dpgha.sim.traceLines=N} when replaying a seed. */
    private static final int TRACE_LINES = Integer.getInteger("pgha.sim.traceLines", 300);

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
    /** Acknowledged commits that a promotion already lost (each counted against the failover that lost it). */
    private final Set<Long> lostSoFar = new HashSet<>();
    /** The timeline on which each member last accepted writes: a member writable on another one was promoted. */
    private final Map<String, Integer> writableOn = new HashMap<>();
    /** The reason of each member's last decision to promote: an operator's request or an automatic failover. */
    private final Map<String, String> promoteReason = new HashMap<>();
    private final Map<Fault, Integer> faultCounts = new EnumMap<>(Fault.class);
    /** Who took the leader key last, and the acknowledged commits each member it could have asked held then. */
    private String acquiredBy;
    /** When each member was last dead, paused or cut off from its peers (virtual nanos). */
    private final Map<String, Long> lastCutOffFromPeers = new HashMap<>();
    /** The leader optime the store showed when the current leader key was taken (0: none). */
    private long publishedOptimeAtAcquisition;
    /** The LSN at which each acknowledged commit was written on the primary that acknowledged it. */
    private final Map<Long, Long> commitLsn = new HashMap<>();
    private Map<String, Set<Long>> heldByAskablePeers = Map.of();
    private int failovers;
    private int mostLostInAFailover;
    private long mostLostAfterPublication;
    private boolean formed;
    private Invariant violated;
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
                            .synchronousMode(cfg.syncMode()).synchronousNodeCount(cfg.syncNodeCount())
                            .peerTimeout(peerTimeout());
                    if (cfg.failsafeMode()) {
                        b.initialDynamicConfig("{\"failsafe_mode\": true}");
                    }
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
            if (d.actions().stream().anyMatch(a -> a.startsWith("promote"))) {
                promoteReason.put(member, d.reason());
            }
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
        loseRepliesWhileForming();

        Optional<Duration> convergence = Optional.empty();
        if (!time.runUntil(cluster::isHealthy, Duration.ofSeconds(120))) {
            fail(Invariant.CLUSTER_FORMS, "the cluster did not form within 120 s of virtual time");
        }
        formed = true;
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
                        fail(Invariant.CONVERGENCE, "no single primary with every member streaming from it within the convergence bound "
                                + cfg.convergenceBound().toMillis() + " ms after the heal: " + cluster.members()
                                + " (leader key: " + cluster.leaderKey().orElse("none") + ")");
                    } else {
                        convergence = Optional.of(Duration.ofNanos(time.read() - healAt));
                        time.advance(cfg.ttl().multipliedBy(2));
                        if (violation == null && !converged()) {
                            fail(Invariant.CONVERGENCE, "the single primary did not last: " + describeWriters());
                        }
                    }
                }
            }
        }
        int lost = 0;
        List<VirtualCluster.Member> writers = cluster.writers();
        if (writers.size() == 1) {
            lost = writers.get(0).postgres().missing(acked).size();
        }
        if (violation == null && cfg.syncMode().enabled() && lost > 0) {
            fail(Invariant.NO_ACKNOWLEDGED_COMMIT_LOST, lost + " acknowledged commits are missing from the final primary "
                    + writers.get(0).name() + " in synchronous mode");
        }
        return new Result(cfg, Optional.ofNullable(violated), Optional.ofNullable(violation), convergence, time.steps(), time.elapsed(),
                acked.size(), lost, leaderChanges, faultCounts, failovers, mostLostInAFailover, mostLostAfterPublication, faultLog, List.copyOf(trace));
    }

    // ------------------------------------------------------------------ invariants

    private void checkStep() {
        if (violation != null) {
            return;
        }
        List<VirtualCluster.Member> writers = cluster.writers();
        if (writers.size() > 1) {
            fail(Invariant.SINGLE_WRITER, "two servers accept writes at the same instant: " + describeWriters());
            return;
        }
        if (writers.size() == 1) {
            VirtualCluster.Member w = writers.get(0);
            Integer before = writableOn.put(w.name(), w.postgres().timeline());
            if (formed && (before == null || before != w.postgres().timeline())) {
                checkPromotion(w);
            }
        }
        long now = time.elapsed().toNanos();
        for (VirtualCluster.Member m : cluster.members()) {
            if (m.isDead() || m.isPaused() || m.isUnreachableForPeers() || m.arePeersUnreachable()) {
                lastCutOffFromPeers.put(m.name(), now);
            }
        }
        Optional<String> leader = cluster.leaderKey();
        if (!leader.equals(lastLeader)) {
            leaderChanges++;
            note("store: leader " + lastLeader.orElse("-") + " -> " + leader.orElse("-"));
            lastLeader = leader;
            if (formed && leader.isPresent() && !cfg.syncMode().enabled()) {
                publishedOptimeAtAcquisition = publishedOptime();
                notePeersAtAcquisition(leader.get());
            }
        }
    }

    /** The longest a race winner's question to its peers can precede its taking the key. */
    private Duration raceWindow() {
        return peerTimeout().plus(cfg.retryTimeout());
    }

    private Duration peerTimeout() {
        return Duration.ofMillis(Math.min(2000, cfg.retryTimeout().toMillis()));
    }

    private static final java.util.regex.Pattern OPTIME = java.util.regex.Pattern.compile("\"optime\"\\s*:\\s*(\\d+)");

    /** The optime in the store's status key, or 0 if it holds none. */
    private long publishedOptime() {
        return dcs.peek(cluster.scope(), io.pgha.spi.ClusterKey.STATUS)
                .map(OPTIME::matcher)
                .filter(java.util.regex.Matcher::find).map(m -> Long.parseLong(m.group(1))).orElse(0L);
    }

    /**
     * {@code winner} just took the leader key: remembers which acknowledged commits each member it
     * could have asked for its status holds now (see {@link Invariant#NO_AVOIDABLE_FAILOVER_LOSS}).
     */
    private void notePeersAtAcquisition(String winner) {
        acquiredBy = winner;
        Map<String, Set<Long>> held = new HashMap<>();
        // the winner asked its peers at the start of its race, up to the peer timeout and a store
        // read before it took the key: a peer counts only if the two could talk throughout that
        // window (one that came back after the question was sent could not have answered it)
        long raceStart = time.elapsed().toNanos() - raceWindow().toNanos();
        boolean winnerCanAsk = lastCutOffFromPeers.getOrDefault(winner, Long.MIN_VALUE) < raceStart;
        for (VirtualCluster.Member m : winnerCanAsk ? cluster.members() : List.<VirtualCluster.Member>of()) {
            boolean askable = !m.name().equals(winner) && lastCutOffFromPeers.getOrDefault(m.name(), Long.MIN_VALUE) < raceStart
                    && dcs.peekMember(cluster.scope(), m.name()).isPresent() && m.postgres().isRunningReplica()
                    && m.tags().canFailover() && m.tags().failoverPriority() > 0;
            if (askable) {
                Set<Long> has = new HashSet<>(acked);
                has.removeAll(m.postgres().missing(acked));
                held.put(m.name(), has);
            }
        }
        heldByAskablePeers = held;
    }

    /**
     * {@code promoted} just began accepting writes on a new timeline: the acknowledged commits it
     * lacks are lost (its history wins; whoever holds them rewinds). In synchronous mode there must
     * be none; in asynchronous mode an automatic failover may lose at most maximum_lag_on_failover
     * bytes of them. A promotion an operator asked for (a manual failover may pick a lagging member
     * on purpose) is held only to the synchronous rule.
     */
    private void checkPromotion(VirtualCluster.Member promoted) {
        Set<Long> lostNow = promoted.postgres().missing(acked);
        lostNow.removeAll(lostSoFar);
        lostSoFar.addAll(lostNow);
        String why = promoteReason.getOrDefault(promoted.name(), "");
        boolean manual = why.contains("manual");
        long bytes = lostNow.size() * FakePostgres.LSN_STEP;
        note("check: " + promoted.name() + " promoted on timeline " + promoted.postgres().timeline() + " (" + (manual ? "manual" : "automatic")
                + "), lacking " + lostNow.size() + " acknowledged commits (" + bytes + " bytes)");
        if (!manual) {
            failovers++;
            mostLostInAFailover = Math.max(mostLostInAFailover, lostNow.size());
        }
        if (cfg.syncMode().enabled() && !lostNow.isEmpty()) {
            fail(Invariant.NO_ACKNOWLEDGED_COMMIT_LOST, promoted.name() + " was promoted lacking " + lostNow.size()
                    + " acknowledged commits in synchronous mode (" + why + ")");
        } else if (!cfg.syncMode().enabled() && !manual) {
            if (why.startsWith("promoted self to leader by acquiring") && promoted.name().equals(acquiredBy)) {
                for (Map.Entry<String, Set<Long>> peer : new java.util.TreeMap<>(heldByAskablePeers).entrySet()) {
                    long had = lostNow.stream().filter(peer.getValue()::contains).count();
                    if (had > 0) {
                        fail(Invariant.NO_AVOIDABLE_FAILOVER_LOSS, "an automatic failover to " + promoted.name() + " lost " + had
                                + " acknowledged commits that " + peer.getKey() + ", which it could ask, held when it took the leader key ("
                                + why + ")");
                        return;
                    }
                }
            }
            long published = publishedOptimeAtAcquisition;
            long lostUpToPublished = lostNow.stream().filter(id -> commitLsn.getOrDefault(id, Long.MAX_VALUE) <= published).count();
            long lostAfter = lostNow.size() - lostUpToPublished;
            mostLostAfterPublication = Math.max(mostLostAfterPublication, lostAfter);
            note("check: of them " + lostUpToPublished + " up to the optime published in the store (" + published + ") and " + lostAfter
                    + " acknowledged after it");
            if (lostUpToPublished * FakePostgres.LSN_STEP > cfg.maximumLagOnFailover()) {
                fail(Invariant.FAILOVER_LOSS_WITHIN_MAXIMUM_LAG, "an automatic failover to " + promoted.name() + " lost " + lostUpToPublished
                        + " acknowledged commits (" + lostUpToPublished * FakePostgres.LSN_STEP + " bytes) up to the optime the store showed ("
                        + published + "), more than maximum_lag_on_failover (" + cfg.maximumLagOnFailover() + " bytes) (" + why + ")");
            }
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

    private void fail(Invariant broken, String why) {
        if (violation == null) {
            violated = broken;
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
                for (int i = 0; i < cfg.writesPerTick(); i++) {
                    for (VirtualCluster.Member m : cluster.members()) {
                        FakePostgres server = m.postgres();
                        server.write(acked::add).ifPresent(id -> commitLsn.put(id, server.walRecords() * FakePostgres.LSN_STEP));
                    }
                }
                clientOwner.scheduler().schedule(this, Duration.ofMillis(40 + random.nextInt(60)).toNanos());
            }
        }, 0);
    }

    // ------------------------------------------------------------------ faults

    /**
     * {@link Config#formationFaults()}: for two ttls from the boot, the store applies every member's
     * requests but loses half of its answers. A claimant that never hears that its bootstrap claim
     * took effect must still see the cluster formed (within the 120 s the formation is given).
     */
    private void loseRepliesWhileForming() {
        if (!cfg.formationFaults() || !cfg.faults().contains(Fault.LOST_REPLIES)) {
            return;
        }
        long length = cfg.ttl().multipliedBy(2).toNanos();
        String what = Fault.LOST_REPLIES + " on every member while the cluster forms for " + Duration.ofNanos(length).toMillis() + " ms";
        if (cfg.suppressed().contains(Fault.LOST_REPLIES)) {
            note("--- fault suppressed: " + what);
            return;
        }
        faultLog.add(String.format(Locale.ROOT, "%.3f %s", time.elapsed().toNanos() / 1e9, what));
        faultCounts.merge(Fault.LOST_REPLIES, 1, Integer::sum);
        note("--- fault: " + what);
        cluster.members().forEach(m -> dcs.loseReplies(m.name(), true));
        time.runUntil(time.read() + length);
        cluster.members().forEach(m -> dcs.loseReplies(m.name(), false));
        note("--- fault ended: lost replies while forming");
    }

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
            boolean preferLeader = random.nextInt(3) > 0 || cfg.faultsOnTheLeader();
            // how a fault of this kind goes (which stops fail, how slow, which way a clock drifts), drawn now
            double variant = random.nextDouble();
            double magnitude = random.nextDouble();
            FaultRun run = new FaultRun(kind, pick, preferLeader, length, variant, magnitude);
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
        final double variant;
        final double magnitude;
        VirtualCluster.Member target;
        boolean begun;
        boolean ended;

        FaultRun(Fault kind, int pick, boolean preferLeader, long length, double variant, double magnitude) {
            this.kind = kind;
            this.pick = pick;
            this.preferLeader = preferLeader;
            this.length = length;
            this.variant = variant;
            this.magnitude = magnitude;
        }

        /** {@link Fault#PEER_PARTITION}: whether the node cannot reach its peers either. */
        boolean bothWays() {
            return variant < 0.5;
        }

        /** {@link Fault#AGENT_RESTART}: whether PostgreSQL refuses the graceful stop. */
        boolean refusesStop() {
            return variant < 0.5;
        }

        /** {@link Fault#STOP_FAILS}: whether even an immediate stop fails. */
        boolean everyStopFails() {
            return variant < 1.0 / 3;
        }

        /** {@link Fault#SLOW_REPLIES}: the most an answer is delayed by. */
        Duration slowestReply() {
            return variant < 0.25 ? cfg.retryTimeout().multipliedBy(3).dividedBy(2) : cfg.retryTimeout().multipliedBy(19).dividedBy(20);
        }

        /** {@link Fault#CLOCK_DRIFT}: the rate the target's clock runs at, slow or fast by up to clockDrift times the tolerated bound. */
        double clockRate() {
            double drift = magnitude * cfg.clockDrift() * cfg.toleratedSlowDrift();
            return variant < 0.5 ? Math.max(0.05, 1 - drift) : 1 + drift;
        }

        void begin() {
            if (ended) {
                return;
            }
            begun = true;
            target = cluster.members().get(pick);
            if (preferLeader && (kind == Fault.PEER_PARTITION || kind == Fault.SLOW_PROMOTE)) {
                target = likeliestSuccessor().orElse(target);
            } else if (preferLeader) {
                Optional<String> leader = cluster.leaderKey();
                target = cluster.members().stream().filter(n -> leader.map(n.name()::equals).orElse(false)).findFirst().orElse(target);
            }
            String how = switch (kind) {
                case AGENT_RESTART -> refusesStop() ? " (graceful stops refused)" : "";
                case PEER_PARTITION -> bothWays() ? " (both ways)" : " (its API only)";
                case STOP_FAILS -> everyStopFails() ? " (every stop fails)" : " (graceful stops refused)";
                case SLOW_REPLIES -> " (answers up to " + slowestReply().toMillis() + " ms late)";
                case CLOCK_DRIFT -> String.format(Locale.ROOT, " (clock rate %.4f)", clockRate());
                default -> "";
            };
            String what = kind + " on " + (kind == Fault.DCS_OUTAGE || kind == Fault.DCS_FREEZE ? "the store" : target.name()) + how + " for "
                    + Duration.ofNanos(length).toMillis() + " ms";
            if (cfg.suppressed().contains(kind)) {
                begun = false;
                note("--- fault suppressed: " + what);
                return;
            }
            faultLog.add(String.format(Locale.ROOT, "%.3f %s", time.elapsed().toNanos() / 1e9, what));
            faultCounts.merge(kind, 1, Integer::sum);
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
                case AGENT_CRASH -> target.killNode();
                case AGENT_RESTART -> {
                    if (refusesStop()) {
                        target.postgres().refuseGracefulStops(true);
                    }
                    target.restart(Duration.ofNanos((long) (magnitude * cfg.ttl().toNanos())));
                }
                case PEER_PARTITION -> {
                    target.setUnreachableForPeers(true);
                    target.setPeersUnreachable(bothWays());
                }
                case STOP_FAILS -> {
                    target.postgres().refuseGracefulStops(true);
                    target.postgres().failEveryStop(everyStopFails());
                }
                case SLOW_REPLIES -> dcs.slowReplies(target.name(), slowestReply());
                case CLOCK_DRIFT -> target.setClockRate(clockRate());
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
                case DCS_OUTAGE -> {
                    dcs.setOutage(false);
                    misleadCachesAfterTheStoreResumed();
                }
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
                case AGENT_CRASH -> {
                    if (target.isDead()) {
                        target.boot();
                    }
                }
                case AGENT_RESTART -> {
                    target.postgres().refuseGracefulStops(false);
                    // a restart whose stop is still waiting for the lease to run out boots when it completes
                    if (target.isDead()) {
                        target.boot();
                    }
                }
                case PEER_PARTITION -> {
                    target.setUnreachableForPeers(false);
                    target.setPeersUnreachable(false);
                }
                case STOP_FAILS -> {
                    target.postgres().refuseGracefulStops(false);
                    target.postgres().failEveryStop(false);
                }
                case SLOW_REPLIES -> dcs.slowReplies(target.name(), Duration.ZERO);
                case CLOCK_DRIFT -> target.setClockRate(1.0);
            }
        }

        /** The member a leader race would most likely pick next: the published synchronous standby, else the standby with the most WAL. */
        private Optional<VirtualCluster.Member> likeliestSuccessor() {
            Optional<String> leader = cluster.leaderKey();
            Set<String> published = ClusterCodec.decode(dcs.peekAll(cluster.scope())).sync()
                    .map(io.pgha.internal.cluster.SyncState::standbys).orElse(Set.of());
            return cluster.members().stream()
                    .filter(m -> !leader.map(m.name()::equals).orElse(false) && m.postgres().isRunningReplica())
                    .max(java.util.Comparator.<VirtualCluster.Member, Boolean>comparing(m -> published.contains(m.name()))
                            .thenComparingInt(m -> m.postgres().walRecords()));
        }

        /**
         * A watch that catches up on a backlog is where an early progress report misleads a cache
         * (etcd#15220): right after the store resumes (from a freeze or an outage), each member's
         * copy may skip what its watch delivers for up to a second, which is when the members race
         * for the leader key.
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
