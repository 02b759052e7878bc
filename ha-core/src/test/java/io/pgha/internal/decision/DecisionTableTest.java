package io.pgha.internal.decision;

import static io.pgha.internal.decision.Situation.ME;
import static io.pgha.internal.decision.Situation.down;
import static io.pgha.internal.decision.Situation.primary;
import static io.pgha.internal.decision.Situation.replica;
import static io.pgha.internal.decision.Situation.standby;
import static io.pgha.internal.decision.Situation.quorumStandby;
import static io.pgha.internal.decision.Situation.syncStandby;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.HaSettings;
import io.pgha.MemberTags;
import io.pgha.SynchronousMode;
import io.pgha.internal.decision.Action.AcquireLock;
import io.pgha.internal.decision.Action.Bootstrap;
import io.pgha.internal.decision.Action.CancelAction;
import io.pgha.internal.decision.Action.CheckDivergence;
import io.pgha.internal.decision.Action.ClaimInitialize;
import io.pgha.internal.decision.Action.ClearFailover;
import io.pgha.internal.decision.Action.CloneFrom;
import io.pgha.internal.decision.Action.DeleteSync;
import io.pgha.internal.decision.Action.Demote;
import io.pgha.internal.decision.Action.Fail;
import io.pgha.internal.decision.Action.Follow;
import io.pgha.internal.decision.Action.Promote;
import io.pgha.internal.decision.Action.ReleaseLock;
import io.pgha.internal.decision.Action.RenewLock;
import io.pgha.internal.decision.Action.Rewind;
import io.pgha.internal.decision.Action.SetSyncStandbys;
import io.pgha.internal.decision.Action.StartPostgres;
import io.pgha.internal.decision.Action.WriteConfig;
import io.pgha.internal.decision.Action.WriteHistory;
import io.pgha.internal.decision.Action.WriteInitialize;
import io.pgha.internal.decision.Action.WriteSync;
import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.RunState;
import io.pgha.spi.SynchronousStandbys;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One row per branch of the decision: the situation, the steps expected in order, and a phrase the
 * one-line reason must contain. Rows are grouped like Patroni's HA cycle.
 */
class DecisionTableTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decides(String sentence, Situation situation, String reason, List<Class<? extends Action>> steps, Predicate<Decision> extra) {
        Decision d = situation.decide();
        assertThat(d.actions()).as("steps of: " + d).extracting(a -> (Object) a.getClass()).containsExactlyElementsOf(steps);
        assertThat(d.reason()).as("reason").contains(reason);
        assertThat(extra.test(d)).as("details of " + d).isTrue();
    }

    static Stream<Arguments> rows() {
        return Stream.of(
                // ------------------------------------------------------------------ bootstrap
                row("an empty node races for the initialize key when the cluster has never been bootstrapped",
                        Situation.of().uninitialized().noInitializeKey(),
                        "trying to bootstrap a new cluster", List.of(ClaimInitialize.class, Bootstrap.class)),
                row("an empty node waits while another member bootstraps",
                        Situation.of().uninitialized().initializeKey(""),
                        "another member is bootstrapping", List.of()),
                row("an empty node clears a bootstrap claim that no member has worked on for a ttl",
                        Situation.of().uninitialized().initializeKey("").claimSeenFor(HaSettings.defaults().ttl()),
                        "the bootstrap claim is abandoned", List.of(Action.ClearInitialize.class),
                        d -> ((Action.ClearInitialize) d.actions().get(0)).expectedVersion() == 3),
                row("an empty node honours a bootstrap claim for a ttl",
                        Situation.of().uninitialized().initializeKey("").claimSeenFor(HaSettings.defaults().ttl().minusSeconds(1)),
                        "another member is bootstrapping", List.of()),
                row("an empty node honours a bootstrap claim however old while a member shows it initializing the cluster",
                        Situation.of().uninitialized().initializeKey("").claimSeenFor(Duration.ofMinutes(10))
                                .memberInState("n2", "initializing new cluster"),
                        "another member is bootstrapping", List.of()),
                row("an empty nofailover node never bootstraps the cluster",
                        Situation.of().uninitialized().noInitializeKey().tags(MemberTags.DEFAULT.withNofailover(true)),
                        "nofailover", List.of()),
                row("an empty node clones from the running leader",
                        Situation.of().uninitialized().leader("n2").member("n2", "primary", 500),
                        "trying to bootstrap from leader 'n2'", List.of(CloneFrom.class),
                        d -> ((CloneFrom) d.actions().get(0)).source().member().equals("n2")),
                row("an empty node prefers a running replica tagged clonefrom",
                        Situation.of().uninitialized().leader("n2").member("n2", "primary", 500)
                                .member("n3", "replica", 500, MemberTags.DEFAULT.withClonefrom(true)),
                        "from replica 'n3'", List.of(CloneFrom.class)),
                row("an empty node waits for a leader that is not running yet",
                        Situation.of().uninitialized().leader("n2").stoppedMember("n2"),
                        "to run before cloning", List.of()),
                row("an empty node of an initialized cluster without a leader waits for one to clone from",
                        Situation.of().uninitialized().initializeKey("7000000000000000001"),
                        "waiting for a leader to clone from", List.of()),
                row("an empty node of an initialized cluster without a leader restores with a no_leader replica method",
                        Situation.of().uninitialized().initializeKey("7000000000000000001").canRestoreWithoutLeader(),
                        "creating a replica without one", List.of(Action.CreateReplicaWithoutLeader.class)),
                row("an empty node restores without a leader only when there is none: with one it clones",
                        Situation.of().uninitialized().canRestoreWithoutLeader().leader("n2").member("n2", "primary", 500),
                        "trying to bootstrap from leader 'n2'", List.of(CloneFrom.class)),
                row("an empty node does not restore while another member bootstraps the cluster",
                        Situation.of().uninitialized().initializeKey("").canRestoreWithoutLeader(),
                        "another member is bootstrapping", List.of()),
                row("a member whose name maps to the slot of a member that sorts before it stops naming it",
                        Situation.of().leader("n2").member("n2", "primary", 500).member("N1", "replica", 500).runningReplicaOf("n2", 500),
                        "maps to the replication slot 'n1', which member 'N1' streams through", List.of(Fail.class)),
                row("a member whose name maps to the leader's slot stops, the leader runs on",
                        Situation.of().leader("N1").member("N1", "primary", 500).runningReplicaOf("N1", 500),
                        "which member 'N1' streams through", List.of(Fail.class)),
                row("two names that map to one slot do not matter with use_slots off",
                        Situation.of().leader("n2").member("n2", "primary", 500).member("N1", "replica", 500).runningReplicaOf("n2", 500)
                                .dynamicConfig("{\"postgresql\": {\"use_slots\": false}}"),
                        "", List.of(),
                        d -> d.actions().stream().noneMatch(a -> a instanceof Fail)),
                row("with failsafe_mode the leader writes the members with an api_url to the failsafe key",
                        Situation.of().iLead().runningPrimary(800).member(Situation.ME, "primary", 800).member("n2", "replica", 800)
                                .dynamicConfig("{\"failsafe_mode\": true}"),
                        "failsafe_mode: writing the members", List.of(RenewLock.class, Action.WriteFailsafe.class),
                        d -> ((Action.WriteFailsafe) d.actions().get(1)).members().keySet().equals(java.util.Set.of(Situation.ME, "n2"))),
                row("with failsafe_mode a replica that confirmed a primary within the ttl does not race",
                        Situation.of().runningReplicaOf("n2", 800).member("n3", "replica", 700).dynamicConfig("{\"failsafe_mode\": true}")
                                .failsafeHeardFrom("n2"),
                        "leader 'n2' confirmed within the ttl", List.of()),
                row("with failsafe_mode a member left out of the failsafe topology does not race",
                        Situation.of().runningReplicaOf("n2", 800).dynamicConfig("{\"failsafe_mode\": true}")
                                .failsafeKey(java.util.Map.of("n2", "http://n2", "n3", "http://n3")),
                        "not in the failsafe topology", List.of()),
                row("with failsafe_mode a member left out races once a listed standby says failsafe mode is over",
                        Situation.of().runningReplicaOf("n2", 800).dynamicConfig("{\"failsafe_mode\": true}")
                                .failsafeKey(java.util.Map.of("n2", "http://n2", "n3", "http://n3")).peer("n3", true, 700, 1),
                        "promoted self to leader", List.of(AcquireLock.class, Promote.class)),
                row("a member whose required watchdog cannot be used does not race for the lock",
                        Situation.of().runningReplicaOf("n2", 800).watchdogUnusable(),
                        "the watchdog is required", List.of()),
                row("a leader whose data directory is empty releases the lock",
                        Situation.of().uninitialized().iLead(),
                        "data directory is empty", List.of(ReleaseLock.class)),
                row("a running primary taking over an existing data directory writes the initialize key",
                        Situation.of().noInitializeKey().runningPrimary(800),
                        "taking over an existing data directory", List.of(WriteInitialize.class)),
                row("a leader whose cluster has no system identifier yet records its own",
                        Situation.of().initializeKey("").iLead().runningPrimary(800).member(ME, "primary", 800),
                        "writing initialize key", List.of(RenewLock.class, WriteInitialize.class)),
                row("a node whose system identifier differs from the cluster's stops with a clear error",
                        Situation.of().initializeKey("7999999999999999999").leader("n2").member("n2", "primary", 500),
                        "system ID mismatch", List.of(Fail.class)),
                row("the leader writes its settings when the cluster has no dynamic configuration",
                        Situation.of().iLead().runningPrimary(800).noConfig(),
                        "no dynamic configuration", List.of(RenewLock.class, WriteConfig.class)),

                // ------------------------------------------------------------------ the lock
                row("a healthiest replica takes the free leader lock and promotes",
                        Situation.of().runningReplicaOf("n2", 1000).member("n3", "replica", 900).peer("n3", true, 900, 1),
                        "promoted self to leader by acquiring the session lock", List.of(AcquireLock.class, Promote.class)),
                row("a running primary without the lock takes the free lock without promoting",
                        Situation.of().runningPrimary(1000),
                        "acquired the session lock as a running primary", List.of(AcquireLock.class)),
                row("the leader renews its lock each cycle",
                        Situation.of().iLead().runningPrimary(800).member(ME, "primary", 800),
                        "no action. I am (n1), the leader with the lock", List.of(RenewLock.class)),
                row("a lock holder still in recovery promotes after renewing",
                        Situation.of().iLead().runningReplicaOf("n2", 800),
                        "because I had the session lock", List.of(RenewLock.class, Promote.class)),
                row("a node whose release had an unknown outcome and that the key still names releases it again instead of renewing it",
                        Situation.of().leader(ME).releasedTheLock().runningReplicaOf("n2", 800),
                        "still names this member after it gave the lock up", List.of(ReleaseLock.class)),
                row("a key that still names a node after it gave the lock up is released again even while a long action runs",
                        Situation.of().leader(ME).releasedTheLock().runningReplicaOf("n2", 800)
                                .running(new Action.Follow(java.util.Optional.empty())),
                        "releasing it again", List.of(ReleaseLock.class)),
                row("a primary that lost the lock to another member demotes at once, without the lock",
                        Situation.of().leader("n2").member("n2", "primary", 900).runningPrimary(800),
                        "I do not have the lock", List.of(Demote.class), demote(DemoteMode.IMMEDIATE_NOLOCK)),
                row("a primary cut off from the store stays primary while its lease is certainly valid",
                        Situation.of().dcsDown().runningPrimary(800).lease(true),
                        "staying primary while the lease is certainly valid", List.of()),
                row("a primary cut off from the store demotes once its lease may have expired",
                        Situation.of().dcsDown().runningPrimary(800).lease(false),
                        "the lease may have expired", List.of(Demote.class), demote(DemoteMode.OFFLINE)),
                row("a replica cut off from the store keeps running as it is",
                        Situation.of().dcsDown().runningReplicaOf("n2", 800),
                        "DCS is not accessible", List.of()),
                row("a promotion in flight is abandoned when the store is gone and the lease may have expired",
                        Situation.of().dcsDown().runningReplicaOf(null, 800).running(new Promote()),
                        "abandoning the promotion", List.of(CancelAction.class, Demote.class)),

                // ------------------------------------------------------------------ following
                row("a streaming replica of the leader has nothing to do",
                        Situation.of().leader("n2").member("n2", "primary", 900).runningReplicaOf("n2", 900),
                        "a secondary, and following a leader ('n2')", List.of()),
                row("a streaming replica lacking a permanent logical slot copies it from the leader (a restart)",
                        Situation.of().leader("n2").member("n2", "primary", 900).runningReplicaOf("n2", 900).lacksLogicalSlots("cdc"),
                        "copying logical slots [cdc] from the primary 'n2'", List.of(Action.CopyLogicalSlots.class),
                        d -> ((Action.CopyLogicalSlots) d.actions().get(0)).primary().member().equals("n2")),
                row("a cascading replica copies a missing logical slot from the leader, not from its upstream",
                        Situation.of().leader("n2").member("n2", "primary", 900).member("n3", "replica", 900)
                                .tags(MemberTags.DEFAULT.withReplicatefrom("n3")).runningReplicaOf("n3", 900).lacksLogicalSlots("cdc"),
                        "copying logical slots [cdc]", List.of(Action.CopyLogicalSlots.class),
                        d -> ((Action.CopyLogicalSlots) d.actions().get(0)).primary().member().equals("n2")),
                row("a replica retargeted to a new leader follows it first and copies logical slots afterwards",
                        Situation.of().leader("n3").member("n3", "primary", 900).runningReplicaOf("n2", 900)
                                .divergence("n3", DivergenceCheck.NOT_DIVERGED).lacksLogicalSlots("cdc"),
                        "changing upstream from 'n2' to 'n3'", List.of(Follow.class)),
                row("a paused replica leaves postgres as it is: no logical slot copy",
                        Situation.of().leader("n2").member("n2", "primary", 900).runningReplicaOf("n2", 900).lacksLogicalSlots("cdc")
                                .paused(),
                        "PAUSE: no action", List.of()),
                row("a replica checks for divergence before following a new leader",
                        Situation.of().leader("n3").member("n3", "primary", 900).runningReplicaOf("n2", 900),
                        "checking whether local data diverged from 'n3'", List.of(CheckDivergence.class), Decision::recheckSoon),
                row("a replica that did not diverge is retargeted to the new leader",
                        Situation.of().leader("n3").member("n3", "primary", 900).runningReplicaOf("n2", 900)
                                .divergence("n3", DivergenceCheck.NOT_DIVERGED),
                        "changing upstream from 'n2' to 'n3'", List.of(Follow.class),
                        d -> ((Follow) d.actions().get(0)).upstream().get().member().equals("n3")),
                row("a replica that diverged from the new leader is rewound",
                        Situation.of().leader("n3").member("n3", "primary", 900).runningReplicaOf("n2", 990)
                                .divergence("n3", DivergenceCheck.DIVERGED),
                        "rewinding", List.of(Rewind.class)),
                row("a diverged replica stays put when use_pg_rewind is off",
                        Situation.of().leader("n3").member("n3", "primary", 900).runningReplicaOf("n2", 990)
                                .divergence("n3", DivergenceCheck.DIVERGED).usePgRewind(false),
                        "use_pg_rewind is off", List.of()),
                row("a replica tagged replicatefrom streams from that member",
                        Situation.of().leader("n2").member("n2", "primary", 900).member("n3", "replica", 900)
                                .tags(MemberTags.DEFAULT.withReplicatefrom("n3")).runningReplicaOf("n3", 900),
                        "following a leader ('n2')", List.of()),
                row("a stopped replica is started as a standby of the leader",
                        Situation.of().leader("n2").member("n2", "primary", 900).pg(down(RunState.STOPPED, true))
                                .divergence("n2", DivergenceCheck.NOT_DIVERGED),
                        "starting as a replica of 'n2'", List.of(Follow.class)),
                row("a stopped node with no leader starts read-only",
                        Situation.of().pg(down(RunState.STOPPED, true)),
                        "starting as a read-only replica", List.of(Follow.class),
                        d -> ((Follow) d.actions().get(0)).upstream().isEmpty()),

                // ------------------------------------------------------------------ automatic failover
                row("a nofailover replica does not race",
                        Situation.of().runningReplicaOf("n2", 1000).tags(MemberTags.DEFAULT.withNofailover(true)),
                        "nofailover", List.of()),
                row("a replica with failover_priority 0 does not race",
                        Situation.of().runningReplicaOf("n2", 1000).tags(MemberTags.DEFAULT.withFailoverPriority(0)),
                        "nofailover", List.of()),
                row("a replica lagging more than maximum_lag_on_failover behind the leader's last optime does not race",
                        Situation.of().runningReplicaOf("n2", 1000).leaderOptime(1000 + 2 * 1024 * 1024),
                        "exceeds maximum_lag_on_failover", List.of()),
                row("a replica within maximum_lag_on_failover races",
                        Situation.of().runningReplicaOf("n2", 1000).leaderOptime(1000 + 1024),
                        "promoted self", List.of(AcquireLock.class, Promote.class)),
                row("a replica whose WAL ran past where its timeline ended counts only the history's part against maximum_lag_on_failover",
                        Situation.of().pg(Situation.replica("n2", true, 1000, 1)).history(1).leaderOptime(1000 + 1024 * 1024 - 100),
                        "exceeds maximum_lag_on_failover", List.of()),
                row("a peer whose WAL ran past where its timeline ended does not count as having more WAL",
                        Situation.of().pg(Situation.replica("n2", true, 500, 2)).history(1).peer("n3", true, 1200, 1),
                        "promoted self", List.of(AcquireLock.class, Promote.class)),
                row("a replica defers to a reachable peer that is still primary",
                        Situation.of().runningReplicaOf("n2", 1000).peer("n2", false, 1000, 1),
                        "primary 'n2' is still alive", List.of()),
                row("a replica defers to a peer with more WAL",
                        Situation.of().runningReplicaOf("n2", 1000).peer("n3", true, 1200, 1),
                        "'n3' has more WAL", List.of()),
                row("a replica defers to a peer with the same WAL and a higher failover_priority",
                        Situation.of().runningReplicaOf("n2", 1000).peer("n3", true, 1000, 5),
                        "higher failover_priority", List.of()),
                row("a replica wins a tie against a peer with a lower failover_priority",
                        Situation.of().runningReplicaOf("n2", 1000).tags(MemberTags.DEFAULT.withFailoverPriority(3))
                                .peer("n3", true, 1000, 2),
                        "promoted self", List.of(AcquireLock.class, Promote.class)),
                row("a nofailover peer with more WAL does not stop a replica from racing",
                        Situation.of().runningReplicaOf("n2", 1000).nofailoverPeer("n3", 5000),
                        "promoted self", List.of(AcquireLock.class, Promote.class)),
                row("a peer that did not answer is ignored",
                        Situation.of().runningReplicaOf("n2", 1000).member("n3", "replica", 5000),
                        "promoted self", List.of(AcquireLock.class, Promote.class)),
                row("a primary on a timeline older than the cluster's demotes instead of racing",
                        Situation.of().pg(primary(1000, 1, List.of(), SynchronousStandbys.NONE)).history(1),
                        "stale primary", List.of(Demote.class)),
                row("a running primary that is not the healthiest demotes",
                        Situation.of().runningPrimary(1000).peer("n3", true, 1200, 1),
                        "demoting self because I am not the healthiest node", List.of(Demote.class)),

                // ------------------------------------------------------------------ manual switchover and failover
                row("the leader demotes gracefully for a switchover when the candidate is healthy",
                        Situation.of().iLead().runningPrimary(1000).member("n2", "replica", 1000).failover(ME, "n2")
                                .peer("n2", true, 1000, 1),
                        "demoting myself in favour of 'n2'", List.of(RenewLock.class, Demote.class), demote(DemoteMode.GRACEFUL)),
                row("the leader drops a switchover request when no candidate is healthy",
                        Situation.of().iLead().runningPrimary(5_000_000).member("n2", "replica", 1000).failover(ME, "n2")
                                .peer("n2", true, 1000, 1),
                        "no healthy candidate", List.of(RenewLock.class, ClearFailover.class)),
                row("the leader drops a switchover request to a member that does not answer",
                        Situation.of().iLead().runningPrimary(1000).member("n2", "replica", 1000).failover(ME, "n2"),
                        "did not answer", List.of(RenewLock.class, ClearFailover.class)),
                row("the leader waits for a switchover scheduled later",
                        Situation.of().iLead().runningPrimary(1000).member("n2", "replica", 1000)
                                .scheduledSwitchover(ME, "n2", Duration.ofMinutes(5)),
                        "awaiting scheduled switchover", List.of(RenewLock.class)),
                row("the leader discards a scheduled switchover that is too late",
                        Situation.of().iLead().runningPrimary(1000).member("n2", "replica", 1000)
                                .scheduledSwitchover(ME, "n2", Duration.ofMinutes(-5)),
                        "too late", List.of(RenewLock.class, ClearFailover.class)),
                row("the leader clears a request that names another leader",
                        Situation.of().iLead().runningPrimary(1000).failover("n9", "n2"),
                        "names leader 'n9'", List.of(RenewLock.class, ClearFailover.class)),
                row("the named candidate takes the free lock without a lag check",
                        Situation.of().runningReplicaOf("n2", 1000).leaderOptime(99_000_000).failover("n2", ME),
                        "manual failover candidate", List.of(AcquireLock.class, ClearFailover.class, Promote.class)),
                row("other members stay out while the named candidate is healthy",
                        Situation.of().runningReplicaOf("n2", 5000).failover("n2", "n3").peer("n3", true, 1000, 1),
                        "manual failover to 'n3' is in progress", List.of()),
                row("the former leader defers to the other members after a switchover",
                        Situation.of().pg(replica(null, false, 1000, 1)).failover(ME, null).peer("n3", true, 900, 1),
                        "the former leader defers", List.of()),

                // ------------------------------------------------------------------ crashed primary
                row("a crashed primary holding the lock is restarted in place",
                        Situation.of().iLead().pg(down(RunState.CRASHED, false)).member("n2", "replica", 900)
                                .primaryUnhealthyFor(Duration.ofSeconds(5)),
                        "starting primary after a crash", List.of(RenewLock.class, StartPostgres.class)),
                row("a crashed primary fails over once primary_start_timeout has passed",
                        Situation.of().iLead().pg(down(RunState.CRASHED, false)).member("n2", "replica", 900)
                                .primaryUnhealthyFor(Duration.ofSeconds(301)),
                        "did not come back within primary_start_timeout", List.of(Demote.class), demote(DemoteMode.IMMEDIATE)),
                row("a crashed primary fails over at once when primary_start_timeout is 0",
                        Situation.of().iLead().pg(down(RunState.CRASHED, false)).member("n2", "replica", 900)
                                .primaryStartTimeout(Duration.ZERO),
                        "primary_start_timeout is 0", List.of(Demote.class)),
                row("a crashed primary keeps restarting when no other member could take over",
                        Situation.of().iLead().pg(down(RunState.CRASHED, false)).stoppedMember("n2")
                                .primaryUnhealthyFor(Duration.ofSeconds(301)),
                        "starting primary after a crash", List.of(RenewLock.class, StartPostgres.class)),
                row("a starting primary renews its lock while it starts",
                        Situation.of().iLead().pg(down(RunState.STARTING, false)),
                        "postgres is starting", List.of(RenewLock.class)),
                row("a starting primary fails over after primary_start_timeout",
                        Situation.of().iLead().pg(down(RunState.STARTING, false)).member("n2", "replica", 900)
                                .primaryUnhealthyFor(Duration.ofSeconds(301)),
                        "did not start within primary_start_timeout", List.of(Demote.class)),

                // ------------------------------------------------------------------ synchronous mode
                row("in synchronous mode a replica that is not a synchronous standby does not race",
                        Situation.of().syncMode(SynchronousMode.ON).syncKey("n2", "n3").runningReplicaOf("n2", 1000),
                        "not a synchronous standby", List.of()),
                row("in synchronous mode a sync key that names no leader restricts nobody, as in Patroni",
                        Situation.of().syncMode(SynchronousMode.ON).runningReplicaOf("n2", 1000),
                        "promoted self", List.of(AcquireLock.class, WriteSync.class, Promote.class)),
                row("in synchronous mode a synchronous standby publishes itself as sync leader before promoting",
                        Situation.of().syncMode(SynchronousMode.ON).syncKey("n2", ME).runningReplicaOf("n2", 1000),
                        "promoted self", List.of(AcquireLock.class, WriteSync.class, Promote.class),
                        d -> ((WriteSync) d.actions().get(1)).standbys().isEmpty()),
                row("in strict mode the new primary blocks writes until a standby is confirmed",
                        Situation.of().syncMode(SynchronousMode.STRICT).syncKey("n2", ME).runningReplicaOf("n2", 1000),
                        "promoted self", List.of(AcquireLock.class, WriteSync.class, SetSyncStandbys.class, Promote.class),
                        d -> ((SetSyncStandbys) d.actions().get(2)).value().names().equals(List.of(Decider.STRICT_PLACEHOLDER))),
                row("the synchronous leader names a new standby in synchronous_standby_names before publishing it",
                        Situation.of().syncMode(SynchronousMode.ON).iLead().syncKey(ME)
                                .member("n2", "replica", 1000).pg(primary(1000, 1, List.of(standby("n2", 1000)), SynchronousStandbys.NONE)),
                        "setting synchronous_standby_names", List.of(RenewLock.class, SetSyncStandbys.class),
                        d -> ((SetSyncStandbys) d.actions().get(1)).value().names().equals(List.of("n2"))),
                row("the synchronous leader publishes a named standby once it flushed past the change",
                        Situation.of().syncMode(SynchronousMode.ON).iLead().syncKey(ME).syncChangedAt(900)
                                .member("n2", "replica", 1000)
                                .pg(primary(1000, 1, List.of(syncStandby("n2", 950)), SynchronousStandbys.all(List.of("n2")))),
                        "publishing [n2]", List.of(RenewLock.class, WriteSync.class),
                        d -> ((WriteSync) d.actions().get(1)).standbys().equals(java.util.Set.of("n2"))),
                row("a named standby that PostgreSQL does not count as synchronous yet (still catching up) is not published",
                        Situation.of().syncMode(SynchronousMode.ON).iLead().syncKey(ME).syncChangedAt(900)
                                .member("n2", "replica", 1000)
                                .pg(primary(1000, 1, List.of(standby("n2", 950)), SynchronousStandbys.all(List.of("n2")))),
                        "the leader with the lock", List.of(RenewLock.class)),
                row("after an agent restart with the setting already in force the leader applies it again before publishing anyone",
                        Situation.of().syncMode(SynchronousMode.ON).iLead().syncKey(ME)
                                .member("n2", "replica", 1000)
                                .pg(primary(1000, 1, List.of(syncStandby("n2", 1000)), SynchronousStandbys.all(List.of("n2")))),
                        "setting synchronous_standby_names to", List.of(RenewLock.class, SetSyncStandbys.class),
                        d -> ((SetSyncStandbys) d.actions().get(1)).value().names().equals(List.of("n2"))),
                row("the synchronous leader does not publish a standby that has not caught up",
                        Situation.of().syncMode(SynchronousMode.ON).iLead().syncKey(ME).syncChangedAt(990)
                                .member("n2", "replica", 1000)
                                .pg(primary(1000, 1, List.of(standby("n2", 950)), SynchronousStandbys.all(List.of("n2")))),
                        "the leader with the lock", List.of(RenewLock.class)),
                row("the synchronous leader unpublishes a standby that left before removing it from the setting",
                        Situation.of().syncMode(SynchronousMode.ON).iLead().syncKey(ME, "n2")
                                .pg(primary(1000, 1, List.of(), SynchronousStandbys.all(List.of("n2")))),
                        "unpublishing [n2]", List.of(RenewLock.class, WriteSync.class),
                        d -> ((WriteSync) d.actions().get(1)).standbys().isEmpty()),
                row("the synchronous leader drops to asynchronous once nothing is published",
                        Situation.of().syncMode(SynchronousMode.ON).iLead().syncKey(ME)
                                .pg(primary(1000, 1, List.of(), SynchronousStandbys.all(List.of("n2")))),
                        "setting synchronous_standby_names to ''", List.of(RenewLock.class, SetSyncStandbys.class)),
                row("in strict mode the leader keeps the published standby in the setting when no replacement streams",
                        Situation.of().syncMode(SynchronousMode.STRICT).iLead().syncKey(ME, "n2").syncChangedAt(500)
                                .pg(primary(1000, 1, List.of(), SynchronousStandbys.all(List.of("n2")))),
                        "the leader with the lock", List.of(RenewLock.class)),
                row("in strict mode a leader with no standby at all names the placeholder",
                        Situation.of().syncMode(SynchronousMode.STRICT).iLead().syncKey(ME)
                                .pg(primary(1000, 1, List.of(), SynchronousStandbys.NONE)),
                        "__pgha_strict_sync_placeholder__", List.of(RenewLock.class, SetSyncStandbys.class)),
                row("a nosync member is never chosen as a synchronous standby",
                        Situation.of().syncMode(SynchronousMode.ON).iLead().syncKey(ME).syncChangedAt(500)
                                .member("n2", "replica", 1000, MemberTags.DEFAULT.withNosync(true))
                                .pg(primary(1000, 1, List.of(standby("n2", 1000)), SynchronousStandbys.NONE)),
                        "the leader with the lock", List.of(RenewLock.class)),
                row("with synchronous mode turned off the leader deletes the sync key",
                        Situation.of().iLead().syncKey(ME, "n2").runningPrimary(1000),
                        "synchronous mode is off", List.of(RenewLock.class, DeleteSync.class)),

                // ------------------------------------------------------------------ quorum commit (synchronous_mode: quorum)
                row("in quorum mode a voter promotes once quorum voters answered not ahead, after setting ANY over the others",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey("n2", 1, ME, "n3").runningReplicaOf("n2", 1000)
                                .peer("n3", true, 900, 1),
                        "quorum 1 reached", List.of(AcquireLock.class, SetSyncStandbys.class, Promote.class),
                        d -> ((SetSyncStandbys) d.actions().get(1)).value().toSetting().equals("ANY 1 (\"n2\",\"n3\")")),
                row("in quorum mode a voter that hears from fewer than quorum voters does not race",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey("n2", 1, ME, "n3").runningReplicaOf("n2", 1000),
                        "quorum 1 not reached", List.of()),
                row("in quorum mode a voter defers to a voter that is ahead",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey("n2", 1, ME, "n3").runningReplicaOf("n2", 1000)
                                .peer("n3", true, 1100, 1),
                        "'n3' has more WAL", List.of()),
                row("in quorum mode the former leader being ahead does not stop the race, and its answer is no vote",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey("n2", 1, ME, "n3").runningReplicaOf("n2", 1000)
                                .peer("n2", true, 1100, 1).peer("n3", true, 1000, 1),
                        "quorum 1 reached", List.of(AcquireLock.class, SetSyncStandbys.class, Promote.class)),
                row("in quorum mode a non-voter needs one confirmation more than the quorum",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey("n2", 1, "n3", "n4").runningReplicaOf("n2", 1000)
                                .peer("n3", true, 900, 1),
                        "a non-voter needs one more", List.of()),
                row("in quorum mode a non-voter with quorum + 1 confirmations promotes, waiting for one more standby",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey("n2", 1, "n3", "n4").runningReplicaOf("n2", 1000)
                                .peer("n3", true, 900, 1).peer("n4", true, 900, 1),
                        "quorum 1 reached", List.of(AcquireLock.class, SetSyncStandbys.class, Promote.class),
                        d -> ((SetSyncStandbys) d.actions().get(1)).value().toSetting().equals("ANY 2 (\"n2\",\"n3\",\"n4\")")),
                row("in quorum mode the former leader counts as healthy when nobody is ahead",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey(ME, 1, "n2", "n3").runningReplicaOf(null, 1000),
                        "quorum 1 reached", List.of(AcquireLock.class, SetSyncStandbys.class, Promote.class)),
                row("in quorum mode the former leader that saw another member lead after it needs its quorum like anyone",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey(ME, 1, "n2", "n3").runningReplicaOf(null, 1000)
                                .leaderSeen("n2"),
                        "quorum 1 not reached", List.of()),
                row("in quorum mode the former leader on a timeline behind the history needs its quorum like anyone",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey(ME, 1, "n2", "n3").runningReplicaOf(null, 1000)
                                .history(1),
                        "quorum 1 not reached", List.of()),
                row("in quorum mode a voter tagged nofailover gives no vote",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey("n2", 1, ME, "n3").runningReplicaOf("n2", 1000)
                                .nofailoverPeer("n3", 900),
                        "quorum 1 not reached", List.of()),
                row("in quorum mode the named switchover candidate still needs quorum voters that are not ahead",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey("n2", 1, ME, "n3").runningReplicaOf("n2", 1000)
                                .failover("n2", ME),
                        "quorum 1 not reached", List.of()),
                row("in quorum mode the named switchover candidate promotes with its quorum",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey("n2", 1, ME, "n3").runningReplicaOf("n2", 1000)
                                .failover("n2", ME).peer("n2", true, 1000, 1).peer("n3", true, 1000, 5),
                        "switchover candidate, manual failover: quorum 1 reached",
                        List.of(AcquireLock.class, ClearFailover.class, SetSyncStandbys.class, Promote.class)),
                row("a switchover in quorum mode is not raced by a member outside the sync key",
                        Situation.of().syncMode(SynchronousMode.QUORUM).quorumKey("n2", 1, "n3").runningReplicaOf("n2", 1000)
                                .failover("n2", null).peer("n3", true, 900, 1),
                        "raced only by the voters", List.of()),
                row("the quorum leader without a sync key writes one naming itself",
                        Situation.of().syncMode(SynchronousMode.QUORUM).iLead().runningPrimary(1000),
                        "enabling synchronous replication", List.of(RenewLock.class, WriteSync.class),
                        d -> ((WriteSync) d.actions().get(1)).standbys().isEmpty() && ((WriteSync) d.actions().get(1)).quorum() == 0),
                row("the quorum leader names new standbys in synchronous_standby_names first when it is empty",
                        Situation.of().syncMode(SynchronousMode.QUORUM).iLead().quorumKey(ME, 0)
                                .member("n2", "replica", 1000).member("n3", "replica", 1000)
                                .pg(primary(1000, 1, List.of(standby("n2", 1000), standby("n3", 1000)), SynchronousStandbys.NONE)),
                        "ANY 1 (\"n2\",\"n3\")", List.of(RenewLock.class, SetSyncStandbys.class)),
                row("the quorum leader waits while no named standby confirmed",
                        Situation.of().syncMode(SynchronousMode.QUORUM).iLead().quorumKey(ME, 0).syncChangedAt(990)
                                .member("n2", "replica", 1000).member("n3", "replica", 1000)
                                .pg(primary(1000, 1, List.of(quorumStandby("n2", 950), quorumStandby("n3", 950)),
                                        SynchronousStandbys.any(1, List.of("n2", "n3")))),
                        "waiting for the standbys", List.of(RenewLock.class)),
                row("the quorum leader writes the voters with quorum = voters - numsync once a named standby confirmed",
                        Situation.of().syncMode(SynchronousMode.QUORUM).iLead().quorumKey(ME, 0).syncChangedAt(900)
                                .member("n2", "replica", 1000).member("n3", "replica", 1000)
                                .pg(primary(1000, 1, List.of(quorumStandby("n2", 950), quorumStandby("n3", 950)),
                                        SynchronousStandbys.any(1, List.of("n2", "n3")))),
                        "quorum to 1 of [n2, n3]", List.of(RenewLock.class, WriteSync.class),
                        d -> ((WriteSync) d.actions().get(1)).quorum() == 1
                                && ((WriteSync) d.actions().get(1)).standbys().equals(java.util.Set.of("n2", "n3"))),
                row("a new quorum leader takes the key over with the former leader among the voters and the quorum kept",
                        Situation.of().syncMode(SynchronousMode.QUORUM).iLead().quorumKey("n2", 1, ME, "n3").syncChangedAt(900)
                                .member("n2", "replica", 1000).member("n3", "replica", 1000)
                                .pg(primary(1000, 1, List.of(quorumStandby("n3", 950)), SynchronousStandbys.any(1, List.of("n2", "n3")))),
                        "setting leader to n1, quorum to 1 of [n2, n3]", List.of(RenewLock.class, WriteSync.class)),
                row("the quorum leader raises the quorum before synchronous_standby_names waits for fewer standbys",
                        Situation.of().syncMode(SynchronousMode.QUORUM).iLead().quorumKey(ME, 0, "n2", "n3").syncChangedAt(900)
                                .member("n2", "replica", 1000).member("n3", "replica", 1000)
                                .pg(primary(1000, 1, List.of(quorumStandby("n2", 950), quorumStandby("n3", 950)),
                                        SynchronousStandbys.any(2, List.of("n2", "n3")))),
                        "quorum to 1 of [n2, n3]", List.of(RenewLock.class, WriteSync.class)),
                row("with synchronous_node_count raised the quorum leader sets ANY 2 before lowering the quorum",
                        Situation.of().syncMode(SynchronousMode.QUORUM).syncNodeCount(2).iLead().quorumKey(ME, 1, "n2", "n3")
                                .syncChangedAt(900).member("n2", "replica", 1000).member("n3", "replica", 1000)
                                .pg(primary(1000, 1, List.of(quorumStandby("n2", 950), quorumStandby("n3", 950)),
                                        SynchronousStandbys.any(1, List.of("n2", "n3")))),
                        "ANY 2 (\"n2\",\"n3\")", List.of(RenewLock.class, SetSyncStandbys.class)),
                row("switched to quorum mode the leader turns FIRST n into ANY n",
                        Situation.of().syncMode(SynchronousMode.QUORUM).iLead().quorumKey(ME, 0, "n2").syncChangedAt(900)
                                .member("n2", "replica", 1000)
                                .pg(primary(1000, 1, List.of(syncStandby("n2", 950)), SynchronousStandbys.all(List.of("n2")))),
                        "ANY 1 (\"n2\")", List.of(RenewLock.class, SetSyncStandbys.class)),
                row("switched from quorum to on, the leader unpublishes every voter while ANY k of more than k holds",
                        Situation.of().syncMode(SynchronousMode.ON).iLead().quorumKey(ME, 1, "n2", "n3").syncChangedAt(900)
                                .member("n2", "replica", 1000).member("n3", "replica", 1000)
                                .pg(primary(1000, 1, List.of(quorumStandby("n2", 950), quorumStandby("n3", 950)),
                                        SynchronousStandbys.any(1, List.of("n2", "n3")))),
                        "unpublishing [n2, n3]", List.of(RenewLock.class, WriteSync.class),
                        d -> ((WriteSync) d.actions().get(1)).standbys().isEmpty()),
                row("strict quorum mode without a streaming standby keeps waiting for the voters",
                        Situation.of().syncMode(SynchronousMode.QUORUM_STRICT).iLead().quorumKey(ME, 1, "n2", "n3")
                                .pg(primary(1000, 1, List.of(), SynchronousStandbys.NONE)),
                        "ANY 1 (\"n2\",\"n3\")", List.of(RenewLock.class, SetSyncStandbys.class)),
                row("quorum mode without a streaming standby and without voters drops to asynchronous",
                        Situation.of().syncMode(SynchronousMode.QUORUM).iLead().quorumKey(ME, 0)
                                .pg(primary(1000, 1, List.of(), SynchronousStandbys.any(1, List.of("n2")))),
                        "clearing synchronous_standby_names", List.of(RenewLock.class, SetSyncStandbys.class)),
                row("the quorum leader drops a voter lagging more than maximum_lag_on_syncnode behind the most advanced standby, from the setting first",
                        Situation.of().syncMode(SynchronousMode.QUORUM).iLead().quorumKey(ME, 1, "n2", "n3").syncChangedAt(900)
                                .dynamicConfig("{\"maximum_lag_on_syncnode\": 1000}")
                                .member("n2", "replica", 1000).member("n3", "replica", 1000)
                                .pg(primary(5000, 1, List.of(quorumStandby("n2", 4900), quorumStandby("n3", 2000)),
                                        SynchronousStandbys.any(1, List.of("n2", "n3")))),
                        "setting synchronous_standby_names to 'ANY 1 (\"n2\")'", List.of(RenewLock.class, SetSyncStandbys.class)),
                row("the synchronous leader unpublishes a standby lagging more than maximum_lag_on_syncnode",
                        Situation.of().syncMode(SynchronousMode.ON).iLead().syncKey(ME, "n2").syncChangedAt(900)
                                .dynamicConfig("{\"maximum_lag_on_syncnode\": 1000}")
                                .member("n2", "replica", 1000).member("n3", "replica", 1000)
                                .pg(primary(5000, 1, List.of(syncStandby("n2", 2000), standby("n3", 4900)),
                                        SynchronousStandbys.all(List.of("n2")))),
                        "unpublishing [n2]", List.of(RenewLock.class, WriteSync.class)),
                row("a crashed quorum primary does not fail over while fewer than quorum + 1 voters run",
                        Situation.of().syncMode(SynchronousMode.QUORUM).iLead().quorumKey(ME, 1, "n2", "n3")
                                .pg(down(RunState.CRASHED, false)).member("n2", "replica", 900).stoppedMember("n3")
                                .primaryStartTimeout(Duration.ZERO),
                        "starting primary after a crash", List.of(RenewLock.class, StartPostgres.class)),

                // ------------------------------------------------------------------ pause
                row("a paused leader only renews",
                        Situation.of().paused().iLead().runningPrimary(1000),
                        "PAUSE: no action", List.of(RenewLock.class)),
                row("paused replicas do not race for a free lock",
                        Situation.of().paused().runningReplicaOf("n2", 1000),
                        "paused: no leader", List.of()),
                row("a paused primary without the lock is not demoted",
                        Situation.of().paused().leader("n2").member("n2", "primary", 900).runningPrimary(1000),
                        "not demoting", List.of()),
                row("a paused node does not start a stopped postgres",
                        Situation.of().paused().leader("n2").member("n2", "primary", 900).pg(down(RunState.STOPPED, true)),
                        "paused: postgres is not running", List.of()),
                row("a paused leader whose postgres stopped releases the lock",
                        Situation.of().paused().iLead().pg(down(RunState.STOPPED, false)),
                        "releasing the leader lock", List.of(ReleaseLock.class)),

                // ------------------------------------------------------------------ actions in progress, history
                row("a leader renews while its promotion is in progress",
                        Situation.of().iLead().runningReplicaOf(null, 1000).running(new Promote()),
                        "promote in progress", List.of(RenewLock.class)),
                row("a leader handing the lock over in a graceful demotion does not renew it meanwhile",
                        Situation.of().iLead().pg(primary(1000, 1, List.of(), SynchronousStandbys.NONE))
                                .running(new Demote(DemoteMode.GRACEFUL)),
                        "the leader lock is released when it ends", List.of()),
                row("a node that lost the lock before its promotion finished abandons it",
                        Situation.of().leader("n2").member("n2", "primary", 900).runningReplicaOf(null, 1000).running(new Promote()),
                        "lost the leader lock before the promotion finished", List.of(CancelAction.class, Demote.class)),
                row("a new leader records the end of the previous timeline",
                        Situation.of().iLead().pg(primary(1000, 2, List.of(), SynchronousStandbys.NONE)),
                        "recording the end of timeline 1", List.of(RenewLock.class, WriteHistory.class)),

                // ------------------------------------------------------------------ standby cluster (Patroni's standby_cluster)
                row("an empty node of a new standby cluster bootstraps by cloning the remote primary instead of running initdb",
                        Situation.of().standbyCluster().noConfig().uninitialized().noInitializeKey(),
                        "trying to bootstrap a new standby leader from remote primary 10.9.0.1:5433",
                        List.of(ClaimInitialize.class, Bootstrap.class),
                        d -> ((Bootstrap) d.actions().get(1)).standbyOf().equals(Optional.of(Situation.remotePrimary()))),
                row("a new standby cluster's first member copies the remote with standby_cluster's create_replica_methods",
                        Situation.of().dynamicConfig("{\"standby_cluster\": {\"host\": \"10.9.0.1\", \"port\": 5433,"
                                + " \"create_replica_methods\": [\"pgbackrest\", \"basebackup\"]}}").noConfig().uninitialized().noInitializeKey(),
                        "trying to bootstrap a new standby leader", List.of(ClaimInitialize.class, Bootstrap.class),
                        d -> ((Bootstrap) d.actions().get(1)).replicaMethods().equals(List.of("pgbackrest", "basebackup"))),
                row("a standby cluster with neither host nor port cannot bootstrap, and says why",
                        Situation.of().dynamicConfig("{\"standby_cluster\": {\"restore_command\": \"cp /arch/%f %p\"}}")
                                .uninitialized().noInitializeKey(),
                        "sets no host or port", List.of()),
                row("an empty node of a standby cluster waits for the standby leader to bootstrap",
                        Situation.of().standbyCluster().uninitialized().initializeKey(""),
                        "waiting for standby_leader to bootstrap", List.of()),
                row("the standby leader follows the remote primary and is not promoted",
                        Situation.of().standbyCluster().iLead().runningReplicaOf("n2", 1000),
                        "the standby leader follows the remote primary 10.9.0.1:5433", List.of(RenewLock.class, Follow.class),
                        d -> ((Follow) d.actions().get(1)).upstream().equals(Optional.of(Situation.remotePrimary()))),
                row("the standby leader that follows the remote primary only renews its lock",
                        Situation.of().standbyCluster().iLead().pg(Situation.replicaOf(Situation.remotePrimary(), 1000)),
                        "no action. I am (n1), the standby leader with the lock", List.of(RenewLock.class)),
                row("a stopped standby leader starts again following the remote primary",
                        Situation.of().standbyCluster().iLead().pg(down(RunState.STOPPED, true)),
                        "starting as the standby leader", List.of(RenewLock.class, Follow.class),
                        d -> ((Follow) d.actions().get(1)).upstream().map(io.pgha.spi.Upstream::remote).orElse(false)),
                row("a stopped member of a standby cluster with no standby leader starts following the remote primary",
                        Situation.of().standbyCluster().pg(down(RunState.STOPPED, true)),
                        "the standby cluster has no standby leader", List.of(Follow.class),
                        d -> ((Follow) d.actions().get(0)).upstream().equals(Optional.of(Situation.remotePrimary()))),
                row("failover in a standby cluster: the healthiest standby takes the lock as the new standby leader, without promoting",
                        Situation.of().standbyCluster().runningReplicaOf("n2", 1000).peer("n3", true, 900, 1),
                        "promoted self to a standby leader by acquiring the session lock", List.of(AcquireLock.class, Follow.class),
                        d -> ((Follow) d.actions().get(1)).upstream().equals(Optional.of(Situation.remotePrimary()))),
                row("failover in a standby cluster: a standby behind a peer leaves the standby leader role to it",
                        Situation.of().standbyCluster().runningReplicaOf("n2", 800).peer("n3", true, 900, 1),
                        "'n3' has more WAL", List.of()),
                row("a member of a standby cluster cascades from the standby leader, with the standby cluster's restore_command",
                        Situation.of().standbyCluster().leader("n2").member("n2", "standby_leader", 900)
                                .runningReplicaOf("n3", 1000).divergence("n2", DivergenceCheck.NOT_DIVERGED),
                        "changing upstream from 'n3' to 'n2'", List.of(Follow.class),
                        d -> ((Follow) d.actions().get(0)).upstream()
                                .map(u -> !u.remote() && u.member().equals("n2")
                                        && u.recoverySettings().equals(java.util.Map.of("restore_command", "cp /arch/%f %p")))
                                .orElse(false)),
                row("switchover in a standby cluster: the standby leader hands its role over by a graceful stop",
                        Situation.of().standbyCluster().iLead().pg(Situation.replicaOf(Situation.remotePrimary(), 1000))
                                .member("n2", "replica", 1000).failover(ME, "n2").peer("n2", true, 1000, 1),
                        "demoting myself in favour of 'n2'", List.of(RenewLock.class, Demote.class), demote(DemoteMode.GRACEFUL)),
                row("removing standby_cluster promotes the standby leader (Patroni's promote-cluster)",
                        Situation.of().iLead().pg(Situation.replicaOf(Situation.remotePrimary(), 1000)),
                        "promoted self to leader because I had the session lock", List.of(RenewLock.class, Promote.class)),
                row("a standby cluster's leader that runs as a primary is not demoted: demote-cluster is refused, and said so",
                        Situation.of().standbyCluster().iLead().runningPrimary(1000),
                        "demote-cluster", List.of(RenewLock.class)),
                row("a standby leader whose standby_cluster section became unreadable is neither promoted nor retargeted",
                        Situation.of().dynamicConfig("{\"standby_cluster\": {\"host\": \"10.9.0.1\", \"port\": \"x\"}}").iLead()
                                .pg(Situation.replicaOf(Situation.remotePrimary(), 1000)),
                        "standby_cluster cannot be read (standby_cluster.port:", List.of(RenewLock.class)),
                row("a standby does not race for a free lock while standby_cluster is unreadable: winning would promote it",
                        Situation.of().dynamicConfig("{\"standby_cluster\": {\"host\": \"10.9.0.1\", \"port\": \"x\"}}")
                                .runningReplicaOf("n2", 1000),
                        "not racing for the lock", List.of()),
                row("a new cluster whose bootstrap standby_cluster is unreadable is not bootstrapped with initdb",
                        Situation.of().dynamicConfig("{\"standby_cluster\": {\"host\": \"10.9.0.1\", \"port\": \"x\"}}").noConfig()
                                .uninitialized().noInitializeKey(),
                        "not bootstrapping a new cluster", List.of()),
                row("synchronous mode is ignored in a standby cluster: the standby leader writes no sync key",
                        Situation.of().standbyCluster().syncMode(SynchronousMode.ON).iLead()
                                .pg(Situation.replicaOf(Situation.remotePrimary(), 1000)),
                        "the standby leader with the lock", List.of(RenewLock.class)));
    }

    private static Arguments row(String sentence, Situation s, String reason, List<Class<? extends Action>> steps) {
        return row(sentence, s, reason, steps, d -> true);
    }

    private static Arguments row(String sentence, Situation s, String reason, List<Class<? extends Action>> steps,
                                 Predicate<Decision> extra) {
        return Arguments.of(sentence, s, reason, steps, extra);
    }

    private static Predicate<Decision> demote(DemoteMode mode) {
        return d -> d.actions().stream().anyMatch(a -> a instanceof Demote dm && dm.mode() == mode);
    }
}
