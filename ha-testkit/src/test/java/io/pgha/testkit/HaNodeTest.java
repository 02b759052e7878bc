package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.NodeStatus;
import io.pgha.Role;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** HaNode end to end in virtual time: an in-memory store, fake PostgreSQL servers, no sleeping. */
class HaNodeTest {
    private static final Duration TTL = Duration.ofSeconds(10);

    private final List<String> log = new ArrayList<>();

    private VirtualCluster cluster(int nodes) {
        return VirtualCluster.builder().nodes(nodes).seed(7)
                .configure((m, b) -> b.ttl(TTL).loopWait(Duration.ofSeconds(2)).retryTimeout(Duration.ofSeconds(3)))
                .events((m, e) -> log.add(m + " " + e))
                .build();
    }

    private static VirtualCluster.Member leader(VirtualCluster c) {
        return c.member(c.leaderKey().orElseThrow());
    }

    @Test
    void aSingleNodeBootstrapsAClusterAndBecomesPrimary() {
        VirtualCluster c = cluster(1).start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(30))).isTrue();
        c.runUntil(() -> c.member("n1").node().status().role() == Role.PRIMARY, Duration.ofSeconds(1));
        NodeStatus s = c.member("n1").node().status();
        assertThat(s.role()).isEqualTo(Role.PRIMARY);
        assertThat(s.leader()).contains("n1");
        assertThat(s.leaseValid()).isTrue();
        assertThat(c.dcs().peek(c.scope(), ClusterKey.INITIALIZE)).hasValueSatisfying(v -> assertThat(v).startsWith("7"));
        assertThat(c.dcs().peek(c.scope(), ClusterKey.CONFIG)).hasValueSatisfying(v -> assertThat(v).contains("\"ttl\":10"));
    }

    @Test
    void threeNodesElectOneLeaderAndTheOthersStreamFromIt() {
        VirtualCluster c = cluster(3).start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member leader = leader(c);
        for (VirtualCluster.Member m : c.members()) {
            if (m != leader) {
                assertThat(m.postgres().upstream()).hasValueSatisfying(u -> assertThat(u.member()).isEqualTo(leader.name()));
                c.runUntil(() -> m.node().status().role() == Role.REPLICA, Duration.ofSeconds(5));
                assertThat(m.node().status().role()).isEqualTo(Role.REPLICA);
            }
        }
    }

    @Test
    void aCrashedLeaderIsReplacedAfterItsLeaseExpires() {
        VirtualCluster c = cluster(3).start();
        c.runUntil(c::isHealthy, Duration.ofSeconds(60));
        VirtualCluster.Member old = leader(c);
        long crashedAt = c.time().read();
        old.killNode();
        old.postgres().crash();
        assertThat(c.runUntil(() -> c.writers().size() == 1 && c.writers().get(0) != old, TTL.multipliedBy(2))).isTrue();
        long took = c.time().read() - crashedAt;
        assertThat(Duration.ofNanos(took)).isLessThanOrEqualTo(TTL.plusSeconds(1));
        old.boot();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(30))).as("the old leader rejoins as a replica").isTrue();
        assertThat(old.postgres().isRunningReplica()).isTrue();
    }

    @Test
    void aGracefulStopOfTheLeaderHandsOverWithoutWaitingForTheTtl() {
        VirtualCluster c = cluster(3).start();
        c.runUntil(c::isHealthy, Duration.ofSeconds(60));
        VirtualCluster.Member old = leader(c);
        boolean[] keyReleasedWhileWritable = {false};
        c.time().afterEachStep(() -> {
            if (c.leaderKey().isEmpty() && old.postgres().acceptsWrites()) {
                keyReleasedWhileWritable[0] = true;
            }
        });
        long stoppedAt = c.time().read();
        old.stopGracefully();
        assertThat(c.runUntil(() -> c.writers().size() == 1 && c.writers().get(0) != old, TTL)).isTrue();
        assertThat(Duration.ofNanos(c.time().read() - stoppedAt)).isLessThan(Duration.ofSeconds(1));
        assertThat(keyReleasedWhileWritable[0]).as("the key is released only after postgres stopped").isFalse();
        assertThat(old.postgres().runState()).isIn(io.pgha.spi.RunState.STOPPED);
    }

    @Test
    void aReplicaNoticesANewLeaderAtOnceNotAtItsNextTick() {
        VirtualCluster c = cluster(3).start();
        c.runUntil(c::isHealthy, Duration.ofSeconds(60));
        VirtualCluster.Member old = leader(c);
        DcsSession operator = c.operator();
        String target = c.members().stream().map(VirtualCluster.Member::name).filter(n -> !n.equals(old.name())).findFirst().orElseThrow();
        long requestedAt = c.time().read();
        operator.compareAndSet(ClusterKey.FAILOVER, "{\"leader\":\"" + old.name() + "\",\"member\":\"" + target + "\"}", DcsEntry.ABSENT);
        assertThat(c.runUntil(() -> c.leaderKey().map(target::equals).orElse(false) && c.isHealthy(), Duration.ofSeconds(10))).isTrue();
        assertThat(Duration.ofNanos(c.time().read() - requestedAt)).as("switchover until every member streams again")
                .isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void theFenceStopsWritesBeforeTheLeaseCanExpireEvenWhenTheLoopIsStuckInAStoreCall() {
        VirtualCluster c = cluster(3).start();
        c.runUntil(c::isHealthy, Duration.ofSeconds(60));
        VirtualCluster.Member old = leader(c);
        old.postgres().setExternalFence(false); // prove the engine's own fence, not the server's
        c.dcs().partition(old.name());
        old.setLoopStuck(true);
        long[] fencedAt = {0};
        long[] keyGoneAt = {0};
        c.time().afterEachStep(() -> {
            if (fencedAt[0] == 0 && !old.postgres().acceptsWrites()) {
                fencedAt[0] = c.time().read();
            }
            if (keyGoneAt[0] == 0 && !c.leaderKey().map(old.name()::equals).orElse(false)) {
                keyGoneAt[0] = c.time().read();
            }
        });
        assertThat(c.runUntil(() -> c.writers().size() == 1 && c.writers().get(0) != old, TTL.multipliedBy(3))).isTrue();
        assertThat(fencedAt[0]).as("fenced").isPositive();
        assertThat(fencedAt[0]).as("fenced before the lease expired in the store").isLessThan(keyGoneAt[0]);
        assertThat(log).anySatisfy(l -> assertThat(l).startsWith(old.name() + " Fenced["));
    }

    @Test
    void aJvmFrozenLongerThanTheTtlNeverWritesAlongsideTheNewPrimary() {
        VirtualCluster c = cluster(3).start();
        c.runUntil(c::isHealthy, Duration.ofSeconds(60));
        VirtualCluster.Member old = leader(c);
        boolean[] twoWriters = {false};
        c.time().afterEachStep(() -> twoWriters[0] |= c.writers().size() > 1);
        old.pause();
        assertThat(c.runUntil(() -> c.writers().size() == 1 && c.writers().get(0) != old, TTL.multipliedBy(3))).isTrue();
        old.resume();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(30))).isTrue();
        assertThat(twoWriters[0]).as("two writable primaries at one instant").isFalse();
    }

    @Test
    void aCorruptMemberEntryIsSkippedAndTheLoopGoesOn() {
        VirtualCluster c = cluster(1).start();
        c.runUntil(c::isHealthy, Duration.ofSeconds(30));
        DcsSession intruder = c.dcs().open(SessionSpec.member(c.scope(), "intruder", TTL, Duration.ofSeconds(1)));
        intruder.touchMember("{definitely not json");
        long cycles = c.member("n1").node().status().cycles();
        c.advance(Duration.ofSeconds(20));
        NodeStatus s = c.member("n1").node().status();
        assertThat(s.cycles()).isGreaterThan(cycles + 5);
        assertThat(s.role()).isEqualTo(Role.PRIMARY);
        assertThat(c.isHealthy()).isTrue();
    }

    @Test
    void aCorruptConfigKeyIsLeftForTheOperatorInsteadOfBeingRewrittenEveryCycle() {
        VirtualCluster c = cluster(2).start();
        c.runUntil(c::isHealthy, Duration.ofSeconds(30));
        DcsSession operator = c.operator();
        long version = c.dcs().peekAll(c.scope()).get(ClusterKey.CONFIG).orElseThrow().version();
        operator.compareAndSet(ClusterKey.CONFIG, "{a hand edit that is not json", version);
        c.advance(Duration.ofSeconds(2));
        log.clear();

        c.advance(Duration.ofSeconds(30));

        assertThat(log).as("no attempt to write a configuration over the corrupt one")
                .noneMatch(l -> l.contains("the cluster has no dynamic configuration"));
        assertThat(c.dcs().peek(c.scope(), ClusterKey.CONFIG)).contains("{a hand edit that is not json");
        assertThat(c.isHealthy()).isTrue();
        operator.close();
    }

    @Test
    void aNodeWhoseDataBelongsToAnotherClusterStopsWithAClearError() {
        VirtualCluster c = cluster(2);
        c.member("n1").boot();
        c.runUntil(() -> c.writers().size() == 1, Duration.ofSeconds(30));
        // n2's data directory was initialized elsewhere: bootstrap it on its own first
        c.member("n2").postgres().bootstrap();
        c.advance(Duration.ofSeconds(1));
        c.member("n2").boot();
        c.advance(Duration.ofSeconds(5));
        assertThat(log).anySatisfy(l -> assertThat(l).startsWith("n2 NodeFailed").contains("system ID mismatch"));
        assertThat(c.member("n2").node().status().role()).isEqualTo(Role.FAILED);
        assertThat(c.member("n1").node().status().role()).isEqualTo(Role.PRIMARY);
    }

    @Test
    void everyDecisionAndRoleChangeIsAnEvent() {
        VirtualCluster c = cluster(1).start();
        c.runUntil(c::isHealthy, Duration.ofSeconds(30));
        c.advance(Duration.ofSeconds(10));
        assertThat(log).anySatisfy(l -> assertThat(l).startsWith("n1 RoleChanged[member=n1, from=UNINITIALIZED, to=STARTING"));
        assertThat(log).anySatisfy(l -> assertThat(l).startsWith("n1 RoleChanged").contains("to=PRIMARY"));
        long decisions = log.stream().filter(l -> l.startsWith("n1 Decision[")).count();
        assertThat(decisions).isGreaterThanOrEqualTo(5);
        assertThat(log).anySatisfy(l -> assertThat(l).contains("no action. I am (n1), the leader with the lock"));
    }

    @Test
    void theLeaderRenewsOncePerLoopAndNoMoreWhenIdle() {
        VirtualCluster c = cluster(1).start();
        c.runUntil(c::isHealthy, Duration.ofSeconds(30));
        c.advance(Duration.ofSeconds(10));
        long before = c.dcs().requests();
        c.advance(Duration.ofSeconds(100));
        long perSecond = (c.dcs().requests() - before) / 100;
        // one read and one renewal per 2 s loop
        assertThat(perSecond).isLessThanOrEqualTo(1);
    }

    @Test
    void aBootstrapClaimThatNobodyWorksOnIsClearedAfterATtlAndTheClusterForms() {
        VirtualCluster c = cluster(3);
        // what a claimant leaves when it dies after claiming, or never hears that its create took effect
        c.operator().compareAndSet(ClusterKey.INITIALIZE, "", DcsEntry.ABSENT);
        c.start();
        c.advance(TTL.minusSeconds(1));
        assertThat(c.dcs().peek(c.scope(), ClusterKey.INITIALIZE)).as("the claim is honoured for a ttl").contains("");
        assertThat(c.writers()).isEmpty();

        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(30))).as("the cluster forms once the claim is cleared").isTrue();
        assertThat(c.dcs().peek(c.scope(), ClusterKey.INITIALIZE)).hasValueSatisfying(v -> assertThat(v).startsWith("7"));
        assertThat(log).anySatisfy(l -> assertThat(l).contains("the bootstrap claim is abandoned"));
    }

    @Test
    void aClaimWhoseClaimantIsStillCreatingTheDataIsNotClearedHoweverLongItTakes() {
        VirtualCluster c = cluster(3);
        c.members().forEach(m -> m.postgres().timings().bootstrap = TTL.multipliedBy(4));
        c.start();
        assertThat(c.runUntil(() -> c.dcs().peek(c.scope(), ClusterKey.INITIALIZE).isPresent(), Duration.ofSeconds(10))).isTrue();
        c.advance(TTL.multipliedBy(3));
        assertThat(c.dcs().peek(c.scope(), ClusterKey.INITIALIZE)).as("still the first claim, a slow initdb later").contains("");
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        assertThat(c.members().stream().mapToInt(m -> m.postgres().bootstrapAttempts()).sum()).as("one initdb in the cluster").isEqualTo(1);
        assertThat(log).noneSatisfy(l -> assertThat(l).contains("the bootstrap claim is abandoned"));
    }

    @Test
    void aBootstrapThatKeepsFailingIsRetriedOncePerLoopNotInATightLoop() {
        VirtualCluster c = cluster(1);
        c.member("n1").postgres().failBootstraps(true);
        c.start();
        c.advance(Duration.ofSeconds(20));
        // loop_wait 2 s: about ten attempts in 20 s, not thousands
        assertThat(c.member("n1").postgres().bootstrapAttempts()).isBetween(2, 12);
        c.member("n1").postgres().failBootstraps(false);
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(30))).isTrue();
    }

    @Test
    void tagsReplacedWhileANodeRunsArePublishedAndDecidedWith() {
        VirtualCluster c = cluster(2).start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member old = leader(c);
        VirtualCluster.Member replica = c.members().stream().filter(m -> m != old).findFirst().orElseThrow();

        replica.node().updateTags(io.pgha.MemberTags.DEFAULT.withNofailover(true));

        assertThat(replica.node().tags().nofailover()).isTrue();
        assertThat(c.runUntil(() -> c.dcs().peekMember(c.scope(), replica.name()).orElse("").contains("\"nofailover\":true"),
                Duration.ofSeconds(10))).as("the next member entry carries the new tags").isTrue();
        old.killNode();
        old.postgres().crash();
        c.advance(TTL.multipliedBy(3));
        assertThat(c.writers()).as("a replica tagged nofailover after it started does not take over").isEmpty();
        assertThat(replica.postgres().isRunningReplica()).isTrue();
    }

    @Test
    void aMemberWithANoLeaderMethodRestoresTheLostClusterFromABackupAndLeadsIt() {
        VirtualCluster c = cluster(2).start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member old = leader(c);
        VirtualCluster.Member other = c.members().stream().filter(m -> m != old).findFirst().orElseThrow();
        long backedUp = old.postgres().write(id -> { }).orElseThrow();
        io.pgha.testkit.FakePostgres.Backup backup = old.postgres().backup();

        // the whole cluster is lost: both nodes die, and the replica's data with them
        old.killNode();
        old.postgres().crash();
        other.killNode();
        other.postgres().crash();
        other.postgres().removeData();
        c.advance(TTL.multipliedBy(2));
        assertThat(other.postgres().runState()).isEqualTo(io.pgha.spi.RunState.UNINITIALIZED);
        other.postgres().restoreWithoutLeaderFrom(java.util.Optional.of(backup));

        other.boot();

        assertThat(c.runUntil(() -> c.writers().size() == 1 && c.writers().get(0) == other, Duration.ofSeconds(60)))
                .as("the restored member takes the lock with the backup's data").isTrue();
        assertThat(other.postgres().contains(backedUp)).isTrue();
        assertThat(log).anyMatch(l -> l.startsWith(other.name()) && l.contains("creating a replica without one"));
    }

    private VirtualCluster clusterWithSlots(int nodes, String dynamicConfig) {
        return VirtualCluster.builder().nodes(nodes).seed(7)
                .configure((m, b) -> b.ttl(TTL).loopWait(Duration.ofSeconds(2)).retryTimeout(Duration.ofSeconds(3))
                        .initialDynamicConfig(dynamicConfig))
                .events((m, e) -> log.add(m + " " + e))
                .build();
    }

    @Test
    void theLeaderKeepsASlotPerReplicaPublishesThemAndAfterAHandOverTheFormerLeaderDropsThem() {
        VirtualCluster c = clusterWithSlots(3, "{\"slots\": {\"archiver\": {\"type\": \"physical\"}}}").start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member old = leader(c);
        List<String> others = c.members().stream().filter(m -> m != old).map(VirtualCluster.Member::name).toList();

        assertThat(c.runUntil(() -> old.postgres().slotNames().containsAll(others) && old.postgres().slotNames().contains("archiver"),
                Duration.ofSeconds(10))).as("a slot per replica and the permanent one").isTrue();
        assertThat(c.runUntil(() -> c.dcs().peek(c.scope(), ClusterKey.STATUS).orElse("").contains("\"archiver\""), Duration.ofSeconds(10)))
                .as("the leader publishes its slots in status").isTrue();
        c.runUntil(() -> c.members().stream().filter(m -> m != old).allMatch(m -> m.postgres().slotNames().contains("archiver")),
                Duration.ofSeconds(10));
        assertThat(c.members().stream().filter(m -> m != old)).as("replicas keep the permanent slot for after a failover")
                .allMatch(m -> m.postgres().slotNames().contains("archiver"));

        old.stopGracefully();
        assertThat(c.runUntil(() -> c.leaderKey().isPresent() && !c.leaderKey().get().equals(old.name()), TTL)).isTrue();
        old.boot();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member now = leader(c);

        assertThat(c.runUntil(() -> !old.postgres().slotNames().contains(others.get(0)) && !old.postgres().slotNames().contains(others.get(1))
                && now.postgres().slotNames().contains(old.name()), Duration.ofSeconds(20)))
                .as("the former leader drops the slots of members that stream from the new one; the new one has the former's").isTrue();
        assertThat(old.postgres().slotNames()).contains("archiver");
    }

    @Test
    void aDepartedMembersSlotIsDroppedAfterMemberSlotsTtl() {
        VirtualCluster c = clusterWithSlots(3, "{\"member_slots_ttl\": 60}").start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member l = leader(c);
        VirtualCluster.Member gone = c.members().stream().filter(m -> m != l).findFirst().orElseThrow();
        assertThat(c.runUntil(() -> l.postgres().slotNames().contains(gone.name()), Duration.ofSeconds(10))).isTrue();

        gone.killNode();
        gone.postgres().crash();
        assertThat(c.runUntil(() -> c.dcs().peekMember(c.scope(), gone.name()).isEmpty(), TTL.multipliedBy(3))).as("its entry expires").isTrue();
        long left = c.time().read();

        assertThat(c.runUntil(() -> !l.postgres().slotNames().contains(gone.name()), Duration.ofSeconds(120))).isTrue();
        assertThat(Duration.ofNanos(c.time().read() - left)).as("kept for member_slots_ttl first")
                .isGreaterThanOrEqualTo(Duration.ofSeconds(55));
    }

    @Test
    void replicasCopyAPermanentLogicalSlotOnceWithOneRestartAndTheNewLeaderHasItAfterAHandOver() {
        VirtualCluster c = clusterWithSlots(3, "{\"slots\": {\"cdc\": {\"type\": \"logical\", \"database\": \"app\","
                + " \"plugin\": \"pgoutput\"}}}").start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member old = leader(c);
        List<VirtualCluster.Member> replicas = c.members().stream().filter(m -> m != old).toList();

        assertThat(c.runUntil(() -> replicas.stream().allMatch(m -> m.postgres().slotNames().contains("cdc")), Duration.ofSeconds(30)))
                .as("each replica copies the leader's logical slot").isTrue();
        Map<String, Integer> restartsAfterCopy = new java.util.HashMap<>();
        replicas.forEach(m -> restartsAfterCopy.put(m.name(), m.postgres().restarts()));
        c.runUntil(() -> false, Duration.ofSeconds(30));
        assertThat(replicas).as("the copy restarted each replica once").allMatch(m -> restartsAfterCopy.get(m.name()) == 1);
        assertThat(replicas).as("one restart per copy, not one per cycle")
                .allMatch(m -> m.postgres().restarts() == restartsAfterCopy.get(m.name()));
        assertThat(c.isHealthy()).isTrue();

        old.stopGracefully();
        assertThat(c.runUntil(() -> c.leaderKey().isPresent() && !c.leaderKey().get().equals(old.name()), TTL)).isTrue();
        VirtualCluster.Member now = c.member(c.leaderKey().get());
        assertThat(now.postgres().slotNames()).as("the new leader's copy is its slot now").contains("cdc");
    }
}
