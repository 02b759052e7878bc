package io.pgha.internal.decision;

import io.pgha.MemberTags;
import io.pgha.Role;
import io.pgha.SynchronousMode;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.FailoverRequest;
import io.pgha.internal.cluster.HistoryEntry;
import io.pgha.internal.cluster.Member;
import io.pgha.internal.cluster.StandbyCluster;
import io.pgha.internal.cluster.SyncState;
import io.pgha.internal.cluster.TimelineHistory;
import io.pgha.internal.decision.Action.AcquireLock;
import io.pgha.internal.decision.Action.CancelAction;
import io.pgha.internal.decision.Action.CheckDivergence;
import io.pgha.internal.decision.Action.ClaimInitialize;
import io.pgha.internal.decision.Action.ClearFailover;
import io.pgha.internal.decision.Action.CloneFrom;
import io.pgha.internal.decision.Action.DeleteSync;
import io.pgha.internal.decision.Action.Demote;
import io.pgha.internal.decision.Action.Fail;
import io.pgha.internal.decision.Action.CopyLogicalSlots;
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
import io.pgha.internal.decision.NodeMemory.DivergenceResult;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.Lsn;
import io.pgha.spi.PeerStatus;
import io.pgha.spi.PostgresState;
import io.pgha.spi.ReplicationConnection;
import io.pgha.spi.RunState;
import io.pgha.spi.SynchronousStandbys;
import io.pgha.spi.Upstream;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The HA decision: Patroni's HA cycle ({@code ha.py: Ha._run_cycle}) as a pure function. It reads
 * one {@link DecisionInput} and returns the steps to take with one line saying why. No I/O, no
 * clock, no threads: the loop observes, this decides, the loop acts.
 *
 * <p>Branches follow Patroni's order: store unreachable; long action in progress; empty data
 * directory (bootstrap race, clone); cluster identity; PostgreSQL down (restart in place, fail
 * over after {@code primary_start_timeout}, start as a replica, rewind); no leader (automatic and
 * manual failover); a leader (renew, switchover, synchronous replication, history; follow and
 * retarget).
 */
public final class Decider {
    /** Named in {@code synchronous_standby_names} in strict mode when no standby qualifies: writes block. */
    public static final String STRICT_PLACEHOLDER = "__pgha_strict_sync_placeholder__";

    private Decider() {
    }

    public static Decision decide(DecisionInput in) {
        if (in.memory().fatal().isPresent()) {
            return Decision.nothing("node stopped: " + in.memory().fatal().get());
        }
        if (in.cluster().isEmpty()) {
            return dcsUnreachable(in);
        }
        Cluster c = in.cluster().get();
        boolean iLead = c.isLeader(in.me());
        if (iLead && in.lease().released()) {
            // the release had an unknown outcome (or this view predates it): the key, kept alive by
            // our member entry's lease, would stay with a node that no longer renews it as leader
            return Decision.of("the leader key still names this member after it gave the lock up: releasing it again",
                    new ReleaseLock());
        }
        Optional<Decision> clash = slotNameClash(in, c, iLead);
        if (clash.isPresent()) {
            return clash.get();
        }
        if (in.memory().request().isPresent()) {
            return request(in, c, iLead, in.memory().request().get());
        }
        if (in.memory().action().isPresent()) {
            return actionInProgress(in, c, iLead);
        }
        if (in.pg().isEmpty()) {
            String why = in.pgError().orElse("unknown error");
            return iLead
                    ? Decision.of("could not observe postgres (" + why + "); keeping the leader lock", new RenewLock())
                    : Decision.nothing("could not observe postgres (" + why + ")");
        }
        PostgresState pg = in.pg().get();
        if (pg.runState() == RunState.UNINITIALIZED) {
            return uninitialized(in, c, iLead);
        }
        Optional<Decision> identity = identity(in, c, pg, iLead);
        if (identity.isPresent()) {
            return identity.get();
        }
        if (pg.runState().isDown()) {
            return recover(in, c, pg, iLead);
        }
        if (pg.runState() == RunState.STARTING) {
            return starting(in, c, iLead);
        }
        if (!c.hasLeader()) {
            return unhealthyCluster(in, c, pg);
        }
        return healthyCluster(in, c, pg, iLead);
    }

    /**
     * Two members whose names map to one replication slot ({@code pg-1} and {@code pg_1}) would
     * stream through one slot and take it from each other. Of the two, the one that is not the
     * leader and whose name sorts later stops, naming the other; with {@code use_slots: false}
     * there is no slot to share.
     */
    private static Optional<Decision> slotNameClash(DecisionInput in, Cluster c, boolean iLead) {
        if (iLead || !c.dynamicConfig().useSlots().orElse(true)) {
            return Optional.empty();
        }
        String mine = io.pgha.spi.SlotNames.forMember(in.me());
        return c.members().keySet().stream()
                .filter(other -> !other.equals(in.me()) && io.pgha.spi.SlotNames.forMember(other).equals(mine))
                .filter(other -> c.isLeader(other) || other.compareTo(in.me()) < 0)
                .findFirst()
                .map(other -> {
                    String why = "member name '" + in.me() + "' maps to the replication slot '" + mine + "', which member '" + other
                            + "' streams through: rename this member";
                    return Decision.of(why, new Fail(why));
                });
    }

    /**
     * Whether the loop should ask peers for their live status before deciding: during a leader race
     * (no leader key) and when a leader serves a manual failover request.
     */
    public static boolean wantsPeerStatus(Cluster c, String me) {
        return !c.hasLeader() || (c.isLeader(me) && c.failover().isPresent());
    }

    /** The role implied by an observation and our hold on the lock. */
    public static Role roleOf(Optional<PostgresState> pg, boolean holdsLock, boolean fatal) {
        return roleOf(pg, holdsLock, fatal, false);
    }

    /** The role implied by an observation and our hold on the lock; in a standby cluster the lock holder is its standby leader. */
    public static Role roleOf(Optional<PostgresState> pg, boolean holdsLock, boolean fatal, boolean standbyCluster) {
        if (fatal) {
            return Role.FAILED;
        }
        if (pg.isEmpty()) {
            return Role.STOPPED;
        }
        PostgresState p = pg.get();
        return switch (p.runState()) {
            case UNINITIALIZED -> Role.UNINITIALIZED;
            case STOPPED, CRASHED -> Role.STOPPED;
            case STARTING -> Role.STARTING;
            case RUNNING -> p.inRecovery() ? (holdsLock && standbyCluster ? Role.STANDBY_LEADER : Role.REPLICA)
                    : (holdsLock ? Role.PRIMARY : Role.DEMOTING);
        };
    }

    // ------------------------------------------------------------------ store unreachable (Patroni step 16)

    private static Decision dcsUnreachable(DecisionInput in) {
        String why = in.dcsError().orElse("unknown error");
        Optional<PostgresState> pg = in.pg();
        boolean promoting = in.memory().action().map(a -> a.action() instanceof Promote).orElse(false);
        if (promoting && !in.lease().isValid(in.now())) {
            return Decision.of("DCS is not accessible (" + why + ") and the lease may have expired: abandoning the promotion",
                    new CancelAction(), new Demote(DemoteMode.IMMEDIATE_NOLOCK));
        }
        if (pg.isPresent() && pg.get().isRunningPrimary()) {
            if (in.config().paused()) {
                return Decision.nothing("DCS is not accessible (" + why + "); paused: leaving postgres as it is");
            }
            if (in.lease().isValid(in.now())) {
                long left = Duration.ofNanos(in.lease().validUntil() - in.now()).toMillis();
                return Decision.nothing("DCS is not accessible (" + why + "); staying primary while the lease is certainly valid ("
                        + left + " ms left)");
            }
            if (in.memory().action().map(a -> a.action() instanceof Demote).orElse(false)) {
                return Decision.nothing("DCS is not accessible (" + why + "); demotion in progress");
            }
            String reason = "DCS is not accessible (" + why + ") and the lease may have expired: demoting";
            return in.memory().action().isPresent()
                    ? Decision.of(reason, new CancelAction(), new Demote(DemoteMode.OFFLINE))
                    : Decision.of(reason, new Demote(DemoteMode.OFFLINE));
        }
        return Decision.nothing("DCS is not accessible (" + why + "); " + describeLocal(pg) + " keeps running as it is");
    }

    private static String describeLocal(Optional<PostgresState> pg) {
        return pg.map(p -> p.isRunningReplica() ? "the replica" : "postgres").orElse("postgres");
    }

    // ------------------------------------------------------------------ an operator's request (REST API)

    private static Decision request(DecisionInput in, Cluster c, boolean iLead, AdminRequest r) {
        Optional<String> running = in.memory().action().map(a -> a.action().describe());
        if (r instanceof AdminRequest.Reload) {
            return Decision.soon("reload requested", new Action.ReloadPostgres(), new Action.AnswerRequest(true, "reloaded"));
        }
        if (r instanceof AdminRequest.Restart restart) {
            if (running.isPresent()) {
                return Decision.soon("restart requested while " + running.get() + " is in progress",
                        new Action.AnswerRequest(false, running.get() + " is in progress"));
            }
            if (in.pg().map(p -> p.runState() == RunState.UNINITIALIZED).orElse(true)) {
                return Decision.soon("restart requested but postgres has no data", new Action.AnswerRequest(false, "postgres is not initialized"));
            }
            return iLead ? Decision.of("restart requested: restarting postgres (keeping the leader lock)", new RenewLock(),
                    new Action.RestartPostgres(restart.timeout()))
                    : Decision.of("restart requested: restarting postgres", new Action.RestartPostgres(restart.timeout()));
        }
        AdminRequest.Reinitialize reinit = (AdminRequest.Reinitialize) r;
        if (iLead) {
            return Decision.soon("reinitialize refused", new Action.AnswerRequest(false, "I am the leader, can not reinitialize"));
        }
        if (!c.hasLeader()) {
            return Decision.soon("reinitialize refused", new Action.AnswerRequest(false, "Cluster has no leader, can not reinitialize"));
        }
        if (running.isPresent()) {
            return reinit.force()
                    ? Decision.of("reinitialize requested (force): cancelling " + running.get(), new CancelAction(), new Action.Reinitialize())
                    : Decision.soon("reinitialize refused", new Action.AnswerRequest(false, running.get() + " is in progress"));
        }
        return Decision.of("reinitialize requested: removing the data directory to clone from the leader", new Action.Reinitialize());
    }

    // ------------------------------------------------------------------ long action in progress (step 5)

    private static Decision actionInProgress(DecisionInput in, Cluster c, boolean iLead) {
        Action running = in.memory().action().get().action();
        String what = running.describe();
        boolean primaryNow = in.pg().map(PostgresState::isRunningPrimary).orElse(false);
        if (iLead) {
            if (running instanceof Promote && in.plants(PlantedBug.ABANDONS_A_SLOW_PROMOTION)
                    && in.now() - in.memory().action().get().startedAt() > in.config().settings().ttl().toNanos()) {
                return Decision.of("promotion took longer than the ttl: giving the leader lock up", new CancelAction(), new ReleaseLock());
            }
            if (running instanceof StartPostgres && startTimedOut(in) && failoverPossible(in, c)) {
                return Decision.of("primary did not start within primary_start_timeout: failing over",
                        new CancelAction(), new Demote(DemoteMode.IMMEDIATE));
            }
            if (running instanceof Demote d && d.mode().releasesLock()) {
                // the lock is about to be handed over: a renewal now would only delay the release
                // behind it (the heartbeat still keeps the lease through a long shutdown checkpoint)
                return Decision.nothing(what + " in progress; the leader lock is released when it ends");
            }
            return Decision.of(what + " in progress; renewing the leader lock", new RenewLock());
        }
        if (in.config().paused() || running instanceof Action.Bootstrap || running instanceof Demote) {
            return Decision.nothing(what + " in progress");
        }
        if (running instanceof Promote) {
            return Decision.of("lost the leader lock before the promotion finished", new CancelAction(),
                    new Demote(DemoteMode.IMMEDIATE_NOLOCK));
        }
        if (primaryNow) {
            return Decision.of("running as primary without the leader lock while " + what + " is in progress: demoting",
                    new CancelAction(), new Demote(DemoteMode.IMMEDIATE_NOLOCK));
        }
        return Decision.nothing(what + " in progress");
    }

    // ------------------------------------------------------------------ empty data directory (step 9)

    private static Decision uninitialized(DecisionInput in, Cluster c, boolean iLead) {
        if (iLead) {
            return Decision.of("data directory is empty: releasing the leader lock", new ReleaseLock());
        }
        if (in.config().paused()) {
            return Decision.nothing("paused: data directory is empty, not bootstrapping");
        }
        if (c.hasLeader()) {
            Optional<Upstream> source = cloneSource(in, c);
            return source.map(s -> Decision.of("trying to bootstrap from " + (c.isLeader(s.member()) ? "leader" : "replica")
                            + " '" + s.member() + "'", new CloneFrom(s)))
                    .orElseGet(() -> Decision.nothing("waiting for leader '" + c.leader().get() + "' to run before cloning"));
        }
        if (c.initialize().isEmpty()) {
            if (!in.tags().canFailover()) {
                return Decision.nothing("waiting for " + leaderWord(in) + " to bootstrap (this member is nofailover)");
            }
            Optional<StandbyCluster> standby = in.config().standbyCluster();
            if (in.config().unreadableStandbyCluster().isPresent()) {
                return Decision.nothing(unreadable(in) + ": not bootstrapping a new cluster");
            }
            if (standby.isPresent()) {
                if (!standby.get().streams()) {
                    return Decision.nothing("standby_cluster sets no host or port: pgha creates a standby leader's data only with"
                            + " pg_basebackup from the remote primary, so this cluster cannot bootstrap");
                }
                // Patroni's bootstrap_standby_leader: the winner of the initialize race copies the remote primary
                return Decision.of("trying to bootstrap a new standby leader from " + standby.get().describe(), new ClaimInitialize(),
                        new Action.Bootstrap(Optional.of(standby.get().remoteUpstream()), standby.get().createReplicaMethods()));
            }
            return Decision.of("trying to bootstrap a new cluster", new ClaimInitialize(), new Action.Bootstrap());
        }
        if (c.initialize().get().isEmpty()) {
            return abandonedClaim(in, c).orElseGet(() ->
                    Decision.nothing("waiting for " + leaderWord(in) + " to bootstrap: another member is bootstrapping"));
        }
        if (in.canCreateReplicaWithoutLeader()) {
            // Patroni's no_leader replica methods: restore from a backup, then race for the lock with that data
            return Decision.of("the cluster is initialized but has no leader: creating a replica without one",
                    new Action.CreateReplicaWithoutLeader());
        }
        return Decision.nothing("waiting for a leader to clone from: the cluster is initialized but has no leader");
    }

    /** The member states of a member creating a new cluster's data: initdb, a bootstrap method, a standby leader's clone. */
    static final Set<String> BOOTSTRAPPING_STATES = Set.of("initializing new cluster", "running custom bootstrap script", "creating replica");

    /**
     * Clears a bootstrap claim that nobody works on: the empty {@code initialize} key unchanged for
     * a ttl while no member entry shows a bootstrap. Its claimant died, or never learned that its
     * create took effect (the answer was lost, so it reads the claim as another member's); without
     * this the cluster would wait for an operator forever (as Patroni does). Clearing is a
     * compare-and-delete of the version seen, and a claimant fills only the version it read after
     * claiming, so a claim made again meanwhile is neither cleared nor filled by the wrong member.
     */
    private static Optional<Decision> abandonedClaim(DecisionInput in, Cluster c) {
        if (in.bugs().contains(PlantedBug.KEEPS_ABANDONED_CLAIMS)) {
            return Optional.empty();
        }
        Optional<String> working = c.members().values().stream().filter(m -> BOOTSTRAPPING_STATES.contains(m.state()))
                .map(Member::name).findFirst();
        long ttl = in.config().settings().ttl().toNanos();
        return in.memory().bootstrapClaim()
                .filter(seen -> working.isEmpty() && seen.version() == c.initializeVersion() && in.now() - seen.since() >= ttl)
                .map(seen -> Decision.of("the bootstrap claim is abandoned (no member has shown a bootstrap for "
                        + in.config().settings().ttl().toSeconds() + " s): clearing it", new Action.ClearInitialize(seen.version())));
    }

    private static Optional<Upstream> cloneSource(DecisionInput in, Cluster c) {
        Optional<Member> tagged = c.members().values().stream()
                .filter(m -> !m.name().equals(in.me()) && m.tags().clonefrom() && m.isRunning() && !m.connUrl().isEmpty())
                .min(Comparator.comparing(Member::name));
        Optional<Member> source = tagged.isPresent() ? tagged
                : c.leaderMember().filter(m -> m.isRunning() && !m.connUrl().isEmpty());
        return source.map(m -> new Upstream(m.name(), m.connUrl()));
    }

    // ------------------------------------------------------------------ identity (steps 4 and 10)

    private static Optional<Decision> identity(DecisionInput in, Cluster c, PostgresState pg, boolean iLead) {
        Optional<String> sysid = pg.systemId();
        Optional<String> init = c.initialize();
        if (init.isPresent() && !init.get().isEmpty() && sysid.isPresent() && !init.get().equals(sysid.get())) {
            String why = "system ID mismatch: the data directory has system identifier " + sysid.get()
                    + " but the cluster was initialized with " + init.get();
            if (in.config().paused()) {
                return Optional.of(iLead ? Decision.of("paused; " + why + ": releasing the leader lock", new ReleaseLock())
                        : Decision.nothing("paused; " + why));
            }
            return Optional.of(Decision.of(why, new Fail(why)));
        }
        if (sysid.isEmpty()) {
            return Optional.empty();
        }
        boolean initMissing = init.isEmpty() || init.get().isEmpty();
        if (initMissing && iLead && in.memory().action().isEmpty()) {
            return Optional.of(Decision.soon("the cluster has no system identifier yet: writing initialize key",
                    new RenewLock(), new WriteInitialize(sysid.get(), c.initializeVersion())));
        }
        if (init.isEmpty() && !c.hasLeader()) {
            if (pg.inRecovery() && pg.isRunning()) {
                return Optional.of(Decision.nothing("the cluster has no initialize key and this node runs as a replica: "
                        + "start pgha on the primary first"));
            }
            return Optional.of(Decision.soon("taking over an existing data directory: writing initialize key",
                    new WriteInitialize(sysid.get(), DcsEntry.ABSENT)));
        }
        return Optional.empty();
    }

    // ------------------------------------------------------------------ postgres down (step 11)

    private static Decision recover(DecisionInput in, Cluster c, PostgresState pg, boolean iLead) {
        if (in.config().paused()) {
            return iLead ? Decision.of("paused: postgres is not running: releasing the leader lock", new ReleaseLock())
                    : Decision.nothing("paused: postgres is not running");
        }
        if (iLead) {
            Duration startTimeout = in.config().settings().primaryStartTimeout();
            if (failoverPossible(in, c) && (startTimeout.isZero() || startTimedOut(in))) {
                return Decision.of(startTimeout.isZero()
                                ? "primary is not running and primary_start_timeout is 0: failing over"
                                : "primary did not come back within primary_start_timeout (" + startTimeout.toSeconds() + "s): failing over",
                        new Demote(DemoteMode.IMMEDIATE));
            }
            if (pg.inRecovery() && in.config().isStandbyCluster()) {
                Upstream remote = in.config().standbyCluster().get().remoteUpstream();
                return Decision.of("starting as the standby leader (holding the leader lock), following "
                        + in.config().standbyCluster().get().describe(), new RenewLock(), new Follow(Optional.of(remote)));
            }
            if (!pg.inRecovery()) {
                if (in.config().isStandbyCluster()) {
                    return Decision.of(DEMOTE_CLUSTER_REFUSED + ": starting primary after a stop", new RenewLock(), new StartPostgres());
                }
                return Decision.of("starting primary after " + (pg.runState() == RunState.CRASHED ? "a crash" : "a stop")
                        + " (holding the leader lock)", new RenewLock(), new StartPostgres());
            }
            return Decision.of("holding the leader lock with a standby's data: starting read-only, will promote",
                    new RenewLock(), new Follow(Optional.empty()));
        }
        if (c.hasLeader()) {
            Optional<Upstream> up = upstreamFor(in, c);
            if (up.isEmpty()) {
                return Decision.nothing("waiting for leader '" + c.leader().get() + "' to publish its member entry");
            }
            Optional<Decision> gate = divergenceGate(in, c, up.get(), false);
            if (gate.isPresent()) {
                return gate.get();
            }
            return Decision.of("starting as a replica of '" + up.get().member() + "'", new Follow(up));
        }
        if (in.config().isStandbyCluster() && pg.inRecovery()) {
            // Patroni's _get_node_to_follow: with no standby leader, a member of a standby cluster follows the remote primary
            return Decision.of("starting as a replica of the " + in.config().standbyCluster().get().describe()
                    + ": the standby cluster has no standby leader", new Follow(Optional.of(in.config().standbyCluster().get().remoteUpstream())));
        }
        return Decision.of("starting as a read-only replica: the cluster has no leader", new Follow(Optional.empty()));
    }

    private static Decision starting(DecisionInput in, Cluster c, boolean iLead) {
        if (iLead) {
            if (failoverPossible(in, c) && startTimedOut(in) && !in.config().paused()) {
                return Decision.of("primary did not start within primary_start_timeout: failing over",
                        new Demote(DemoteMode.IMMEDIATE));
            }
            return Decision.of("postgres is starting; renewing the leader lock", new RenewLock());
        }
        return Decision.nothing("postgres is starting");
    }

    private static boolean startTimedOut(DecisionInput in) {
        long since = in.memory().primaryUnhealthySince().orElse(in.now());
        return in.now() - since >= in.config().settings().primaryStartTimeout().toNanos();
    }

    /** Whether another member could take over: running, failover-capable, allowed by synchronous mode. */
    static boolean failoverPossible(DecisionInput in, Cluster c) {
        boolean sync = in.config().syncMode().enabled() && !in.plants(PlantedBug.IGNORES_SYNC_KEY);
        Optional<SyncState> s = c.sync();
        long candidates = c.members().values().stream().filter(m -> !m.name().equals(in.me()) && m.isRunning()
                && m.tags().canFailover() && !m.isPrimary()
                && (!sync || s.map(st -> st.allowsPromotionOf(m.name())).orElse(false))).count();
        if (quorumActive(in, c) && !in.plants(PlantedBug.PROMOTES_WITHOUT_QUORUM)) {
            // Patroni's is_failover_possible: "quorum_votes" starts at -1 and counts the healthy voters, so
            // a failover needs quorum + 1 of them (one to promote, quorum to confirm it)
            return candidates - 1 >= c.sync().get().quorum();
        }
        return candidates > 0;
    }

    /** Patroni's {@code quorum_commit_mode_is_active}: quorum mode and a {@code sync} key that names a leader. */
    static boolean quorumActive(DecisionInput in, Cluster c) {
        return in.config().syncMode().quorum() && c.sync().map(st -> !st.isEmpty()).orElse(false);
    }

    // ------------------------------------------------------------------ no leader (step 12)

    private static Decision unhealthyCluster(DecisionInput in, Cluster c, PostgresState pg) {
        Optional<FailoverRequest> fo = c.failover();
        if (in.config().paused()) {
            if (pg.isRunningPrimary()) {
                return Decision.of("paused: the running primary takes the free leader lock", new AcquireLock());
            }
            if (fo.flatMap(FailoverRequest::candidate).map(in.me()::equals).orElse(false)) {
                List<Action> steps = new ArrayList<>();
                steps.add(new AcquireLock());
                steps.add(new ClearFailover(fo.get().version()));
                steps.addAll(prePromote(in, c));
                steps.add(new Promote());
                return new Decision("paused: promoting on manual failover request", steps, false);
            }
            return Decision.nothing("paused: no leader, not racing for the lock");
        }
        int clusterTimeline = c.history().clusterTimeline();
        if (pg.isRunningPrimary() && pg.timeline() > 0 && pg.timeline() < clusterTimeline) {
            return Decision.of("running as a stale primary (timeline " + pg.timeline() + " < cluster timeline "
                    + clusterTimeline + "): demoting", new Demote(DemoteMode.IMMEDIATE_NOLOCK));
        }
        if (c.dynamicConfig().failsafeMode().orElse(false)) {
            if (in.failsafeLeader().filter(l -> !l.equals(in.me())).isPresent()) {
                // that primary runs on without the store because this member (among all) confirmed it can
                return Decision.nothing("failsafe_mode: leader '" + in.failsafeLeader().get()
                        + "' confirmed within the ttl that it runs on without the store; not racing for the lock");
            }
            if (!failsafeListed(c, in.me()) && !vouchedFor(in, c) && !in.plants(PlantedBug.FAILSAFE_LETS_THE_UNLISTED_RACE)) {
                // a primary running on without the store asks only the members listed: one it never asked must not race
                // unless a listed member that would have been asked says no primary asked it within the ttl
                return Decision.nothing("failsafe_mode: this member is not in the failsafe topology and no listed member says"
                        + " failsafe mode is over; not racing for the lock");
            }
        }
        Verdict v = healthiest(in, c, pg);
        if (!v.ok()) {
            if (pg.isRunningPrimary()) {
                return Decision.of("demoting self because I am not the healthiest node: " + v.reason(),
                        new Demote(DemoteMode.IMMEDIATE_NOLOCK));
            }
            return Decision.nothing("following a different leader because I am not the healthiest node: " + v.reason());
        }
        if (pg.inRecovery() && in.config().unreadableStandbyCluster().isPresent()) {
            return Decision.nothing(unreadable(in) + ": not racing for the lock, which would promote this standby");
        }
        List<Action> steps = new ArrayList<>();
        steps.add(new AcquireLock());
        fo.ifPresent(f -> steps.add(new ClearFailover(f.version())));
        if (pg.inRecovery() && in.config().isStandbyCluster()) {
            // a standby cluster's new leader is a standby leader: it follows the remote primary and is never promoted
            Upstream remote = in.config().standbyCluster().get().remoteUpstream();
            if (!pg.upstream().map(remote::equals).orElse(false)) {
                steps.add(new Follow(Optional.of(remote)));
            }
            return new Decision("promoted self to a standby leader by acquiring the session lock (" + v.reason() + ")", steps, false);
        }
        if (!pg.inRecovery() && in.config().isStandbyCluster()) {
            return new Decision(DEMOTE_CLUSTER_REFUSED + ": acquired the session lock as a running primary (" + v.reason() + ")",
                    steps, false);
        }
        if (pg.inRecovery()) {
            steps.addAll(prePromote(in, c));
            steps.add(new Promote());
            return new Decision("promoted self to leader by acquiring the session lock (" + v.reason() + ")", steps, false);
        }
        return new Decision("acquired the session lock as a running primary (" + v.reason() + ")", steps, false);
    }

    /** Synchronous mode: publish ourselves as the sync leader (with no standby yet) before promoting. */
    private static List<Action> prePromote(DecisionInput in, Cluster c) {
        SynchronousMode mode = in.config().syncMode();
        if (!mode.enabled()) {
            return List.of();
        }
        if (mode.quorum()) {
            return List.of(quorumPrePromote(in, c));
        }
        List<Action> steps = new ArrayList<>();
        steps.add(new WriteSync(in.me(), Set.of(), c.sync().map(SyncState::version).orElse(DcsEntry.ABSENT)));
        if (mode.strict()) {
            steps.add(new SetSyncStandbys(SynchronousStandbys.all(List.of(STRICT_PLACEHOLDER))));
        }
        return steps;
    }

    /**
     * Quorum mode before promoting (Patroni's {@code _process_quorum_prepromote}): the {@code sync}
     * key is left as the old leader wrote it, and {@code synchronous_standby_names} is set so that
     * the key's promise holds for the commits this node will acknowledge: its members (old leader and
     * voters, without this node) with {@code ANY |members| - quorum - 1}, one more when this node
     * was not a voter; at least {@code synchronous_node_count} in strict mode. The quorum resolver
     * takes over once this node leads and writes itself into the key.
     */
    private static Action quorumPrePromote(DecisionInput in, Cluster c) {
        boolean active = quorumActive(in, c);
        int quorum = active ? c.sync().get().quorum() : 0;
        Set<String> sync = new TreeSet<>(c.sync().map(SyncState::members).orElse(Set.of()));
        int numsync = sync.size() - quorum - 1;
        if (!sync.remove(in.me())) {
            numsync += 1;
        }
        int minSync = in.config().syncMode().strict() ? in.config().settings().synchronousNodeCount() : 0;
        numsync = Math.max(numsync, minSync);
        return new SetSyncStandbys(anyOf(numsync, sync));
    }

    /** {@code ANY n (names)}, with the strict placeholder for no names and n >= 1, n kept within 1..|names|. */
    static SynchronousStandbys anyOf(int n, Set<String> names) {
        if (names.isEmpty()) {
            return n >= 1 ? SynchronousStandbys.all(List.of(STRICT_PLACEHOLDER)) : SynchronousStandbys.NONE;
        }
        // ANY 0 is not a setting PostgreSQL takes, and more than the names would block for good: waiting for
        // more standbys is always safe, so 0 becomes 1
        return SynchronousStandbys.any(Math.max(1, Math.min(n, names.size())), List.copyOf(new TreeSet<>(names)));
    }

    record Verdict(boolean ok, String reason) {
        static Verdict yes(String reason) {
            return new Verdict(true, reason);
        }

        static Verdict no(String reason) {
            return new Verdict(false, reason);
        }
    }

    /** Patroni's {@code is_healthiest_node} with {@code manual_failover_process_no_leader}. */
    static Verdict healthiest(DecisionInput in, Cluster c, PostgresState pg) {
        if (!in.watchdogReady()) {
            return Verdict.no("the watchdog is required (watchdog.mode: required) but cannot be used");
        }
        String me = in.me();
        if (!in.tags().canFailover()) {
            return Verdict.no("this member is tagged nofailover");
        }
        if (!pg.isRunning()) {
            return Verdict.no("postgres is not running");
        }
        Optional<FailoverRequest> fo = c.failover();
        boolean manual = fo.isPresent();
        Optional<String> oldLeader = fo.flatMap(FailoverRequest::leader);
        boolean syncMode = in.config().syncMode().enabled();
        boolean quorum = quorumActive(in, c);
        if (quorum && manual && oldLeader.isPresent() && !c.sync().get().allowsPromotionOf(me)) {
            // Patroni's is_healthiest_node: a switchover in synchronous mode (quorum too) is raced only by
            // the members of the sync key (voters and the former leader)
            return Verdict.no("quorum mode: a switchover is raced only by the voters and the former leader");
        }
        if (manual) {
            Optional<String> candidate = fo.get().candidate();
            if (candidate.map(me::equals).orElse(false)) {
                // a switchover keeps synchronous guarantees; only an explicit failover may pick an async node
                if (oldLeader.isPresent() && syncMode && !c.sync().map(s -> s.allowsPromotionOf(me)).orElse(false)) {
                    return Verdict.no("synchronous mode: a switchover candidate must be a synchronous standby");
                }
                if (quorum && oldLeader.isPresent()) {
                    // stricter than Patroni, which promotes the named candidate at once: under ANY k a voter need not
                    // hold every acknowledged commit, and the leader key may have lapsed (a frozen leader) rather
                    // than been handed over after a clean stop, so the candidate gathers its quorum like any other
                    Verdict v = quorumHealthiest(in, c, positionInHistory(pg.walPosition(), pg.timeline(), c.history()), true, true);
                    return v.ok() ? Verdict.yes("this member is the switchover candidate, " + v.reason()) : v;
                }
                return Verdict.yes("this member is the manual failover candidate");
            }
            if (candidate.isPresent()) {
                PeerStatus p = in.peers().get(candidate.get());
                boolean candidateCan = p != null && p.running() && !p.nofailover() && p.failoverPriority() > 0
                        && !(oldLeader.isPresent() && syncMode
                        && !c.sync().map(s -> s.allowsPromotionOf(candidate.get())).orElse(false));
                if (candidateCan) {
                    return Verdict.no("manual failover to '" + candidate.get() + "' is in progress");
                }
            }
            if (oldLeader.map(me::equals).orElse(false)) {
                Optional<PeerStatus> other = in.peers().values().stream()
                        .filter(p -> !p.member().equals(me) && p.running() && !p.nofailover() && p.failoverPriority() > 0)
                        .filter(p -> !syncMode || c.sync().map(s -> s.allowsPromotionOf(p.member())).orElse(false))
                        .findFirst();
                if (other.isPresent()) {
                    return Verdict.no("the former leader defers to '" + other.get().member() + "' after a manual failover");
                }
            }
        }
        boolean sync = syncMode && !in.plants(PlantedBug.IGNORES_SYNC_KEY);
        // in quorum mode a member outside the voters may race too: it needs one confirmation more
        // (Patroni: "they just need to get enough votes to reach quorum + 1")
        // Patroni: a sync key that names no leader restricts nobody. No leader in synchronous mode acknowledged a
        // commit without one: a leader publishes itself in the key before its first promotion or sync change
        // (a bootstrap whose last writes were lost leaves the only member with data, and no key)
        if (sync && !quorum && !c.sync().filter(s -> !s.isEmpty()).map(s -> s.allowsPromotionOf(me)).orElse(true)) {
            return Verdict.no("synchronous mode: this member is not a synchronous standby");
        }
        Lsn mine = positionInHistory(pg.walPosition(), pg.timeline(), c.history());
        if (!manual && c.leaderOptime().isPresent() && !in.plants(PlantedBug.IGNORES_MAXIMUM_LAG)) {
            long lag = c.leaderOptime().getAsLong() - mine.value();
            if (lag > in.config().settings().maximumLagOnFailover()) {
                return Verdict.no("lag " + lag + " bytes exceeds maximum_lag_on_failover ("
                        + in.config().settings().maximumLagOnFailover() + ")");
            }
        }
        int clusterTimeline = c.history().clusterTimeline();
        // Patroni: no timeline check in a standby cluster, whose timelines are the remote primary's
        if (!in.config().isStandbyCluster()
                && (in.config().settings().checkTimeline() || !pg.inRecovery()) && pg.timeline() > 0 && pg.timeline() < clusterTimeline) {
            return Verdict.no("timeline " + pg.timeline() + " is behind the cluster timeline " + clusterTimeline);
        }
        if (quorum) {
            return quorumHealthiest(in, c, mine, manual, false);
        }
        for (PeerStatus p : in.peers().values()) {
            if (p.member().equals(me) || !p.running() || p.nofailover() || p.failoverPriority() <= 0) {
                continue;
            }
            if (sync && !c.sync().map(s -> s.allowsPromotionOf(p.member())).orElse(false)) {
                continue;
            }
            if (manual && oldLeader.map(p.member()::equals).orElse(false)) {
                continue;
            }
            if (!p.inRecovery()) {
                return Verdict.no("primary '" + p.member() + "' is still alive");
            }
            if (in.plants(PlantedBug.SKIPS_WAL_COMPARISON)) {
                continue;
            }
            Lsn theirs = positionInHistory(p.walPosition(), p.timeline(), c.history());
            int cmp = theirs.compareTo(mine);
            if (cmp > 0) {
                return Verdict.no("'" + p.member() + "' has more WAL (" + theirs + " > " + mine + ")");
            }
            if (cmp == 0 && p.failoverPriority() > in.tags().failoverPriority()) {
                return Verdict.no("'" + p.member() + "' has the same WAL and a higher failover_priority");
            }
        }
        return Verdict.yes(manual ? "manual failover: no better candidate" : "the healthiest node at " + mine);
    }

    /**
     * The quorum branch of Patroni's {@code _is_healthiest_node}. The voting set is the {@code sync}
     * key's leader and voters. Every running member of it that answered and is not ahead of this
     * node is a vote; a member of it ahead of this node stops the race, unless it is the former
     * leader (its WAL may hold commits nobody acknowledged). This node wins with {@code quorum}
     * votes when it is in the voting set, {@code quorum + 1} when not, or when it is the former
     * leader and nobody is ahead.
     *
     * <p>Why {@code quorum} votes are enough (the invariant {@link QuorumStateResolver} keeps): with
     * {@code N} voters, {@code ANY numsync} on the primary and {@code N <= quorum + numsync}, every
     * acknowledged commit is on the primary and {@code numsync} voters, so any {@code quorum + 1}
     * members of the voting set (this node and its votes) include one that holds it; that member is
     * this node, or it answered that it is not ahead, so this node holds the commit too.
     */
    private static Verdict quorumHealthiest(DecisionInput in, Cluster c, Lsn mine, boolean manual, boolean namedCandidate) {
        String me = in.me();
        SyncState key = c.sync().get();
        Set<String> votingSet = key.members();
        for (PeerStatus p : in.peers().values()) {
            // stricter than Patroni, which asks the voting set only: any member still running as primary stops the race
            if (!p.member().equals(me) && p.running() && !p.inRecovery()) {
                return Verdict.no("primary '" + p.member() + "' is still alive");
            }
        }
        int votes = votingSet.contains(me) ? 0 : -1;
        int ahead = 0;
        List<String> voters = new ArrayList<>();
        for (PeerStatus p : in.peers().values()) {
            // Patroni asks the voting set only, and skips members that may not promote (failover_limitation)
            if (p.member().equals(me) || !votingSet.contains(p.member()) || !p.running() || p.nofailover()
                    || p.failoverPriority() <= 0) {
                continue;
            }
            if (!p.inRecovery()) {
                return Verdict.no("primary '" + p.member() + "' is still alive");
            }
            Lsn theirs = positionInHistory(p.walPosition(), p.timeline(), c.history());
            int cmp = theirs.compareTo(mine);
            if (cmp > 0) {
                ahead++;
                if (!key.leader().map(p.member()::equals).orElse(false)) {
                    return Verdict.no("'" + p.member() + "' has more WAL (" + theirs + " > " + mine + ")");
                }
                continue; // the former leader may hold WAL nobody acknowledged: not a reason to stay out
            }
            if (theirs.value() > 0) {
                boolean formerLeader = key.leader().map(p.member()::equals).orElse(false);
                // the operator's named candidate is not outranked by failover_priority
                if (cmp == 0 && in.tags().failoverPriority() < p.failoverPriority() && !formerLeader && !namedCandidate) {
                    return Verdict.no("'" + p.member() + "' has the same WAL and a higher failover_priority");
                }
                votes++;
                voters.add(p.member());
            }
        }
        int needed = key.quorum();
        // Patroni counts the sync key's leader healthy alone when nobody answering is ahead: it held every commit the
        // key's voters acknowledged. Not once another member led after it (a switchover, then a store freeze that kept
        // the new leader from rewriting the key): that leader's commits wait for ANY of the others and may be on a
        // member that did not answer. Seen in a view, or as a later timeline in the history.
        boolean stillTheLastLeader = in.plants(PlantedBug.FORMER_LEADER_TRUSTS_STALE_KEY)
                || (in.memory().lastLeaderSeen().map(l -> l.leader().equals(me)).orElse(true)
                        && in.pg().map(p -> p.timeline() <= 0 || p.timeline() >= c.history().clusterTimeline()).orElse(true));
        boolean formerLeaderAlone = ahead == 0 && key.leader().map(me::equals).orElse(false) && stillTheLastLeader;
        if (votes >= needed || formerLeaderAlone || in.plants(PlantedBug.PROMOTES_WITHOUT_QUORUM)) {
            return Verdict.yes((manual ? "manual failover: " : "") + "quorum " + needed + " reached at " + mine
                    + " (not ahead: " + voters + (votingSet.contains(me) ? "" : ", one more as a non-voter") + ")");
        }
        return Verdict.no("quorum " + needed + " not reached: " + Math.max(votes, 0) + " of the voting set " + votingSet
                + " answered not ahead (" + voters + ")" + (votingSet.contains(me) ? "" : "; a non-voter needs one more"));
    }

    /**
     * How much of the cluster's history a member's WAL holds: its position, but no further than
     * where its timeline ended in the {@code history} key when it is on an earlier timeline. WAL
     * written past that switch point (by a primary that went on after a failover took over) is in
     * no later primary's history: counting it would let a member that diverged look up to date,
     * pass {@code maximum_lag_on_failover} and win a race it should lose. Patroni compares the raw
     * position (and offers only {@code check_timeline}, off by default, which refuses any such member).
     */
    static Lsn positionInHistory(Lsn position, int timeline, TimelineHistory history) {
        if (timeline <= 0 || timeline >= history.clusterTimeline()) {
            return position;
        }
        for (HistoryEntry e : history.entries()) {
            if (e.timeline() == timeline && e.lsn() < position.value()) {
                return new Lsn(e.lsn());
            }
        }
        return position;
    }

    // ------------------------------------------------------------------ a leader exists (step 13)

    private static Decision healthyCluster(DecisionInput in, Cluster c, PostgresState pg, boolean iLead) {
        return iLead ? asLeader(in, c, pg) : asFollower(in, c, pg);
    }

    private static Decision asLeader(DecisionInput in, Cluster c, PostgresState pg) {
        boolean paused = in.config().paused();
        boolean standby = in.config().isStandbyCluster();
        if (paused && !pg.isRunningPrimary() && !(standby && pg.isRunningReplica())) {
            return Decision.of("paused: postgres is not a running primary: releasing the leader lock", new ReleaseLock());
        }
        if (pg.inRecovery() && standby) {
            return asStandbyLeader(in, c, pg);
        }
        if (pg.inRecovery() && in.config().unreadableStandbyCluster().isPresent()) {
            return Decision.of(unreadable(in) + ": not promoting, not changing what this standby follows", new RenewLock());
        }
        if (pg.inRecovery()) {
            List<Action> steps = new ArrayList<>();
            steps.add(new RenewLock());
            steps.addAll(prePromote(in, c));
            steps.add(new Promote());
            return new Decision("promoted self to leader because I had the session lock", steps, false);
        }
        if (c.failover().isPresent() && !paused) {
            return leaderSideFailover(in, c, pg, c.failover().get());
        }
        if (c.config().isEmpty()) {
            return Decision.of("the cluster has no dynamic configuration: writing this node's", new RenewLock(), new WriteConfig());
        }
        if (!paused) {
            Optional<Decision> sync = synchronousStep(in, c, pg);
            if (sync.isPresent()) {
                return sync.get();
            }
        }
        Optional<Map<String, String>> failsafe = failsafeTopology(in, c);
        if (failsafe.isPresent()) {
            return Decision.of("failsafe_mode: writing the members a primary must reach without the store "
                    + new java.util.TreeMap<>(failsafe.get()).keySet(), new RenewLock(),
                    new Action.WriteFailsafe(failsafe.get(), c.failsafe().map(f -> f.version()).orElse(DcsEntry.ABSENT)));
        }
        int clusterTimeline = c.history().clusterTimeline();
        if (pg.timeline() > clusterTimeline) {
            List<HistoryEntry> entries = new ArrayList<>(c.history().entries());
            entries.add(new HistoryEntry(pg.timeline() - 1, pg.timelineStart().value(), "no recovery target specified",
                    Optional.of(OffsetDateTime.ofInstant(in.wallNow(), ZoneOffset.UTC).toString()), Optional.of(in.me())));
            return Decision.of("recording the end of timeline " + (pg.timeline() - 1) + " in the history",
                    new RenewLock(), new WriteHistory(entries, c.history().version()));
        }
        if (standby) {
            return Decision.of(DEMOTE_CLUSTER_REFUSED + "; " + (paused ? "PAUSE: " : "") + "no action. I am (" + in.me()
                    + "), the leader with the lock", new RenewLock());
        }
        return Decision.of((paused ? "PAUSE: " : "") + "no action. I am (" + in.me() + "), the leader with the lock", new RenewLock());
    }

    /**
     * What the lock holder of a standby cluster says while its PostgreSQL is a primary: Patroni
     * would demote it to a standby leader ({@code demote-cluster}); pgha does not do that yet, and
     * says so in every such decision (the engine logs the warning once).
     */
    public static final String DEMOTE_CLUSTER_REFUSED = "standby_cluster is set but this leader runs as a primary: turning a"
            + " running cluster into a standby cluster (demote-cluster) is not supported, it stays a normal cluster";

    /**
     * The lock holder of a standby cluster (Patroni's {@code process_healthy_cluster} with
     * {@code is_standby_cluster}): it serves a switchover by handing the lock on, and otherwise
     * follows the remote primary and renews the lock. It is never promoted while
     * {@code standby_cluster} is set; removing it promotes (Patroni's {@code promote-cluster}).
     */
    private static Decision asStandbyLeader(DecisionInput in, Cluster c, PostgresState pg) {
        boolean paused = in.config().paused();
        if (c.failover().isPresent() && !paused) {
            return leaderSideFailover(in, c, pg, c.failover().get());
        }
        if (c.config().isEmpty()) {
            return Decision.of("the cluster has no dynamic configuration: writing this node's", new RenewLock(), new WriteConfig());
        }
        StandbyCluster sc = in.config().standbyCluster().get();
        Upstream remote = sc.remoteUpstream();
        if (!paused && !pg.upstream().map(remote::equals).orElse(false)) {
            return Decision.of("the standby leader follows the " + sc.describe()
                    + pg.upstream().map(u -> " (it followed '" + u.member() + "')").orElse(""), new RenewLock(),
                    new Follow(Optional.of(remote)));
        }
        return Decision.of((paused ? "PAUSE: " : "") + "no action. I am (" + in.me() + "), the standby leader with the lock",
                new RenewLock());
    }

    /**
     * A {@code standby_cluster} section of the wrong shape (written past the API's checks) is not
     * read as "no standby cluster": that would promote a disaster-recovery copy beside its remote
     * primary because of a typo.
     */
    private static String unreadable(DecisionInput in) {
        return "standby_cluster cannot be read (" + in.config().unreadableStandbyCluster().get() + ")";
    }

    private static String leaderWord(DecisionInput in) {
        return in.config().isStandbyCluster() ? "standby_leader" : "leader";
    }

    /**
     * A primary runs on without the store only while every listed member but itself accepts its
     * requests, and each one that accepts says so ({@code failsafe_mode_is_active}) for the ttl. So a
     * listed standby that answers and is not active proves no primary runs on through failsafe mode
     * beyond its lease: a member left out of the topology may then race.
     */
    private static boolean vouchedFor(DecisionInput in, Cluster c) {
        return in.peers().values().stream().anyMatch(p -> !p.member().equals(in.me()) && p.running() && p.inRecovery()
                && !p.failsafeActive() && c.failsafe().map(f -> f.members().containsKey(p.member())).orElse(false));
    }

    /** Whether {@code member} may race for the lock under {@code failsafe_mode}: it is in the failsafe topology (or there is none). */
    private static boolean failsafeListed(Cluster c, String member) {
        return !c.dynamicConfig().failsafeMode().orElse(false)
                || c.failsafe().map(f -> f.members().isEmpty() || f.members().containsKey(member)).orElse(true);
    }

    /**
     * With {@code failsafe_mode}, the {@code failsafe} key the leader should write when it differs
     * from the one in the store: every member that publishes an {@code api_url}, and the leader
     * (Patroni's {@code _failsafe_config}).
     */
    private static Optional<Map<String, String>> failsafeTopology(DecisionInput in, Cluster c) {
        if (!c.dynamicConfig().failsafeMode().orElse(false)) {
            return Optional.empty();
        }
        Map<String, String> want = new java.util.TreeMap<>();
        c.members().values().forEach(m -> m.apiUrl().ifPresent(u -> want.put(m.name(), u)));
        if (!want.containsKey(in.me())) {
            return Optional.empty(); // our own entry (with our api_url) is not in the store yet: next cycle
        }
        boolean same = c.failsafe().map(f -> f.members().equals(want)).orElse(false);
        return same ? Optional.empty() : Optional.of(want);
    }

    private static Decision leaderSideFailover(DecisionInput in, Cluster c, PostgresState pg, FailoverRequest fo) {
        RenewLock renew = new RenewLock();
        ClearFailover clear = new ClearFailover(fo.version());
        if (fo.scheduledAt().isPresent()) {
            long untilNanos = Duration.between(in.wallNow(), fo.scheduledAt().get().toInstant()).toNanos();
            long loopWait = in.config().loopWaitNanos();
            if (untilNanos > loopWait) {
                return Decision.of("awaiting scheduled switchover at " + fo.scheduledAt().get(), renew);
            }
            if (-untilNanos > loopWait + loopWait / 2) {
                return Decision.of("discarding the switchover scheduled at " + fo.scheduledAt().get() + ": it is too late", renew, clear);
            }
        }
        if (fo.leader().isPresent() && !fo.leader().get().equals(in.me())) {
            return Decision.of("the failover request names leader '" + fo.leader().get() + "', not me: clearing it", renew, clear);
        }
        if (fo.candidate().map(in.me()::equals).orElse(false)) {
            return Decision.of("manual failover: I am already the leader", renew, clear);
        }
        boolean switchover = fo.leader().isPresent();
        List<String> candidates = fo.candidate().map(List::of).orElseGet(() -> c.members().keySet().stream()
                .filter(n -> !n.equals(in.me())).sorted().toList());
        List<String> problems = new ArrayList<>();
        if (quorumActive(in, c) && fo.candidate().isEmpty()) {
            // Patroni's is_failover_possible: without a named candidate, quorum mode needs quorum + 1 healthy voters
            List<String> healthy = candidates.stream().filter(n -> candidateProblem(in, c, pg, n, true).isEmpty()).toList();
            int quorum = c.sync().get().quorum();
            if (healthy.size() - 1 < quorum) {
                return Decision.of("manual " + (switchover ? "switchover" : "failover") + ": quorum " + quorum
                        + " can not be reached (healthy voters " + healthy + "); clearing the request", renew, clear);
            }
        }
        for (String name : candidates) {
            Optional<String> problem = candidateProblem(in, c, pg, name, switchover);
            if (problem.isEmpty()) {
                return Decision.of("manual " + (switchover ? "switchover" : "failover") + ": demoting myself in favour of '"
                        + name + "'", renew, new Demote(DemoteMode.GRACEFUL));
            }
            problems.add(name + ": " + problem.get());
        }
        return Decision.of("manual " + (switchover ? "switchover" : "failover") + ": no healthy candidate ("
                + (problems.isEmpty() ? "no other members" : String.join("; ", problems)) + "); clearing the request", renew, clear);
    }

    /** Why {@code name} cannot take over in a manual failover from us, or empty when it can. */
    private static Optional<String> candidateProblem(DecisionInput in, Cluster c, PostgresState pg, String name, boolean switchover) {
        Optional<Member> m = c.member(name);
        if (m.isEmpty()) {
            return Optional.of("not a member");
        }
        if (!m.get().tags().canFailover()) {
            return Optional.of("tagged nofailover");
        }
        PeerStatus p = in.peers().get(name);
        if (p == null) {
            return Optional.of("did not answer");
        }
        if (!p.running() || !p.inRecovery()) {
            return Optional.of("not a running replica");
        }
        long lag = pg.walPosition().minus(p.walPosition());
        if (lag > in.config().settings().maximumLagOnFailover()) {
            return Optional.of("lag " + lag + " bytes exceeds maximum_lag_on_failover");
        }
        if (switchover && in.config().syncMode().enabled()
                && !c.sync().map(s -> s.standbys().contains(name)).orElse(false)) {
            return Optional.of("not a synchronous standby");
        }
        return Optional.empty();
    }

    /**
     * One step of synchronous replication bookkeeping, or empty when nothing needs to change. Keeps
     * the invariant that every standby published in the {@code sync} key has every commit that was
     * acknowledged since it was published: a standby is named in {@code synchronous_standby_names}
     * (with every named standby required) before it is published, counts as synchronous only once it
     * flushed past the position at which the setting changed, and is unpublished before it leaves
     * the setting.
     */
    static Optional<Decision> synchronousStep(DecisionInput in, Cluster c, PostgresState pg) {
        SynchronousMode mode = in.config().syncMode();
        Optional<SyncState> key = c.sync();
        Set<String> current = new TreeSet<>(pg.synchronousStandbys().names());
        RenewLock renew = new RenewLock();
        if (!mode.enabled()) {
            if (key.isPresent()) {
                return Optional.of(Decision.soon("synchronous mode is off: deleting the sync key", renew,
                        new DeleteSync(key.get().version())));
            }
            if (!current.isEmpty()) {
                return Optional.of(Decision.of("synchronous mode is off: clearing synchronous_standby_names", renew,
                        new SetSyncStandbys(SynchronousStandbys.NONE)));
            }
            return Optional.empty();
        }
        if (mode.quorum()) {
            return quorumStep(in, c, pg);
        }
        long version = key.map(SyncState::version).orElse(DcsEntry.ABSENT);
        if (key.isEmpty() || !key.get().leader().map(in.me()::equals).orElse(false)) {
            return Optional.of(Decision.soon("synchronous mode: taking over the sync key", renew,
                    new WriteSync(in.me(), Set.of(), version)));
        }
        SynchronousStandbys setting = pg.synchronousStandbys();
        if (setting.isQuorum() && setting.count() < setting.names().size() && !key.get().standbys().isEmpty()) {
            // leaving quorum mode: under ANY k of n no single standby is known to hold every acknowledged
            // commit, so the key lists none until the setting waits for all it names (Patroni's
            // _process_multisync_replication: only standbys in sync_state 'sync' may stay in the key)
            return Optional.of(Decision.soon("synchronous mode: unpublishing " + key.get().standbys()
                    + " while synchronous_standby_names is '" + setting.toSetting() + "'", renew, new WriteSync(in.me(), Set.of(), version)));
        }
        Set<String> published = key.get().standbys();
        Map<String, ReplicationConnection> rows = new java.util.HashMap<>();
        for (ReplicationConnection r : pg.replication()) {
            rows.put(r.applicationName(), r);
        }
        List<ReplicationConnection> eligible = withinSyncnodeLag(c, pg, pg.replication()).stream()
                .filter(ReplicationConnection::isStreaming)
                .filter(r -> !r.applicationName().equals(in.me()))
                .filter(r -> c.member(r.applicationName()).map(m -> !m.tags().nosync()).orElse(false))
                // keep who is already published, then who is already named, so the choice does not flap
                .sorted(Comparator.<ReplicationConnection, Boolean>comparing(r -> !published.contains(r.applicationName()))
                        .thenComparing(r -> !current.contains(r.applicationName()))
                        .thenComparing(ReplicationConnection::flushLsn, Comparator.reverseOrder())
                        .thenComparing(ReplicationConnection::applicationName))
                .toList();
        int want = in.config().settings().synchronousNodeCount();
        Set<String> desired = new LinkedHashSet<>();
        for (ReplicationConnection r : eligible) {
            if (desired.size() < want) {
                desired.add(r.applicationName());
            }
        }
        boolean strictKeep = mode.strict() && desired.isEmpty();
        if (!strictKeep) {
            Set<String> unpublish = new TreeSet<>(published);
            unpublish.removeAll(desired);
            if (!unpublish.isEmpty()) {
                Set<String> keep = new TreeSet<>(published);
                keep.retainAll(desired);
                return Optional.of(Decision.soon("synchronous mode: unpublishing " + unpublish
                        + " before removing them from synchronous_standby_names", renew, new WriteSync(in.me(), keep, version)));
            }
        }
        Set<String> wantedSetting = strictKeep ? (published.isEmpty() ? Set.of(STRICT_PLACEHOLDER) : published) : desired;
        Optional<Decision> nameFirst = Optional.empty();
        Optional<Lsn> marker = in.memory().syncChangedAtFlush();
        boolean quorumLeftover = setting.isQuorum() && setting.count() < setting.names().size();
        if (!new TreeSet<>(wantedSetting).equals(current) || marker.isEmpty() || quorumLeftover) {
            // also when the setting looks right but this node has not set it since it started or was
            // last promoted: it may be left from an earlier tenure (or from before an agent restart
            // while PostgreSQL ran), and the position from which it holds is unknown; setting it
            // again (a reload) gives that position
            List<String> names = new ArrayList<>(new TreeSet<>(wantedSetting));
            SynchronousStandbys value = names.isEmpty() ? SynchronousStandbys.NONE
                    : in.plants(PlantedBug.WAITS_FOR_ONE_OF_SEVERAL) ? new SynchronousStandbys(1, names) : SynchronousStandbys.all(names);
            nameFirst = Optional.of(Decision.soon("synchronous mode: setting synchronous_standby_names to '" + value.toSetting() + "'",
                    renew, new SetSyncStandbys(value)));
        }
        boolean publishFirst = in.plants(PlantedBug.PUBLISHES_BEFORE_NAMING);
        if (nameFirst.isPresent() && !publishFirst) {
            return nameFirst;
        }
        Set<String> confirmed = new TreeSet<>();
        for (String name : desired) {
            ReplicationConnection r = rows.get(name);
            // the walsender's own view: PostgreSQL waits for a named standby only once it streams and
            // counts as sync (not while it catches up), and only for commits after the setting held
            if (!published.contains(name) && r != null
                    && (publishFirst || (r.isSynchronous() && r.flushLsn().compareTo(marker.get()) >= 0))) {
                confirmed.add(name);
            }
        }
        if (!confirmed.isEmpty()) {
            Set<String> next = new TreeSet<>(published);
            next.addAll(confirmed);
            return Optional.of(Decision.soon("synchronous mode: publishing " + confirmed + " as synchronous", renew,
                    new WriteSync(in.me(), next, version)));
        }
        return nameFirst;
    }

    /**
     * One step of quorum commit bookkeeping (Patroni's {@code _process_quorum_replication}), or empty
     * when nothing needs to change: strict mode's fallback first, then the first transition
     * {@link QuorumStateResolver} orders from the {@code sync} key, {@code synchronous_standby_names}
     * and the standbys streaming now. One transition a cycle, each followed by a new decision on
     * what the node then observes (Patroni applies them all in one cycle; the resolver starts from
     * any half-done state, so the path is the same, and an unconfirmed standby only raises the quorum).
     */
    static Optional<Decision> quorumStep(DecisionInput in, Cluster c, PostgresState pg) {
        RenewLock renew = new RenewLock();
        Optional<SyncState> key = c.sync();
        long version = key.map(SyncState::version).orElse(DcsEntry.ABSENT);
        if (key.isEmpty() || key.get().isEmpty()) {
            return Optional.of(Decision.soon("quorum commit: enabling synchronous replication in the sync key", renew,
                    new WriteSync(in.me(), Set.of(), 0, version)));
        }
        SyncState k = key.get();
        SynchronousStandbys setting = pg.synchronousStandbys();
        Set<String> sync = new TreeSet<>(setting.names());
        int numsync = setting.count();
        int wanted = in.config().settings().synchronousNodeCount();
        // Patroni's SyncHandler.current_state in quorum mode: streaming, listable standbys, those tagged
        // nofailover only while fewer than synchronous_node_count others qualify
        List<ReplicationConnection> streaming = withinSyncnodeLag(c, pg, pg.replication()).stream()
                .filter(ReplicationConnection::isStreaming)
                .filter(r -> !r.applicationName().equals(in.me()))
                .filter(r -> c.member(r.applicationName()).map(m -> !m.tags().nosync()).orElse(false))
                .sorted(Comparator.<ReplicationConnection, Boolean>comparing(
                        r -> c.member(r.applicationName()).map(m -> !m.tags().canFailover()).orElse(true))
                        .thenComparing(ReplicationConnection::applicationName))
                .toList();
        Set<String> active = new TreeSet<>();
        Optional<Lsn> marker = in.memory().syncChangedAtFlush();
        int confirmed = 0;
        for (ReplicationConnection r : streaming) {
            boolean nofailover = c.member(r.applicationName()).map(m -> !m.tags().canFailover()).orElse(true);
            if (!nofailover || active.size() < wanted) {
                active.add(r.applicationName());
                // counts as synchronous only once it flushed past where the primary was when the setting last changed
                if (sync.contains(r.applicationName()) && r.isSynchronous() && marker.isPresent()
                        && r.flushLsn().compareTo(marker.get()) >= 0) {
                    confirmed++;
                }
            }
        }
        int minSync = in.config().syncMode().strict() ? wanted : 0;
        boolean keyIsMine = k.leader().map(in.me()::equals).orElse(false);
        if (keyIsMine && active.size() < minSync) {
            // Patroni's _handle_synchronous_strict_mode: keep waiting for the voters the key names (or the placeholder)
            SynchronousStandbys keep = anyOf(Math.max(minSync, k.standbys().size() - k.quorum()), k.standbys());
            if (!sameSetting(keep, setting)) {
                return Optional.of(Decision.soon("quorum commit, strict: too few standbys stream; setting synchronous_standby_names to '"
                        + keep.toSetting() + "' (commits wait)", renew, new SetSyncStandbys(keep)));
            }
            return Optional.empty();
        }
        if (keyIsMine && minSync == 0 && active.isEmpty() && k.standbys().isEmpty() && !setting.isEmpty()) {
            return Optional.of(Decision.of("quorum commit: no standby streams and the sync key lists none: clearing synchronous_standby_names",
                    renew, new SetSyncStandbys(SynchronousStandbys.NONE)));
        }
        List<QuorumStateResolver.Transition> steps;
        try {
            steps = new QuorumStateResolver(k.leader().get(), k.quorum(), k.standbys(), numsync, sync, confirmed, active,
                    wanted, in.me()).transitions();
        } catch (QuorumStateResolver.QuorumError e) {
            return Optional.of(Decision.of("quorum commit: the sync state cannot be reconciled, changing nothing: " + e.getMessage(), renew));
        }
        if (steps.isEmpty()) {
            if (!setting.isEmpty() && !setting.isQuorum() && !sync.contains(STRICT_PLACEHOLDER)) {
                // FIRST n -> ANY n: what switching from synchronous_mode on leaves behind
                SynchronousStandbys any = anyOf(numsync, sync);
                return Optional.of(Decision.soon("quorum commit: setting synchronous_standby_names to '" + any.toSetting() + "'",
                        renew, new SetSyncStandbys(any)));
            }
            return Optional.empty();
        }
        QuorumStateResolver.Transition t = steps.get(0);
        return Optional.of(switch (t.kind()) {
            case SYNC -> {
                SynchronousStandbys value = t.names().isEmpty() ? SynchronousStandbys.NONE : anyOf(t.num(), t.names());
                yield Decision.soon("quorum commit: setting synchronous_standby_names to '" + value.toSetting() + "'", renew,
                        new SetSyncStandbys(value));
            }
            case QUORUM -> {
                int quorum = in.plants(PlantedBug.QUORUM_TOO_LOW) ? Math.max(0, t.num() - 1) : t.num();
                yield Decision.soon("quorum commit: setting leader to " + t.leader() + ", quorum to " + quorum + " of "
                        + t.names(), renew, new WriteSync(t.leader(), t.names(), quorum, version));
            }
            case RESTART -> Decision.soon("quorum commit: waiting for the standbys named in synchronous_standby_names to confirm",
                    renew);
        });
    }

    /**
     * The replication rows {@code maximum_lag_on_syncnode} lets be synchronous (Patroni's
     * {@code SyncHandler.current_state}): all when it is {@code <= 0}, else those whose flush position
     * is within it of the most advanced row's, or of the primary's when only one row streams. Only
     * the choice of standbys changes: the order of naming and publishing them stays the same.
     */
    static List<ReplicationConnection> withinSyncnodeLag(Cluster c, PostgresState pg, List<ReplicationConnection> rows) {
        long maxLag = c.dynamicConfig().maximumLagOnSyncnode().orElse(-1);
        if (maxLag <= 0 || rows.isEmpty()) {
            return rows;
        }
        long max = rows.size() > 1 ? rows.stream().mapToLong(r -> r.flushLsn().value()).max().getAsLong() : pg.walPosition().value();
        return rows.stream().filter(r -> max - r.flushLsn().value() <= maxLag).toList();
    }

    /** The same setting for PostgreSQL: the same names and count, and the same method unless it makes no difference. */
    static boolean sameSetting(SynchronousStandbys a, SynchronousStandbys b) {
        if (!new TreeSet<>(a.names()).equals(new TreeSet<>(b.names())) || a.count() != b.count()) {
            return false;
        }
        return a.method() == b.method() || a.count() == a.names().size() || a.names().size() <= 1;
    }

    private static Decision asFollower(DecisionInput in, Cluster c, PostgresState pg) {
        String leader = c.leader().get();
        if (pg.isRunningPrimary()) {
            if (in.config().paused()) {
                return Decision.nothing("paused: running as primary without the lock ('" + leader + "' holds it); not demoting");
            }
            return Decision.of("demoting self because I do not have the lock and I was a leader ('" + leader + "' holds it)",
                    new Demote(DemoteMode.IMMEDIATE_NOLOCK));
        }
        Optional<Upstream> up = upstreamFor(in, c);
        if (up.isEmpty()) {
            return Decision.nothing("no action. leader '" + leader + "' has not published its member entry yet");
        }
        Upstream upstream = up.get();
        if (in.config().paused()) {
            return Decision.nothing("PAUSE: no action. I am (" + in.me() + "), a secondary, and following '"
                    + pg.upstream().map(Upstream::member).orElse("nobody") + "'");
        }
        boolean sameUpstream = pg.upstream().map(upstream::equals).orElse(false);
        if (!sameUpstream) {
            Optional<Decision> gate = divergenceGate(in, c, upstream, false);
            if (gate.isPresent()) {
                return gate.get();
            }
            return Decision.of(pg.upstream().map(u -> "changing upstream from '" + u.member() + "' to '" + upstream.member() + "'")
                    .orElse("following '" + upstream.member() + "'"), new Follow(up));
        }
        if (!pg.streaming()) {
            Optional<Decision> gate = divergenceGate(in, c, upstream, true);
            if (gate.isPresent()) {
                return gate.get();
            }
        }
        Optional<Upstream> primary = c.leaderMember().filter(m -> !m.connUrl().isEmpty()).map(m -> new Upstream(m.name(), m.connUrl()));
        if (!in.logicalSlotsToCopy().isEmpty() && primary.isPresent()) {
            // Patroni's copy_logical_slots: the replica restarts once with the primary's slot states
            return Decision.of("copying logical slots " + new java.util.TreeSet<>(in.logicalSlotsToCopy().keySet())
                    + " from the primary '" + leader + "'", new CopyLogicalSlots(primary.get(), in.logicalSlotsToCopy()));
        }
        return Decision.nothing("no action. I am (" + in.me() + "), a secondary, and following a leader ('" + leader + "')");
    }

    /**
     * Before following {@code upstream}: ask whether we diverged, and rewind when we did. With
     * {@code notStreaming}, a previous all-clear is re-checked once it is older than the ttl.
     */
    private static Optional<Decision> divergenceGate(DecisionInput in, Cluster c, Upstream upstream, boolean notStreaming) {
        if (in.plants(PlantedBug.FOLLOWS_WITHOUT_REWIND)) {
            return Optional.empty();
        }
        int upstreamTimeline = c.member(upstream.member()).map(Member::timeline).orElse(0);
        Optional<DivergenceResult> last = in.memory().divergence()
                .filter(d -> d.upstream().equals(upstream.member()) && d.upstreamTimeline() == upstreamTimeline);
        long age = last.map(d -> in.now() - d.checkedAt()).orElse(Long.MAX_VALUE);
        boolean stale = last.isEmpty()
                || (last.get().result() == DivergenceCheck.UNKNOWN && age >= in.config().loopWaitNanos())
                || (notStreaming && last.get().result() == DivergenceCheck.NOT_DIVERGED && age >= in.config().ttlNanos());
        if (stale) {
            return Optional.of(Decision.soon("checking whether local data diverged from '" + upstream.member() + "'",
                    new CheckDivergence(upstream)));
        }
        if (last.get().result() == DivergenceCheck.DIVERGED) {
            if (in.config().settings().usePgRewind()) {
                return Optional.of(Decision.of("local data diverged from '" + upstream.member() + "': rewinding", new Rewind(upstream)));
            }
            return Optional.of(Decision.nothing("local data diverged from '" + upstream.member()
                    + "' and use_pg_rewind is off: reinitialize this member"));
        }
        return Optional.empty();
    }

    /** The member to stream from: the {@code replicatefrom} member when it runs, else the leader. */
    static Optional<Upstream> upstreamFor(DecisionInput in, Cluster c) {
        // Patroni's _get_node_to_follow: in a standby cluster every member restores with its restore_command
        Map<String, String> recovery = in.config().standbyCluster().map(StandbyCluster::cascadeRecovery).orElse(Map.of());
        return memberToFollow(in, c).map(u -> recovery.isEmpty() ? u : u.withRecoverySettings(recovery));
    }

    private static Optional<Upstream> memberToFollow(DecisionInput in, Cluster c) {
        MemberTags tags = in.tags();
        if (tags.replicatefrom().isPresent() && !tags.replicatefrom().get().equals(in.me())) {
            Optional<Member> cascade = c.member(tags.replicatefrom().get())
                    .filter(m -> m.isRunning() && !m.connUrl().isEmpty());
            if (cascade.isPresent()) {
                return cascade.map(m -> new Upstream(m.name(), m.connUrl()));
            }
        }
        return c.leaderMember().filter(m -> !m.connUrl().isEmpty()).map(m -> new Upstream(m.name(), m.connUrl()));
    }
}
