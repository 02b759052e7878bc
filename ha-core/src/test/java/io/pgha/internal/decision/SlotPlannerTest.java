package io.pgha.internal.decision;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.MemberTags;
import io.pgha.internal.cluster.Cluster;
import io.pgha.spi.Lsn;
import io.pgha.spi.ReplicationSlot;
import io.pgha.spi.SlotPlan;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which slots a member's server should have, row by row (Patroni's slot synchronisation). */
class SlotPlannerTest {
    private static final long NOW = 1_000_000_000_000L;

    private static Cluster cluster(Situation s) {
        return s.input().cluster().orElseThrow();
    }

    private static SlotPlanner.Result plan(Cluster c, boolean primary, boolean canFailover, List<ReplicationSlot> existing,
                                           Map<String, Long> since, long now) {
        return SlotPlanner.plan(new SlotPlanner.Input(Situation.ME, c, primary, !primary, canFailover, Lsn.of(5000), existing, since, now))
                .orElseThrow();
    }

    private static ReplicationSlot physical(String name) {
        return ReplicationSlot.physical(name, Lsn.of(100), false);
    }

    @Test
    void theLeaderHasASlotForEachMemberStreamingFromItButNotForCascadingOnesOrItself() {
        Cluster c = cluster(Situation.of().iLead().runningPrimary(800).member(Situation.ME, "primary", 800)
                .member("n2", "replica", 800).member("n3", "replica", 800).member("n4", "replica", 800, MemberTags.DEFAULT.withReplicatefrom("n3")));

        SlotPlan p = plan(c, true, true, List.of(), Map.of(), NOW).plan();

        assertThat(p.physical()).containsOnlyKeys("n2", "n3");
        assertThat(p.drop()).isEmpty();
    }

    @Test
    void aStandbyLeaderKeepsItsMembersSlotsAndThePermanentPhysicalOnesButNoLogicalSlotIsPlannedInAStandbyCluster() {
        String config = "{\"standby_cluster\": {\"host\": \"10.9.0.1\", \"port\": 5433}, \"slots\": {\"archiver\": {\"type\": \"physical\"},"
                + " \"cdc\": {\"type\": \"logical\", \"database\": \"app\", \"plugin\": \"pgoutput\"}}}";
        Cluster onStandbyLeader = cluster(Situation.of().iLead().member(Situation.ME, "standby_leader", 800).member("n2", "replica", 800)
                .dynamicConfig(config).leaderSlots(Map.of("cdc", 700L)));
        Cluster onCascade = cluster(Situation.of().leader("n2").member("n2", "standby_leader", 800).member(Situation.ME, "replica", 800)
                .dynamicConfig(config).leaderSlots(Map.of("cdc", 700L)));

        SlotPlanner.Result leader = SlotPlanner.plan(new SlotPlanner.Input(Situation.ME, onStandbyLeader, true, true, true, Lsn.of(5000),
                List.of(), Map.of(), NOW)).orElseThrow();
        SlotPlanner.Result cascade = plan(onCascade, false, true, List.of(), Map.of(), NOW);

        assertThat(leader.plan().physical()).containsOnlyKeys("n2", "archiver");
        assertThat(leader.plan().logical()).isEmpty();
        assertThat(cascade.plan().logical()).isEmpty();
        assertThat(cascade.holdsLogicalCopies()).isFalse();
        assertThat(cascade.toCopy(List.of(), Map.of("cdc", 700L))).isEmpty();
    }

    @Test
    void aReplicaHasSlotsOnlyForTheMembersCascadingFromIt() {
        Cluster c = cluster(Situation.of().leader("n2").member("n2", "primary", 800).member(Situation.ME, "replica", 800)
                .member("n3", "replica", 800, MemberTags.DEFAULT.withReplicatefrom(Situation.ME)).member("n4", "replica", 800));

        assertThat(plan(c, false, true, List.of(), Map.of(), NOW).plan().physical()).containsOnlyKeys("n3");
    }

    @Test
    void aMemberStreamingFromTheLeaderWhileItsCascadeSourceIsDownKeepsItsSlotOnTheLeader() {
        Cluster c = cluster(Situation.of().iLead().runningPrimary(800).member("n2", "replica", 800, MemberTags.DEFAULT.withReplicatefrom("n3"))
                .stoppedMember("n3"));

        assertThat(plan(c, true, true, List.of(), Map.of(), NOW).plan().physical()).containsKeys("n2");
    }

    @Test
    void aPresentMembersSlotThatIsNotNeededHereAnyMoreIsDroppedAtOnce() {
        // the former primary after a switchover: n3 streams from the new leader n2 now
        Cluster c = cluster(Situation.of().leader("n2").member("n2", "primary", 800).member(Situation.ME, "replica", 800)
                .member("n3", "replica", 800));

        SlotPlanner.Result r = plan(c, false, true, List.of(physical("n2"), physical("n3")), Map.of(), NOW);

        assertThat(r.plan().drop()).containsExactlyInAnyOrder("n2", "n3");
        assertThat(r.retained()).isEmpty();
    }

    @Test
    void aDepartedMembersSlotIsKeptForMemberSlotsTtlThenDropped() {
        Cluster c = cluster(Situation.of().iLead().runningPrimary(800).member("n2", "replica", 800)
                .dynamicConfig("{\"member_slots_ttl\": \"10min\"}"));
        List<ReplicationSlot> existing = List.of(physical("n2"), physical("n3"));

        SlotPlanner.Result first = plan(c, true, true, existing, Map.of(), NOW);
        assertThat(first.plan().drop()).isEmpty();
        assertThat(first.retained()).containsExactly("n3");

        SlotPlanner.Result stillWithin = plan(c, true, true, existing, first.unneededSince(), NOW + Duration.ofMinutes(9).toNanos());
        assertThat(stillWithin.plan().drop()).isEmpty();

        SlotPlanner.Result after = plan(c, true, true, existing, stillWithin.unneededSince(), NOW + Duration.ofMinutes(10).toNanos());
        assertThat(after.plan().drop()).containsExactly("n3");
    }

    @Test
    void ignoreSlotsProtectsAndLogicalSlotsAreNeverDropped() {
        Cluster c = cluster(Situation.of().iLead().runningPrimary(800)
                .dynamicConfig("{\"member_slots_ttl\": 0, \"ignore_slots\": [{\"name\": \"backup_tool\"}]}"));
        ReplicationSlot debezium = new ReplicationSlot("debezium", "logical", Optional.of("app"), Optional.of("pgoutput"), Lsn.of(1), false);

        SlotPlanner.Result r = plan(c, true, true, List.of(physical("backup_tool"), physical("stray"), debezium), Map.of(), NOW);

        assertThat(r.plan().drop()).containsExactly("stray");
    }

    @Test
    void permanentSlotsAreOnThePrimaryAndOnFailoverCapableReplicasAdvancedNoFurtherThanReplayed() {
        String slots = "{\"slots\": {\"archiver\": {\"type\": \"physical\"}, \"cdc\": {\"type\": \"logical\", \"database\": \"app\","
                + " \"plugin\": \"pgoutput\"}, \"" + Situation.ME + "\": {\"type\": \"physical\"}}}";
        Cluster onPrimary = cluster(Situation.of().iLead().runningPrimary(800).dynamicConfig(slots));
        Cluster onReplica = cluster(Situation.of().leader("n2").member("n2", "primary", 9000).dynamicConfig(slots)
                .leaderSlots(Map.of("archiver", 9000L)));

        SlotPlan primary = plan(onPrimary, true, true, List.of(), Map.of(), NOW).plan();
        SlotPlan replica = plan(onReplica, false, true, List.of(), Map.of(), NOW).plan();
        SlotPlan nofailover = plan(onReplica, false, false, List.of(), Map.of(), NOW).plan();

        assertThat(primary.physical()).as("a permanent slot named after this member is that member's, not kept on it")
                .containsOnlyKeys("archiver");
        assertThat(primary.logical()).containsOnlyKeys("cdc");
        assertThat(replica.physical()).containsEntry("archiver", Optional.of(Lsn.of(5000)));
        assertThat(replica.logical()).as("a failover-capable replica holds copies of the logical ones").containsOnlyKeys("cdc");
        assertThat(nofailover.physical()).isEmpty();
        assertThat(nofailover.logical()).isEmpty();
    }

    private static final String CDC = "{\"slots\": {\"cdc\": {\"type\": \"logical\", \"database\": \"app\", \"plugin\": \"pgoutput\"}}}";

    private static ReplicationSlot logical(String name, long confirmed) {
        return new ReplicationSlot(name, "logical", Optional.of("app"), Optional.of("pgoutput"), Lsn.of(confirmed), false);
    }

    private static Cluster replicaOf(String config, Map<String, Long> leaderSlots) {
        return cluster(Situation.of().leader("n2").member("n2", "primary", 9000).member(Situation.ME, "replica", 5000)
                .dynamicConfig(config).leaderSlots(leaderSlots));
    }

    @Test
    void aReplicaLackingAPermanentLogicalSlotCopiesItOnceTheLeaderPublishesItsPosition() {
        SlotPlanner.Result unpublished = plan(replicaOf(CDC, Map.of()), false, true, List.of(), Map.of(), NOW);
        SlotPlanner.Result published = plan(replicaOf(CDC, Map.of("cdc", 4000L)), false, true, List.of(), Map.of(), NOW);

        assertThat(unpublished.toCopy(List.of(), Map.of())).as("Patroni copies only a slot with feedback in the store").isEmpty();
        assertThat(published.toCopy(List.of(), Map.of("cdc", 4000L))).containsOnlyKeys("cdc");
        assertThat(published.toCopy(List.of(logical("cdc", 4000)), Map.of("cdc", 4000L))).as("copied: not again").isEmpty();
        assertThat(published.plan().logicalAdvance()).as("nothing to advance before the copy").isEmpty();
    }

    @Test
    void theLeaderAndANofailoverReplicaCopyNoLogicalSlot() {
        Cluster onPrimary = cluster(Situation.of().iLead().runningPrimary(800).dynamicConfig(CDC).leaderSlots(Map.of("cdc", 700L)));

        assertThat(plan(onPrimary, true, true, List.of(), Map.of(), NOW).toCopy(List.of(), Map.of("cdc", 700L))).isEmpty();
        assertThat(plan(replicaOf(CDC, Map.of("cdc", 4000L)), false, false, List.of(), Map.of(), NOW)
                .toCopy(List.of(), Map.of("cdc", 4000L))).isEmpty();
    }

    @Test
    void aCopiedLogicalSlotIsAdvancedToTheLeadersPositionButNeverPastWhatTheReplicaReplayed() {
        // this replica has replayed up to 5000 (see plan())
        SlotPlan behind = plan(replicaOf(CDC, Map.of("cdc", 4000L)), false, true, List.of(logical("cdc", 3000)), Map.of(), NOW).plan();
        SlotPlan ahead = plan(replicaOf(CDC, Map.of("cdc", 7000L)), false, true, List.of(logical("cdc", 3000)), Map.of(), NOW).plan();
        SlotPlan current = plan(replicaOf(CDC, Map.of("cdc", 4000L)), false, true, List.of(logical("cdc", 4000)), Map.of(), NOW).plan();

        assertThat(behind.logicalAdvance()).containsExactly(Map.entry("cdc", Lsn.of(4000)));
        assertThat(ahead.logicalAdvance()).containsExactly(Map.entry("cdc", Lsn.of(5000)));
        assertThat(current.logicalAdvance()).as("at the published position already: nothing each cycle").isEmpty();
        assertThat(behind.drop()).isEmpty();
    }

    @Test
    void aReplicaDropsALogicalSlotRemovedFromSlotsOrListedWithAnotherPluginButNotAnIgnoredOne() {
        Cluster c = replicaOf("{\"ignore_slots\": [{\"name\": \"tool\"}], \"slots\": {\"cdc\": {\"type\": \"logical\","
                + " \"database\": \"app\", \"plugin\": \"wal2json\"}}}", Map.of("cdc", 4000L));
        List<ReplicationSlot> existing = List.of(logical("cdc", 3000), logical("gone", 3000), logical("tool", 3000));

        SlotPlanner.Result r = plan(c, false, true, existing, Map.of(), NOW);

        assertThat(r.plan().drop()).containsExactlyInAnyOrder("cdc", "gone");
        assertThat(r.plan().logicalAdvance()).isEmpty();
        assertThat(r.toCopy(List.of(logical("tool", 3000)), Map.of("cdc", 4000L))).as("not copied while the old one is there")
                .isEmpty();
        SlotPlanner.Result next = plan(c, false, true, List.of(logical("tool", 3000)), Map.of(), NOW);
        assertThat(next.toCopy(List.of(logical("tool", 3000)), Map.of("cdc", 4000L))).as("copied afresh once dropped")
                .containsOnlyKeys("cdc");
    }

    @Test
    void aPausedReplicaDropsNoLogicalSlot() {
        Cluster c = replicaOf("{\"pause\": true, \"slots\": {}}", Map.of());

        assertThat(plan(c, false, true, List.of(logical("gone", 3000)), Map.of(), NOW).plan().drop()).isEmpty();
    }

    @Test
    void theLeaderKeepsEveryLogicalSlotAndAReplicaKeepsTheOnesStillListed() {
        Cluster onPrimary = cluster(Situation.of().iLead().runningPrimary(800).dynamicConfig(CDC));

        assertThat(plan(onPrimary, true, true, List.of(logical("cdc", 100), logical("other", 100)), Map.of(), NOW).plan().drop())
                .isEmpty();
        assertThat(plan(replicaOf(CDC, Map.of("cdc", 100L)), false, true, List.of(logical("cdc", 100)), Map.of(), NOW).plan().drop())
                .isEmpty();
    }

    @Test
    void withUseSlotsOffNothingIsManaged() {
        Cluster c = cluster(Situation.of().iLead().runningPrimary(800).member("n2", "replica", 800)
                .dynamicConfig("{\"postgresql\": {\"use_slots\": false}}"));

        assertThat(SlotPlanner.plan(new SlotPlanner.Input(Situation.ME, c, true, false, true, Lsn.ZERO, List.of(physical("n2")),
                Map.of(), NOW))).isEmpty();
    }
}
