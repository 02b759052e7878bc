package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.SynchronousMode;
import io.pgha.internal.decision.PlantedBug;
import io.pgha.testkit.Simulation.Fault;
import io.pgha.testkit.Simulation.Invariant;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class SimulationTest {

    /** Seeds to run: {@code -Dpgha.sim.seeds=100000} for a long run; CI runs the default. */
    private static final int SEEDS = Integer.getInteger("pgha.sim.seeds", 2000);
    /** First seed, so a long run can be split: {@code -Dpgha.sim.firstSeed=...}. */
    private static final long FIRST = Long.getLong("pgha.sim.firstSeed", 1);

    /** Particular seeds instead of a range, e.g. the failed seeds of a long run: {@code -Dpgha.sim.seedList=2759,9357}. */
    private static final String SEED_LIST = System.getProperty("pgha.sim.seedList", "");

    @Test
    void everySeedKeepsEveryInvariant() throws Exception {
        LongStream seeds = SEED_LIST.isBlank() ? LongStream.range(FIRST, FIRST + SEEDS)
                : java.util.Arrays.stream(SEED_LIST.split(",")).map(String::trim).mapToLong(Long::parseLong);
        List<Simulation.Result> results = runAll(seeds.mapToObj(Simulation.Config::forSeed).toList());
        List<Simulation.Result> failed = results.stream().filter(r -> !r.ok()).toList();
        if (!failed.isEmpty()) {
            System.out.println(failed.get(0).report());
            System.out.println("failed seeds: " + failed.stream().map(r -> r.config().seed()).limit(50).toList());
        }
        assertThat(failed).as("failed seeds").isEmpty();
    }

    @Test
    void replaysOneSeed() {
        String seed = System.getProperty("pgha.sim.seed");
        Assumptions.assumeTrue(seed != null, "set -Dpgha.sim.seed=N to replay one seed");
        Simulation.Config config = Simulation.Config.forSeed(Long.parseLong(seed));
        // a run of the planted-bug tests replays with their faults and bug: -Dpgha.sim.faults=A,B -Dpgha.sim.bugs=C
        String faults = System.getProperty("pgha.sim.faults");
        if (faults != null) {
            config = config.withFaults(java.util.Arrays.stream(faults.split(",")).map(Simulation.Fault::valueOf)
                    .collect(java.util.stream.Collectors.toSet()));
        }
        String bugs = System.getProperty("pgha.sim.bugs");
        if (bugs != null) {
            config = config.withBugs(java.util.Arrays.stream(bugs.split(",")).map(PlantedBug::valueOf)
                    .collect(java.util.stream.Collectors.toSet()));
        }
        String suppressed = System.getProperty("pgha.sim.suppressed");
        if (suppressed != null) {
            config = config.withSuppressed(java.util.Arrays.stream(suppressed.split(",")).map(Simulation.Fault::valueOf)
                    .collect(java.util.stream.Collectors.toSet()));
        }
        String syncNodeCount = System.getProperty("pgha.sim.syncNodeCount");
        if (syncNodeCount != null) {
            config = config.withSyncNodeCount(Integer.parseInt(syncNodeCount));
        }
        String failsafe = System.getProperty("pgha.sim.failsafe");
        if (failsafe != null) {
            config = config.withFailsafeMode(Boolean.parseBoolean(failsafe));
        }
        String formation = System.getProperty("pgha.sim.formationFaults");
        if (formation != null) {
            config = config.withFormationFaults(Boolean.parseBoolean(formation));
        }
        String syncMode = System.getProperty("pgha.sim.syncMode");
        if (syncMode != null) {
            config = config.withSyncMode(io.pgha.SynchronousMode.valueOf(syncMode));
        }
        config = config.withNodes(Integer.getInteger("pgha.sim.nodes", config.nodes())).withMaxFaults(Integer.getInteger("pgha.sim.maxFaults", config.maxFaults()))
                .withWritesPerTick(Integer.getInteger("pgha.sim.writesPerTick", config.writesPerTick()))
                .withFaultsOnTheLeader(Boolean.getBoolean("pgha.sim.faultsOnTheLeader") || config.faultsOnTheLeader())
                .withClockDrift(Double.parseDouble(System.getProperty("pgha.sim.clockDrift", Double.toString(config.clockDrift()))));
        Simulation.Result r = Simulation.run(config);
        System.out.println(r.ok() ? "seed " + seed + " passed; events:\n" + String.join("\n", r.trace()) : r.report());
        assertThat(r.violation()).isEmpty();
    }

    @Test
    void theSameSeedReplaysTheSameRun() {
        Simulation.Result a = Simulation.run(Simulation.Config.forSeed(42));
        Simulation.Result b = Simulation.run(Simulation.Config.forSeed(42));
        assertThat(b.steps()).isEqualTo(a.steps());
        assertThat(b.trace()).isEqualTo(a.trace());
        assertThat(b.acked()).isEqualTo(a.acked());
    }

    // ================================================================== planted bugs

    /**
     * How one planted bug is hunted: the fault kinds that expose it, how the runs are set up
     * (sharper than the seed's own draw where that helps), how many seeds, the share of them that
     * must catch it, and the invariant that must. A seed counts as a catch only if the same run
     * without the bug keeps that invariant: the catch is the bug's, not the engine's.
     */
    record BugHunt(PlantedBug bug, Simulation.Invariant caughtBy, Set<Fault> faults, long firstSeed, int seeds, double share,
                   String setupDescription, UnaryOperator<Simulation.Config> setup) {
        List<Simulation.Config> configs() {
            return LongStream.range(firstSeed, firstSeed + seeds).mapToObj(this::config).toList();
        }

        Simulation.Config config(long seed) {
            // failsafe mode off unless the hunt asks for it: a primary that legitimately runs on without the store
            // would hide the bugs that a cut-off leader exposes
            return setup.apply(Simulation.Config.forSeed(seed).withFaults(faults).withBugs(Set.of(bug)).withFailsafeMode(false));
        }

        int mustCatch() {
            return (int) Math.ceil(share * seeds);
        }

        @Override
        public String toString() {
            return bug + " caught by " + caughtBy + " in at least " + Math.round(share * 100) + "% of seeds " + firstSeed + "-" + (firstSeed + seeds - 1) + " under "
                    + faults.stream().sorted().toList() + (setupDescription.isEmpty() ? "" : ", " + setupDescription);
        }
    }

    private static BugHunt hunt(PlantedBug bug, Simulation.Invariant caughtBy, Set<Fault> faults, int seeds, double share) {
        return new BugHunt(bug, caughtBy, faults, 1, seeds, share, "", c -> c);
    }

    private static BugHunt hunt(PlantedBug bug, Simulation.Invariant caughtBy, Set<Fault> faults, int seeds, double share,
                                String setupDescription, UnaryOperator<Simulation.Config> setup) {
        return new BugHunt(bug, caughtBy, faults, 1, seeds, share, setupDescription, setup);
    }

    private static final UnaryOperator<Simulation.Config> ON_THE_LEADER = c -> c.withFaultsOnTheLeader(true).withMaxFaults(8);

    static final BugHunt NEVER_FENCING = hunt(PlantedBug.NO_FENCING, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.DCS_PARTITION, Fault.NODE_PAUSE, Fault.AGENT_CRASH), 40, 0.75);
    static final BugHunt STALE_VIEWS_AFTER_A_FREEZE = hunt(PlantedBug.TRUSTS_STALE_VIEWS, Invariant.CONVERGENCE,
            EnumSet.of(Fault.DCS_FREEZE), 100, 0.5, "up to 8 faults", c -> c.withMaxFaults(8));
    static final BugHunt STALE_VIEWS_AND_LOST_REPLIES = hunt(PlantedBug.TRUSTS_STALE_VIEWS, Invariant.CONVERGENCE,
            EnumSet.of(Fault.STALE_READS, Fault.LOST_REPLIES), 200, 0.02, "up to 12 faults", c -> c.withMaxFaults(12));
    static final BugHunt LEASE_FROM_THE_ANSWER = hunt(PlantedBug.LEASE_FROM_RECEIPT, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.SLOW_REPLIES, Fault.LOOP_STUCK), 100, 0.06, "every fault on the leader, up to 8", ON_THE_LEADER);
    static final BugHunt UNKNOWN_RENEWAL = hunt(PlantedBug.UNKNOWN_RENEWAL_IS_SUCCESS, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.DCS_PARTITION), 40, 0.75);
    static final BugHunt SYNC_KEY_IGNORED = hunt(PlantedBug.IGNORES_SYNC_KEY, Invariant.NO_ACKNOWLEDGED_COMMIT_LOST,
            EnumSet.of(Fault.NODE_CRASH, Fault.PEER_PARTITION), 100, 0.12, "3 nodes, synchronous mode on, 8 writes per tick, up to 8 faults",
            c -> c.withNodes(3).withSyncMode(SynchronousMode.ON).withWritesPerTick(8).withMaxFaults(8));
    static final BugHunt PUBLISHED_BEFORE_NAMED = hunt(PlantedBug.PUBLISHES_BEFORE_NAMING, Invariant.NO_ACKNOWLEDGED_COMMIT_LOST,
            EnumSet.of(Fault.NODE_CRASH), 200, 0.025, "3 nodes, synchronous mode on, 8 writes per tick, up to 10 faults",
            c -> c.withNodes(3).withSyncMode(SynchronousMode.ON).withWritesPerTick(8).withMaxFaults(10));
    static final BugHunt WAL_NOT_COMPARED = hunt(PlantedBug.SKIPS_WAL_COMPARISON, Invariant.NO_AVOIDABLE_FAILOVER_LOSS,
            EnumSet.of(Fault.NODE_CRASH), 150, 0.14, "asynchronous mode, 4 writes per tick, up to 8 faults",
            c -> c.withSyncMode(SynchronousMode.OFF).withWritesPerTick(4).withMaxFaults(8));
    static final BugHunt FENCES_DROPPED_AT_THE_STOP = hunt(PlantedBug.DISARMS_BEFORE_STOP, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.STOP_FAILS, Fault.DCS_PARTITION), 60, 0.25, "every fault on the leader, up to 8", ON_THE_LEADER);
    static final BugHunt KEY_HANDED_OVER = hunt(PlantedBug.HANDS_OVER_ON_FAILED_STOP, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.AGENT_RESTART), 40, 0.6, "up to 6 faults", c -> c.withMaxFaults(6));
    static final BugHunt NO_MARGIN = hunt(PlantedBug.NO_FENCING_MARGIN, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.CLOCK_DRIFT, Fault.NODE_PAUSE), 100, 0.06, "every fault on the leader, up to 8", ON_THE_LEADER);
    static final BugHunt RELEASED_BEFORE_STOPPED = hunt(PlantedBug.RELEASES_BEFORE_STOP, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.SWITCHOVER, Fault.STOP_FAILS), 60, 0.2, "every fault on the leader, up to 8", ON_THE_LEADER);
    static final BugHunt NO_REWIND = hunt(PlantedBug.FOLLOWS_WITHOUT_REWIND, Invariant.CONVERGENCE,
            EnumSet.of(Fault.POSTGRES_CRASH), 200, 0.1, "every fault on the leader, up to 6",
            c -> c.withFaultsOnTheLeader(true).withMaxFaults(6));
    static final BugHunt QUITS_AFTER_AN_OUTAGE = hunt(PlantedBug.QUITS_AFTER_A_LONG_STORE_OUTAGE, Invariant.CONVERGENCE,
            EnumSet.of(Fault.DCS_OUTAGE), 40, 0.8);

    static final BugHunt LAG_IGNORED = hunt(PlantedBug.IGNORES_MAXIMUM_LAG, Invariant.FAILOVER_LOSS_WITHIN_MAXIMUM_LAG,
            EnumSet.of(Fault.NODE_CRASH), 100, 0.12, "3 nodes, asynchronous mode, 8 writes per tick, up to 10 faults",
            c -> c.withNodes(3).withSyncMode(SynchronousMode.OFF).withWritesPerTick(8).withMaxFaults(10));

    static final BugHunt SLOW_PROMOTION_ABANDONED = hunt(PlantedBug.ABANDONS_A_SLOW_PROMOTION, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.SLOW_PROMOTE, Fault.SWITCHOVER), 100, 0.1, "every fault on the leader, up to 8", ON_THE_LEADER);

    private static final UnaryOperator<Simulation.Config> FAILSAFE = c -> c.withFailsafeMode(true).withMaxFaults(8);

    static final BugHunt FAILSAFE_ONE_ANSWER = hunt(PlantedBug.FAILSAFE_TRUSTS_ONE_ANSWER, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.DCS_PARTITION, Fault.PEER_PARTITION), 100, 0.05, "failsafe_mode, up to 8 faults", FAILSAFE);
    // the member must not reach the primary itself (its own requests fail) for the forgotten answer to matter:
    // asked, a primary running on says so and the member does not race anyway
    static final BugHunt FAILSAFE_ANSWER_FORGOTTEN = hunt(PlantedBug.FAILSAFE_FORGETS_ITS_ANSWER, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.DCS_PARTITION, Fault.PEER_PARTITION), 100, 0.05, "failsafe_mode, up to 8 faults", FAILSAFE);

    static final BugHunt FAILSAFE_UNLISTED_RACE = hunt(PlantedBug.FAILSAFE_LETS_THE_UNLISTED_RACE, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.DCS_PARTITION, Fault.PEER_PARTITION, Fault.NODE_CRASH), 300, 0.006, "failsafe_mode, up to 12 faults",
            c -> c.withFailsafeMode(true).withMaxFaults(12));
    static final BugHunt FAILSAFE_NOT_ASKED = hunt(PlantedBug.FAILSAFE_RACES_WITHOUT_ASKING, Invariant.SINGLE_WRITER,
            EnumSet.of(Fault.DCS_PARTITION, Fault.AGENT_RESTART), 100, 0.02, "failsafe_mode, up to 8 faults", FAILSAFE);

    static final BugHunt WAITS_FOR_ONE = hunt(PlantedBug.WAITS_FOR_ONE_OF_SEVERAL, Invariant.NO_ACKNOWLEDGED_COMMIT_LOST,
            EnumSet.of(Fault.NODE_CRASH, Fault.PEER_PARTITION), 300, 0.015,
            "5 nodes, synchronous mode on with synchronous_node_count 2, 8 writes per tick, up to 12 faults",
            c -> c.withNodes(5).withSyncMode(SynchronousMode.ON).withSyncNodeCount(2).withWritesPerTick(8).withMaxFaults(12));

    // quorum commit: 3 nodes wait for ANY 1 of 2 voters with quorum 1, so a crashed leader's commits may be on one voter
    // only; a candidate that does not wait for that voter's "not ahead" answer promotes without them.
    // Calibrated: caught in 18 of seeds 1-100 (PROMOTES_WITHOUT_QUORUM) and 3 to 5 of seeds 1-100 (QUORUM_TOO_LOW, depending
    // on how each change of timing reshuffles the seeds; 6 of 1-150, at more than twice the cost: these runs are the slowest)
    static final BugHunt PROMOTES_WITHOUT_QUORUM = hunt(PlantedBug.PROMOTES_WITHOUT_QUORUM, Invariant.NO_ACKNOWLEDGED_COMMIT_LOST,
            EnumSet.of(Fault.NODE_CRASH, Fault.PEER_PARTITION), 100, 0.12, "3 nodes, quorum mode, 8 writes per tick, up to 8 faults",
            c -> c.withNodes(3).withSyncMode(SynchronousMode.QUORUM).withWritesPerTick(8).withMaxFaults(8));
    // the key's quorum 1 written as 0: a voter promotes without hearing from the other, which may alone hold commits.
    // (Five nodes, ANY 1 of 4 with quorum 3 written as 2, caught it in 1 seed of 100 at five times the cost.)
    static final BugHunt QUORUM_ONE_TOO_LOW = hunt(PlantedBug.QUORUM_TOO_LOW, Invariant.NO_ACKNOWLEDGED_COMMIT_LOST,
            EnumSet.of(Fault.NODE_CRASH, Fault.PEER_PARTITION), 100, 0.02, "3 nodes, quorum mode, 8 writes per tick, up to 8 faults",
            c -> c.withNodes(3).withSyncMode(SynchronousMode.QUORUM).withWritesPerTick(8).withMaxFaults(8));

    // the claimant's create takes effect but its answer is lost: with the bug the empty key is waited on forever
    static final BugHunt ABANDONED_CLAIM_KEPT = hunt(PlantedBug.KEEPS_ABANDONED_CLAIMS, Invariant.CLUSTER_FORMS,
            EnumSet.of(Fault.LOST_REPLIES), 40, 0.25, "answers lost while the cluster forms", c -> c.withFormationFaults(true));

    // Found by the 20,000-seed run in seed 2679: a switchover, the store frozen before the new leader rewrote the sync
    // key, the new leader crashed; the key's old leader promoted alone while the other voter held the new leader's
    // commits. Random draws rarely line the three up (2 of 200 sharp seeds under quorum mode, switchovers, freezes and
    // crashes on the leader), so the hunt starts at that seed, with every fault kind as the seed draws them.
    static final BugHunt FORMER_LEADER_ON_A_STALE_KEY = new BugHunt(PlantedBug.FORMER_LEADER_TRUSTS_STALE_KEY,
            Invariant.NO_ACKNOWLEDGED_COMMIT_LOST, EnumSet.allOf(Fault.class), 2679, 20, 0.05, "the seeds' own draws", c -> c);

    static final List<BugHunt> HUNTS = List.of(NEVER_FENCING, STALE_VIEWS_AFTER_A_FREEZE, STALE_VIEWS_AND_LOST_REPLIES,
            LEASE_FROM_THE_ANSWER, UNKNOWN_RENEWAL, SYNC_KEY_IGNORED, PUBLISHED_BEFORE_NAMED, WAL_NOT_COMPARED,
            FENCES_DROPPED_AT_THE_STOP, KEY_HANDED_OVER, NO_MARGIN, RELEASED_BEFORE_STOPPED, NO_REWIND, QUITS_AFTER_AN_OUTAGE, LAG_IGNORED,
            SLOW_PROMOTION_ABANDONED, FAILSAFE_ONE_ANSWER, FAILSAFE_ANSWER_FORGOTTEN, WAITS_FOR_ONE,
            FAILSAFE_UNLISTED_RACE, FAILSAFE_NOT_ASKED, PROMOTES_WITHOUT_QUORUM, QUORUM_ONE_TOO_LOW, ABANDONED_CLAIM_KEPT,
            FORMER_LEADER_ON_A_STALE_KEY);

    @Test
    void aQuorumCandidateThatPromotesWithoutQuorumConfirmationsIsCaughtLosingAcknowledgedCommits() throws Exception {
        assertCaught(PROMOTES_WITHOUT_QUORUM);
    }

    @Test
    void aSyncKeyQuorumOneBelowPatronisArithmeticIsCaughtLosingAcknowledgedCommits() throws Exception {
        assertCaught(QUORUM_ONE_TOO_LOW);
    }

    @Test
    void aMemberLeftOutOfTheFailsafeTopologyThatRacesAnywayIsCaughtAsTwoWriters() throws Exception {
        assertCaught(FAILSAFE_UNLISTED_RACE);
    }

    @Test
    void aRaceThatDoesNotAskTheListedMembersIsCaughtAsTwoWritersAfterAnAgentRestartForgotTheFailsafePrimary() throws Exception {
        assertCaught(FAILSAFE_NOT_ASKED);
    }

    @Test
    void aPrimaryThatWaitsForOneOfTwoPublishedStandbysIsCaughtLosingAnAcknowledgedCommitWhenTheOtherIsPromoted() throws Exception {
        assertCaught(WAITS_FOR_ONE);
    }

    @Test
    void aFailsafePrimaryThatRunsOnWithOneConfirmationIsCaughtAsTwoWritersWhenAMemberItDidNotReachTakesOver() throws Exception {
        assertCaught(FAILSAFE_ONE_ANSWER);
    }

    @Test
    void aMemberThatConfirmsAFailsafePrimaryButRacesAnywayIsCaughtAsTwoWriters() throws Exception {
        assertCaught(FAILSAFE_ANSWER_FORGOTTEN);
    }

    @Test
    void aLeaderThatNeverFencesIsCaughtAsTwoWritersWhenCutOffFrozenOrLeftWithoutItsAgent() throws Exception {
        assertCaught(NEVER_FENCING);
    }

    @Test
    void aBugThatTrustsStaleViewsLeavesTheClusterWithoutAPrimaryAfterAStoreFreeze() throws Exception {
        assertCaught(STALE_VIEWS_AFTER_A_FREEZE);
    }

    @Test
    void aBugThatTrustsStaleViewsIsCaughtWhenLostAnswersCostTheLeaderItsLeaseAndItsCacheHidesItsOwnKey() throws Exception {
        assertCaught(STALE_VIEWS_AND_LOST_REPLIES);
    }

    @Test
    void aLeaseCountedFromTheAnswerIsCaughtAsTwoWritersWhenAStuckLeadersLastRenewalWasAnsweredLate() throws Exception {
        assertCaught(LEASE_FROM_THE_ANSWER);
    }

    @Test
    void aRenewalWithAnUnknownOutcomeTakenAsSuccessIsCaughtAsTwoWritersWhenTheLeaderIsCutOff() throws Exception {
        assertCaught(UNKNOWN_RENEWAL);
    }

    @Test
    void aFailoverThatIgnoresTheSyncKeyIsCaughtLosingAcknowledgedCommits() throws Exception {
        assertCaught(SYNC_KEY_IGNORED);
    }

    @Test
    void aStandbyPublishedBeforeItIsNamedIsCaughtLosingAcknowledgedCommitsWhenItRejoinedFarBehind() throws Exception {
        assertCaught(PUBLISHED_BEFORE_NAMED);
    }

    @Test
    void aCandidateThatSkipsTheWalComparisonIsCaughtLosingCommitsThatAReachablePeerHeld() throws Exception {
        assertCaught(WAL_NOT_COMPARED);
    }

    @Test
    void fencesDroppedWhenAStopIsIssuedAreCaughtAsTwoWritersWhenEveryStopFails() throws Exception {
        assertCaught(FENCES_DROPPED_AT_THE_STOP);
    }

    @Test
    void aGracefulStopThatHandsTheKeyOverAfterItsPostgresStopFailedIsCaughtAsTwoWriters() throws Exception {
        assertCaught(KEY_HANDED_OVER);
    }

    @Test
    void fencingWithoutAMarginIsCaughtAsTwoWritersWhenTheLeadersClockRunsSlowWithinTheToleratedDrift() throws Exception {
        assertCaught(NO_MARGIN);
    }

    @Test
    void aSwitchoverThatReleasesTheKeyBeforeThePrimaryStoppedIsCaughtAsTwoWritersWhenTheStopFails() throws Exception {
        assertCaught(RELEASED_BEFORE_STOPPED);
    }

    @Test
    void aFormerPrimaryThatFollowsWithoutRewindingIsCaughtByTheConvergenceCheck() throws Exception {
        assertCaught(NO_REWIND);
    }

    @Test
    void aMemberThatQuitsAfterALongStoreOutageIsCaughtByTheConvergenceCheck() throws Exception {
        assertCaught(QUITS_AFTER_AN_OUTAGE);
    }

    @Test
    void aCandidateThatIgnoresMaximumLagOnFailoverIsCaughtLosingMoreThanTheBound() throws Exception {
        assertCaught(LAG_IGNORED);
    }

    /**
     * Every fault kind is needed by some hunt: among the seeds where a hunt using that kind catches
     * its bug, at least one is no longer caught when that kind's faults are drawn as before but not
     * applied. (A hunt with that kind alone shows it trivially: without it nothing happens.)
     */
    @Test
    void everyFaultKindIsNeededForSomePlantedBugToBeCaught() throws Exception {
        List<Fault> notNeeded = new ArrayList<>();
        for (Fault kind : Fault.values()) {
            boolean needed = false;
            for (BugHunt hunt : HUNTS.stream().filter(h -> h.faults().contains(kind)).sorted(Comparator.comparingInt(h -> h.faults().size())).toList()) {
                List<Long> seeds = catches(hunt);
                List<Simulation.Result> without = runAll(seeds.stream().map(s -> hunt.config(s).withSuppressed(Set.of(kind))).toList());
                List<Long> escaped = without.stream().filter(r -> !r.violated().equals(Optional.of(hunt.caughtBy())))
                        .map(r -> r.config().seed()).toList();
                System.out.println("fault " + kind + ": " + hunt.bug() + " caught in " + seeds.size() + " seeds; with " + kind
                        + " suppressed " + escaped.size() + " of them escape: " + escaped);
                if (!escaped.isEmpty()) {
                    needed = true;
                    break;
                }
            }
            if (!needed) {
                notNeeded.add(kind);
            }
        }
        assertThat(notNeeded).as("fault kinds that no planted-bug catch needs").isEmpty();
    }

    @Test
    void aLeaderThatAbandonsASlowPromotionIsCaughtAsTwoWritersWhenThePromotionCompletesAnyway() throws Exception {
        assertCaught(SLOW_PROMOTION_ABANDONED);
    }

    /**
     * Every invariant a run checks is one that some planted bug breaks and its hunt catches, the
     * formation too: a run may form its cluster while the store loses answers.
     */
    @Test
    void everyInvariantIsBrokenByAPlantedBugThatItsHuntCatches() {
        assertThat(HUNTS.stream().map(BugHunt::caughtBy).collect(Collectors.toSet()))
                .as("invariants that some planted-bug hunt sees broken").containsExactlyInAnyOrder(Invariant.values());
    }

    @Test
    void aFormerLeaderThatCountsItselfHealthyOnASyncKeyAnotherLeaderCouldNotRewriteIsCaughtLosingAcknowledgedCommits() throws Exception {
        assertCaught(FORMER_LEADER_ON_A_STALE_KEY);
    }

    @Test
    void aClusterThatWaitsForeverOnAnAbandonedBootstrapClaimIsCaughtNeverForming() throws Exception {
        assertCaught(ABANDONED_CLAIM_KEPT);
    }

    @Test
    void everyPlantedBugIsHunted() {
        assertThat(HUNTS.stream().map(BugHunt::bug).collect(Collectors.toSet()))
                .as("planted bugs with a hunt").containsExactlyInAnyOrder(PlantedBug.values());
    }

    // ================================================================== clock drift

    @Test
    void clockDriftUpToTheToleratedBoundNeverMakesTwoWriters() throws Exception {
        List<Simulation.Result> results = runAll(driftRuns(0.99));
        assertThat(results.stream().filter(r -> r.violated().equals(Optional.of(Invariant.SINGLE_WRITER))).map(Simulation.Result::report).toList())
                .as("runs with two writers while every clock drifted by less than fencing_margin / (2 ttl)").isEmpty();
    }

    @Test
    void clockDriftBeyondTheToleratedBoundMakesTwoWriters() throws Exception {
        List<Simulation.Result> results = runAll(driftRuns(4));
        long twoWriters = results.stream().filter(r -> r.violated().equals(Optional.of(Invariant.SINGLE_WRITER))).count();
        System.out.println("clock drift up to 4 times the tolerated bound: two writers in " + twoWriters + " of " + results.size() + " seeds");
        results.stream().filter(r -> r.violated().equals(Optional.of(Invariant.SINGLE_WRITER))).findFirst()
                .ifPresent(r -> System.out.println(r.report()));
        assertThat(twoWriters).as("seeds with two writers when a leader's clock runs up to 4 times too slow").isGreaterThanOrEqualTo(3);
    }

    /** A leader whose clock drifts (up to {@code multipleOfTheBound} times the tolerated bound) is frozen or cut off. */
    private static List<Simulation.Config> driftRuns(double multipleOfTheBound) {
        return LongStream.rangeClosed(1, 60).mapToObj(s -> Simulation.Config.forSeed(s)
                .withFaults(EnumSet.of(Fault.CLOCK_DRIFT, Fault.NODE_PAUSE, Fault.DCS_PARTITION))
                .withFaultsOnTheLeader(true).withMaxFaults(8).withClockDrift(multipleOfTheBound)).toList();
    }

    // ================================================================== findings kept fixed

    /**
     * Found by the simulator (seed 5, synchronous mode on, leader crashes, 8 writes per tick): a
     * member promoted again found {@code synchronous_standby_names} still naming a standby from its
     * earlier tenure as primary, so it did not set it, and published that standby at once although
     * it was 312 commits behind (its memory of where the setting last changed was empty). The
     * standby was promoted when this leader crashed and 313 acknowledged commits were lost.
     */
    @Test
    void aNewLeaderDoesNotPublishAStandbyThatItsPostgresStillNamesFromAnEarlierTenureBeforeItCaughtUp() {
        Simulation.Result r = Simulation.run(Simulation.Config.forSeed(5).withFaults(EnumSet.of(Fault.NODE_CRASH))
                .withSyncMode(SynchronousMode.ON).withWritesPerTick(8).withFaultsOnTheLeader(true).withMaxFaults(8));
        assertThat(r.violation()).as(r.report()).isEmpty();
        assertThat(r.failovers()).as("automatic failovers in the run").isGreaterThanOrEqualTo(3);
    }

    /**
     * Found by the 100,000-seed run (seed 2806, synchronous mode on, as drawn): a renewal the leader
     * sent before it was fenced was answered late (slow replies), which made it hold the lease again
     * in the same guard epoch; the fence's stop then completed and disarmed the guard of that new
     * belief, so the belief never ended and the heartbeat went on renewing; after a partition it
     * re-created the absent leader key (as renewals do), and the stale former leader took over past
     * the synchronous standby that had been promoted meanwhile: 69 acknowledged commits lost.
     */
    @Test
    void aRenewalAnsweredAfterTheFenceIsGuardedAgainAndEndsWithItsLease() {
        Simulation.Result r = Simulation.run(Simulation.Config.forSeed(2806));
        assertThat(r.violation()).as(r.report()).isEmpty();
    }

    /**
     * Found while hunting {@code IGNORES_MAXIMUM_LAG} (seed 52, 5 nodes, asynchronous mode, crashes
     * only, 8 writes per tick, up to 12 faults), without the bug: a former primary that rejoined
     * after a failover had WAL on its old timeline past the switch point; it compared that position
     * with the leader's published optime, came out exactly at maximum_lag_on_failover, won the next
     * race and lost 152 acknowledged commits up to that optime (19,456 bytes, over the 16,384
     * allowed). A position now counts only up to where its timeline ended in the history key.
     */
    @Test
    void aMemberThatDivergedPastItsTimelinesEndIsNotCountedAsUpToDate() {
        Simulation.Result r = Simulation.run(Simulation.Config.forSeed(52).withFaults(EnumSet.of(Fault.NODE_CRASH))
                .withSyncMode(SynchronousMode.OFF).withWritesPerTick(8).withMaxFaults(12));
        assertThat(r.violation()).as(r.report()).isEmpty();
        assertThat(r.failovers()).as("automatic failovers in the run").isGreaterThanOrEqualTo(3);
    }

    /**
     * Runs the hunt, then the seeds that caught the bug once more without it; returns the catches
     * that are the bug's.
     */
    static int assertCaught(BugHunt hunt) throws Exception {
        List<Long> bugs = catches(hunt);
        assertThat(bugs.size()).as("seeds in which " + hunt.caughtBy() + " caught " + hunt.bug() + " (" + hunt + ")")
                .isGreaterThanOrEqualTo(hunt.mustCatch());
        return bugs.size();
    }

    /** Each hunt's catches, computed once per test run (two tests use them). */
    private static final Map<BugHunt, List<Long>> CATCHES = new java.util.concurrent.ConcurrentHashMap<>();

    /** The seeds of {@code hunt} whose catch is the bug's: its invariant broken with the bug, kept without. */
    static List<Long> catches(BugHunt hunt) throws Exception {
        List<Long> known = CATCHES.get(hunt);
        if (known != null) {
            return known;
        }
        List<Simulation.Result> results = runAll(hunt.configs());
        List<Simulation.Result> caught = results.stream().filter(r -> r.violated().equals(Optional.of(hunt.caughtBy()))).toList();
        List<Simulation.Result> controls = runAll(caught.stream().map(r -> r.config().withBugs(Set.of())).toList());
        List<Long> bugs = new ArrayList<>();
        for (int i = 0; i < caught.size(); i++) {
            if (controls.get(i).violated().isEmpty()) {
                bugs.add(caught.get(i).config().seed());
            } else {
                System.out.println("not counted: without the bug, seed " + controls.get(i).config().seed() + " fails as well: "
                        + controls.get(i).violation().orElseThrow());
            }
        }
        System.out.println("planted " + hunt.bug() + " caught by " + hunt.caughtBy() + " in " + bugs.size() + " of " + hunt.seeds()
                + " seeds (at least " + hunt.mustCatch() + " required; " + hunt + "): seeds " + bugs);
        caught.stream().filter(r -> bugs.contains(r.config().seed())).findFirst()
                .ifPresent(r -> System.out.println("first catch: " + r.violation().orElseThrow() + "\n  replay: " + Simulation.replayCommand(r.config())));
        CATCHES.put(hunt, List.copyOf(bugs));
        return bugs;
    }

    static List<Simulation.Result> runAll(List<Simulation.Config> configs) throws Exception {
        long start = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors())));
        List<Future<Simulation.Result>> futures = new ArrayList<>();
        for (Simulation.Config c : configs) {
            futures.add(pool.submit(() -> Simulation.run(c)));
        }
        List<Simulation.Result> results = new ArrayList<>();
        for (Future<Simulation.Result> f : futures) {
            results.add(f.get());
        }
        pool.shutdown();
        double secs = (System.nanoTime() - start) / 1e9;
        Duration maxConv = results.stream().flatMap(r -> r.convergence().stream()).max(Comparator.naturalOrder()).orElse(Duration.ZERO);
        long virtual = results.stream().mapToLong(r -> r.virtualTime().toSeconds()).sum();
        long acked = results.stream().mapToLong(Simulation.Result::acked).sum();
        long lostAsync = results.stream().filter(r -> !r.config().syncMode().enabled()).mapToLong(Simulation.Result::lostAcked).sum();
        long changes = results.stream().mapToLong(Simulation.Result::leaderChanges).sum();
        java.util.Map<Simulation.Fault, Integer> kinds = new java.util.EnumMap<>(Simulation.Fault.class);
        results.forEach(r -> r.faultCounts().forEach((k, n) -> kinds.merge(k, n, Integer::sum)));
        java.util.Map<Simulation.Invariant, Long> broken = new java.util.EnumMap<>(Simulation.Invariant.class);
        results.forEach(r -> r.violated().ifPresent(v -> broken.merge(v, 1L, Long::sum)));
        long failovers = results.stream().mapToLong(Simulation.Result::failovers).sum();
        long worstAsyncLoss = results.stream().filter(r -> !r.config().syncMode().enabled())
                .mapToLong(Simulation.Result::mostLostInAFailover).max().orElse(0);
        long worstAfterPublication = results.stream().filter(r -> !r.config().syncMode().enabled())
                .mapToLong(Simulation.Result::mostLostAfterPublication).max().orElse(0);
        System.out.printf("simulated %d seeds in %.1f s (%.1f seeds/s, %d virtual s, %d leader changes, %d automatic failovers, "
                        + "%d acked commits, %d lost in async mode, at most %d in one async failover, %d of them after the leader's last published optime); slowest convergence after heal %d ms%n"
                        + "  failsafe_mode in %d seeds, quorum commit in %d; faults drawn: %s%n  violations: %s%n",
                results.size(), secs, results.size() / secs, virtual, changes, failovers, acked, lostAsync, worstAsyncLoss, worstAfterPublication,
                maxConv.toMillis(), results.stream().filter(r -> r.config().failsafeMode()).count(),
                results.stream().filter(r -> r.config().syncMode().quorum()).count(), kinds,
                broken.isEmpty() ? "none" : broken);
        return results;
    }
}
