package io.pgha.internal.decision;

import io.pgha.HaSettings;
import io.pgha.MemberTags;
import io.pgha.SynchronousMode;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.ConfigEntry;
import io.pgha.internal.cluster.DynamicConfig;
import io.pgha.internal.cluster.FailoverRequest;
import io.pgha.internal.cluster.HistoryEntry;
import io.pgha.internal.cluster.Member;
import io.pgha.internal.cluster.SyncState;
import io.pgha.internal.cluster.TimelineHistory;
import io.pgha.internal.decision.NodeMemory.DivergenceResult;
import io.pgha.internal.decision.NodeMemory.RunningAction;
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
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A readable way to state one decision input: "I am n1, a streaming replica of n2; n2 holds the
 * lock; ...". Every method returns this; {@link #input()} builds the {@link DecisionInput}.
 */
final class Situation {
    static final long NOW = 1_000_000_000_000L;
    static final Instant WALL = Instant.parse("2026-11-26T12:00:00Z");
    static final String ME = "n1";

    private MemberTags tags = MemberTags.DEFAULT;
    private boolean dcsDown;
    private Optional<String> initialize = Optional.of("7000000000000000001");
    private Optional<String> leader = Optional.empty();
    private final Map<String, Member> members = new LinkedHashMap<>();
    private Optional<FailoverRequest> failover = Optional.empty();
    private Optional<SyncState> sync = Optional.empty();
    private TimelineHistory history = TimelineHistory.NONE;
    private OptionalLong optime = OptionalLong.empty();
    private boolean configPresent = true;
    private PostgresState pg = replica("n2", true, 1000, 1);
    private LeaseView lease = LeaseView.NOT_HELD;
    private final Map<String, PeerStatus> peers = new LinkedHashMap<>();
    private HaSettings settings = HaSettings.defaults();
    private boolean paused;
    private NodeMemory memory = NodeMemory.INITIAL;

    private boolean replicaWithoutLeader;
    private Map<String, Long> leaderSlots = Map.of();
    private Optional<io.pgha.internal.cluster.FailsafeTopology> failsafe = Optional.empty();

    private Optional<String> failsafeHeard = Optional.empty();
    private boolean watchdogReady = true;
    private Map<String, io.pgha.spi.SlotPlan.LogicalSlot> logicalSlotsToCopy = Map.of();

    /** The last slot synchronisation found these permanent logical slots missing on this replica. */
    Situation lacksLogicalSlots(String... names) {
        Map<String, io.pgha.spi.SlotPlan.LogicalSlot> m = new java.util.TreeMap<>();
        for (String n : names) {
            m.put(n, new io.pgha.spi.SlotPlan.LogicalSlot("app", "pgoutput"));
        }
        logicalSlotsToCopy = m;
        return this;
    }

    /** watchdog.mode is required and the device cannot be used. */
    Situation watchdogUnusable() {
        watchdogReady = false;
        return this;
    }

    /** This member confirmed {@code leader}'s failsafe request within the ttl. */
    Situation failsafeHeardFrom(String leader) {
        failsafeHeard = Optional.of(leader);
        return this;
    }

    /** The {@code failsafe} key: member names to api_urls. */
    Situation failsafeKey(Map<String, String> members) {
        failsafe = Optional.of(new io.pgha.internal.cluster.FailsafeTopology(members, 8));
        return this;
    }
    private com.fasterxml.jackson.databind.node.ObjectNode dynamicJson = io.pgha.internal.cluster.ClusterCodec.JSON.createObjectNode();

    /** The cluster's dynamic configuration (the {@code config} key), as JSON. */
    Situation dynamicConfig(String json) {
        try {
            dynamicJson = (com.fasterxml.jackson.databind.node.ObjectNode) io.pgha.internal.cluster.ClusterCodec.JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
        return this;
    }

    /** The leader's slots as its {@code status} key publishes them. */
    Situation leaderSlots(Map<String, Long> slots) {
        leaderSlots = Map.copyOf(slots);
        return this;
    }

    static Situation of() {
        return new Situation();
    }

    /** The remote primary's section in these rows: Patroni's standby_cluster with a restore_command and an apply delay. */
    static final String STANDBY_CLUSTER = "{\"standby_cluster\": {\"host\": \"10.9.0.1\", \"port\": 5433, \"primary_slot_name\": \"dr\","
            + " \"restore_command\": \"cp /arch/%f %p\", \"recovery_min_apply_delay\": \"5min\"}}";

    /** The cluster is a standby cluster of the remote primary {@code 10.9.0.1:5433}. */
    Situation standbyCluster() {
        return dynamicConfig(STANDBY_CLUSTER);
    }

    /** The upstream the standby leader of {@link #standbyCluster()} follows. */
    static Upstream remotePrimary() {
        return io.pgha.internal.cluster.StandbyCluster.parse(readJson(STANDBY_CLUSTER).get("standby_cluster")).orElseThrow().remoteUpstream();
    }

    private static com.fasterxml.jackson.databind.JsonNode readJson(String json) {
        try {
            return io.pgha.internal.cluster.ClusterCodec.JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A running standby that streams from {@code upstream}. */
    static PostgresState replicaOf(Upstream upstream, long wal) {
        return new PostgresState(RunState.RUNNING, true, Optional.of("7000000000000000001"), 1, Lsn.ZERO, Lsn.ZERO,
                Lsn.of(wal), Lsn.of(wal), Optional.of(upstream), true, List.of(), SynchronousStandbys.NONE, Lsn.ZERO, 150000, List.of());
    }

    // ------------------------------------------------------------------ postgres

    static PostgresState replica(String upstream, boolean streaming, long wal, int timeline) {
        return new PostgresState(RunState.RUNNING, true, Optional.of("7000000000000000001"), timeline, Lsn.ZERO, Lsn.ZERO,
                Lsn.of(wal), Lsn.of(wal), Optional.ofNullable(upstream).map(u -> new Upstream(u, "postgres://" + u + ":5432/postgres")),
                streaming, List.of(), SynchronousStandbys.NONE, Lsn.ZERO, 150000, List.of());
    }

    static PostgresState primary(long wal, int timeline, List<ReplicationConnection> rows, SynchronousStandbys sync) {
        return new PostgresState(RunState.RUNNING, false, Optional.of("7000000000000000001"), timeline, Lsn.of(wal), Lsn.of(wal),
                Lsn.ZERO, Lsn.ZERO, Optional.empty(), false, rows, sync, Lsn.of(timeline > 1 ? 500 : 0), 150000, List.of());
    }

    static PostgresState down(RunState state, boolean standby) {
        return new PostgresState(state, standby, Optional.of("7000000000000000001"), 1, Lsn.ZERO, Lsn.ZERO, Lsn.ZERO, Lsn.ZERO,
                Optional.empty(), false, List.of(), SynchronousStandbys.NONE, Lsn.ZERO, 150000, List.of());
    }

    static ReplicationConnection standby(String name, long flush) {
        return new ReplicationConnection(name, "streaming", "async", Lsn.of(flush), Lsn.of(flush));
    }

    /** A streaming standby that PostgreSQL counts as synchronous ({@code sync_state = sync}). */
    static ReplicationConnection syncStandby(String name, long flush) {
        return new ReplicationConnection(name, "streaming", "sync", Lsn.of(flush), Lsn.of(flush));
    }

    /** A streaming standby of an {@code ANY n (...)} setting ({@code sync_state = quorum}). */
    static ReplicationConnection quorumStandby(String name, long flush) {
        return new ReplicationConnection(name, "streaming", "quorum", Lsn.of(flush), Lsn.of(flush));
    }

    Situation pg(PostgresState state) {
        this.pg = state;
        return this;
    }

    /** The controller has a no_leader replica method (a restore from a backup store). */
    Situation canRestoreWithoutLeader() {
        replicaWithoutLeader = true;
        return this;
    }

    Situation uninitialized() {
        return pg(PostgresState.uninitialized());
    }

    Situation runningReplicaOf(String upstream, long wal) {
        return pg(replica(upstream, true, wal, 1));
    }

    Situation runningPrimary(long wal) {
        return pg(primary(wal, 1, List.of(), SynchronousStandbys.NONE));
    }

    // ------------------------------------------------------------------ the store

    Situation dcsDown() {
        this.dcsDown = true;
        return this;
    }

    Situation noInitializeKey() {
        this.initialize = Optional.empty();
        return this;
    }

    Situation initializeKey(String value) {
        this.initialize = Optional.of(value);
        return this;
    }

    Situation leader(String name) {
        this.leader = Optional.of(name);
        return this;
    }

    Situation iLead() {
        return leader(ME).lease(true);
    }

    Situation lease(boolean valid) {
        this.lease = valid ? new LeaseView(true, NOW + Duration.ofSeconds(20).toNanos(), Optional.empty(), false)
                : new LeaseView(true, NOW - 1, Optional.empty(), false);
        return this;
    }

    /** This node gave the lock up (its release was sent, its outcome unknown) and has not acquired it since. */
    Situation releasedTheLock() {
        this.lease = new LeaseView(false, 0, Optional.empty(), true);
        return this;
    }

    /** A member entry: running replica or primary, with a WAL position. */
    Situation member(String name, String role, long wal, MemberTags memberTags) {
        members.put(name, new Member(name, "postgres://" + name + ":5432/postgres", Optional.of("http://" + name + ":8008/patroni"),
                "running", role, Lsn.of(wal), Lsn.ZERO, Lsn.ZERO, 1, memberTags, Optional.of("streaming"), 1));
        return this;
    }

    Situation member(String name, String role, long wal) {
        return member(name, role, wal, MemberTags.DEFAULT);
    }

    Situation stoppedMember(String name) {
        members.put(name, new Member(name, "postgres://" + name + ":5432/postgres", Optional.empty(), "stopped", "replica",
                Lsn.ZERO, Lsn.ZERO, Lsn.ZERO, 1, MemberTags.DEFAULT, Optional.empty(), 1));
        return this;
    }

    Situation memberOnTimeline(String name, String role, long wal, int timeline) {
        members.put(name, new Member(name, "postgres://" + name + ":5432/postgres", Optional.empty(), "running", role, Lsn.of(wal),
                Lsn.ZERO, Lsn.ZERO, timeline, MemberTags.DEFAULT, Optional.empty(), 1));
        return this;
    }

    Situation leaderOptime(long lsn) {
        this.optime = OptionalLong.of(lsn);
        return this;
    }

    Situation failover(String leaderName, String candidate) {
        this.failover = Optional.of(new FailoverRequest(Optional.ofNullable(leaderName), Optional.ofNullable(candidate),
                Optional.empty(), 77));
        return this;
    }

    Situation scheduledSwitchover(String leaderName, String candidate, Duration fromNow) {
        this.failover = Optional.of(new FailoverRequest(Optional.ofNullable(leaderName), Optional.ofNullable(candidate),
                Optional.of(OffsetDateTime.ofInstant(WALL.plus(fromNow), java.time.ZoneOffset.UTC)), 77));
        return this;
    }

    Situation syncKey(String leaderName, String... standbys) {
        this.sync = Optional.of(new SyncState(Optional.of(leaderName), Set.of(standbys), 55));
        return this;
    }

    /** The sync key of quorum mode: leader, Patroni's quorum, the voters. */
    Situation quorumKey(String leaderName, int quorum, String... voters) {
        this.sync = Optional.of(new SyncState(Optional.of(leaderName), Set.of(voters), quorum, 55));
        return this;
    }

    Situation syncNodeCount(int n) {
        HaSettings s = settings;
        return settings(new HaSettings(s.ttl(), s.loopWait(), s.retryTimeout(), s.maximumLagOnFailover(), s.primaryStartTimeout(),
                s.fencingMargin(), s.peerTimeout(), s.synchronousMode(), n, s.usePgRewind(), s.checkTimeline()));
    }

    Situation history(int... endedTimelines) {
        List<HistoryEntry> entries = new ArrayList<>();
        for (int t : endedTimelines) {
            entries.add(new HistoryEntry(t, 400, "no recovery target specified", Optional.empty(), Optional.of("x")));
        }
        this.history = new TimelineHistory(entries, 9);
        return this;
    }

    Situation noConfig() {
        this.configPresent = false;
        return this;
    }

    Situation paused() {
        this.paused = true;
        return this;
    }

    // ------------------------------------------------------------------ this node

    Situation tags(MemberTags t) {
        this.tags = t;
        return this;
    }

    Situation settings(HaSettings s) {
        this.settings = s;
        return this;
    }

    Situation syncMode(SynchronousMode mode) {
        HaSettings s = settings;
        return settings(new HaSettings(s.ttl(), s.loopWait(), s.retryTimeout(), s.maximumLagOnFailover(), s.primaryStartTimeout(),
                s.fencingMargin(), s.peerTimeout(), mode, s.synchronousNodeCount(), s.usePgRewind(), s.checkTimeline()));
    }

    Situation primaryStartTimeout(Duration d) {
        HaSettings s = settings;
        return settings(new HaSettings(s.ttl(), s.loopWait(), s.retryTimeout(), s.maximumLagOnFailover(), d,
                s.fencingMargin(), s.peerTimeout(), s.synchronousMode(), s.synchronousNodeCount(), s.usePgRewind(), s.checkTimeline()));
    }

    Situation usePgRewind(boolean use) {
        HaSettings s = settings;
        return settings(new HaSettings(s.ttl(), s.loopWait(), s.retryTimeout(), s.maximumLagOnFailover(), s.primaryStartTimeout(),
                s.fencingMargin(), s.peerTimeout(), s.synchronousMode(), s.synchronousNodeCount(), use, s.checkTimeline()));
    }

    Situation maximumLag(long bytes) {
        HaSettings s = settings;
        return settings(new HaSettings(s.ttl(), s.loopWait(), s.retryTimeout(), bytes, s.primaryStartTimeout(),
                s.fencingMargin(), s.peerTimeout(), s.synchronousMode(), s.synchronousNodeCount(), s.usePgRewind(), s.checkTimeline()));
    }

    /** A peer answering a status request. */
    Situation peer(String name, boolean inRecovery, long wal, int priority) {
        peers.put(name, new PeerStatus(name, true, inRecovery, Lsn.of(wal), 1, false, priority));
        return this;
    }

    Situation nofailoverPeer(String name, long wal) {
        peers.put(name, new PeerStatus(name, true, true, Lsn.of(wal), 1, true, 1));
        return this;
    }

    Situation primaryUnhealthyFor(Duration d) {
        memory = memory.withPrimaryUnhealthySince(OptionalLong.of(NOW - d.toNanos()));
        return this;
    }

    Situation divergence(String upstream, DivergenceCheck result) {
        memory = memory.withDivergence(Optional.of(new DivergenceResult(upstream, 1, result, NOW - 1)));
        return this;
    }

    Situation running(Action action) {
        memory = memory.withAction(Optional.of(new RunningAction(action, NOW - 1000)));
        return this;
    }

    /** This node has seen the empty initialize key (version 3, as {@link #input} builds it) for {@code d}. */
    Situation claimSeenFor(Duration d) {
        memory = memory.withBootstrapClaimSeen(OptionalLong.of(3), NOW - d.toNanos());
        return this;
    }

    /** A member entry in {@code state} ("initializing new cluster", ...), with no PostgreSQL running yet. */
    Situation memberInState(String name, String state) {
        members.put(name, new Member(name, "postgres://" + name + ":5432/postgres", Optional.empty(), state, "uninitialized",
                Lsn.ZERO, Lsn.ZERO, Lsn.ZERO, 0, MemberTags.DEFAULT, Optional.empty(), 1));
        return this;
    }

    /** This node last saw {@code leader} holding the leader key. */
    Situation leaderSeen(String leader) {
        memory = memory.withLeaderSeen(leader, 99);
        return this;
    }

    Situation syncChangedAt(long flush) {
        memory = memory.withSyncChangedAtFlush(Lsn.of(flush));
        return this;
    }

    DecisionInput input() {
        com.fasterxml.jackson.databind.node.ObjectNode root = dynamicJson.deepCopy();
        if (paused) {
            root.put("pause", true);
        }
        DynamicConfig dyn = new DynamicConfig(root);
        Optional<Cluster> cluster = dcsDown ? Optional.empty() : Optional.of(new Cluster(7, initialize, initialize.isPresent() ? 3 : DcsEntry.ABSENT,
                configPresent ? Optional.of(new ConfigEntry(dyn, 4)) : Optional.empty(), leader, leader.isPresent() ? 5 : DcsEntry.ABSENT,
                members, failover, sync, history, optime, leaderSlots, failsafe, List.of()));
        EffectiveConfig config = new EffectiveConfig(settings, paused, List.of()).withStandbyClusterOf(dyn);
        return new DecisionInput(ME, tags, cluster, dcsDown ? Optional.of("connection refused") : Optional.empty(), Optional.of(pg),
                Optional.empty(), lease, peers, config, memory, NOW, WALL).withReplicaWithoutLeader(replicaWithoutLeader).withFailsafeLeader(failsafeHeard).withWatchdogReady(watchdogReady)
                .withLogicalSlotsToCopy(logicalSlotsToCopy);
    }

    Decision decide() {
        return Decider.decide(input());
    }
}
