package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SynchronousStandbys;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@code synchronous_mode: quorum} in virtual time: the primary waits for {@code ANY k} of its
 * standbys, the {@code sync} key lists them as voters with Patroni's quorum, a failover loses no
 * acknowledged commit, and switching between quorum and on at run time converges.
 */
class QuorumCommitTest {

    private static VirtualCluster cluster(int nodes, String dynamicConfig) {
        return VirtualCluster.builder().nodes(nodes).seed(5)
                .configure((m, b) -> b.ttl(Duration.ofSeconds(10)).loopWait(Duration.ofSeconds(2)).retryTimeout(Duration.ofSeconds(3))
                        .initialDynamicConfig(dynamicConfig))
                .build();
    }

    private static VirtualCluster.Member leader(VirtualCluster c) {
        return c.member(c.leaderKey().orElseThrow());
    }

    private static JsonNode syncKey(VirtualCluster c) {
        try {
            return ClusterCodec.JSON.readTree(c.dcs().peek(c.scope(), ClusterKey.SYNC).orElse("{}"));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new AssertionError(e);
        }
    }

    /** The sync key names {@code leader} with every other live member as a voter and {@code quorum}; the GUC is ANY numsync of them. */
    private static boolean settled(VirtualCluster c, int numsync, int quorum) {
        if (!c.isHealthy()) {
            return false;
        }
        VirtualCluster.Member primary = leader(c);
        Set<String> others = c.members().stream().filter(m -> m != primary && !m.isDead()).map(VirtualCluster.Member::name)
                .collect(Collectors.toCollection(java.util.TreeSet::new));
        JsonNode key = syncKey(c);
        SynchronousStandbys guc = primary.postgres().synchronousStandbys();
        return key.path("leader").asText().equals(primary.name()) && key.path("quorum").asInt(-1) == quorum
                && key.path("sync_standby").asText("").equals(String.join(",", others))
                && guc.isQuorum() && guc.count() == numsync && new java.util.TreeSet<>(guc.names()).equals(others);
    }

    @Test
    void threeMembersInQuorumModeWaitForAnyOneOfTwoVotersAndTheKeyCarriesQuorumOne() {
        VirtualCluster c = cluster(3, "{\"synchronous_mode\": \"quorum\"}").start();

        assertThat(c.runUntil(() -> settled(c, 1, 1), Duration.ofSeconds(90))).as("settled: " + syncKey(c)).isTrue();
        JsonNode key = syncKey(c);
        assertThat(key.fieldNames()).toIterable().containsExactlyInAnyOrder("leader", "quorum", "sync_standby");
        assertThat(leader(c).postgres().synchronousStandbys().toSetting()).startsWith("ANY 1 (");
    }

    @Test
    void aFailoverInQuorumModeLosesNoAcknowledgedCommitAndTheOldLeaderBecomesAVoterAgain() {
        VirtualCluster c = cluster(3, "{\"synchronous_mode\": \"quorum\"}").start();
        assertThat(c.runUntil(() -> settled(c, 1, 1), Duration.ofSeconds(90))).isTrue();
        VirtualCluster.Member old = leader(c);
        List<Long> acked = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            old.postgres().write(acked::add);
            c.advance(Duration.ofMillis(5));
        }
        assertThat(acked).as("commits acknowledged under ANY 1").isNotEmpty();

        old.killNode();
        assertThat(c.runUntil(() -> c.leaderKey().filter(l -> !l.equals(old.name())).isPresent() && c.writers().size() == 1,
                Duration.ofSeconds(60))).as("a voter takes over").isTrue();
        VirtualCluster.Member promoted = leader(c);
        assertThat(promoted.postgres().missing(acked)).as("acknowledged commits missing on " + promoted.name()).isEmpty();

        old.boot();
        assertThat(c.runUntil(() -> settled(c, 1, 1), Duration.ofSeconds(120)))
                .as("the new leader lists both others as voters: " + syncKey(c) + " " + leader(c).postgres().synchronousStandbys()
                        + " healthy " + c.isHealthy() + " " + c.members()).isTrue();
    }

    @Test
    void synchronousNodeCountTwoOfTwoVotersGivesQuorumZero() {
        VirtualCluster c = cluster(3, "{\"synchronous_mode\": \"quorum\", \"synchronous_node_count\": 2}").start();

        assertThat(c.runUntil(() -> settled(c, 2, 0), Duration.ofSeconds(90))).as("settled: " + syncKey(c)).isTrue();
    }

    @Test
    void fiveMembersWithSynchronousNodeCountTwoWaitForAnyTwoOfFourAndNeedTwoConfirmations() {
        VirtualCluster c = cluster(5, "{\"synchronous_mode\": \"quorum\", \"synchronous_node_count\": 2}").start();

        assertThat(c.runUntil(() -> settled(c, 2, 2), Duration.ofSeconds(120))).as("settled: " + syncKey(c)).isTrue();
    }

    @Test
    void strictQuorumModeKeepsWaitingForTheVotersWhenEveryStandbyIsGone() {
        VirtualCluster c = cluster(3, "{\"synchronous_mode\": \"quorum\", \"synchronous_mode_strict\": true}").start();
        assertThat(c.runUntil(() -> settled(c, 1, 1), Duration.ofSeconds(90))).isTrue();
        VirtualCluster.Member primary = leader(c);
        c.members().stream().filter(m -> m != primary).forEach(VirtualCluster.Member::killNode);
        c.members().stream().filter(m -> m != primary).forEach(m -> m.postgres().crash());
        c.advance(Duration.ofSeconds(30));

        List<Long> acked = new ArrayList<>();
        assertThat(primary.postgres().write(acked::add)).as("the primary takes the write").isPresent();
        c.advance(Duration.ofSeconds(30));
        assertThat(acked).as("acknowledged without a standby").isEmpty();
        String[] voters = others(c, primary);
        assertThat(primary.postgres().synchronousStandbys().toSetting()).as("still waiting for either voter")
                .isEqualTo("ANY 1 (\"" + voters[0] + "\",\"" + voters[1] + "\")");
    }

    @Test
    void nonStrictQuorumModeDropsToAsynchronousWhenEveryStandbyIsGone() {
        VirtualCluster c = cluster(3, "{\"synchronous_mode\": \"quorum\"}").start();
        assertThat(c.runUntil(() -> settled(c, 1, 1), Duration.ofSeconds(90))).isTrue();
        VirtualCluster.Member primary = leader(c);
        c.members().stream().filter(m -> m != primary).forEach(VirtualCluster.Member::killNode);
        c.members().stream().filter(m -> m != primary).forEach(m -> m.postgres().crash());

        assertThat(c.runUntil(() -> primary.postgres().synchronousStandbys().isEmpty()
                && syncKey(c).path("sync_standby").isNull(), Duration.ofSeconds(60)))
                .as("no voters, no setting: " + syncKey(c)).isTrue();
        List<Long> acked = new ArrayList<>();
        primary.postgres().write(acked::add);
        c.advance(Duration.ofSeconds(1));
        assertThat(acked).as("acknowledged asynchronously").hasSize(1);
    }

    private static String[] others(VirtualCluster c, VirtualCluster.Member primary) {
        return c.members().stream().filter(m -> m != primary).map(VirtualCluster.Member::name).sorted().toArray(String[]::new);
    }

    /** Patroni's quorum_commit.feature, step 4: quorum to on (multisync) and back. */
    @Test
    void switchingFromQuorumToOnAndBackAtRunTimeConverges() {
        VirtualCluster c = cluster(3, "{\"synchronous_mode\": \"quorum\"}").start();
        assertThat(c.runUntil(() -> settled(c, 1, 1), Duration.ofSeconds(90))).isTrue();

        editConfig(c, "synchronous_mode", "on");
        assertThat(c.runUntil(() -> {
            if (!c.isHealthy()) {
                return false;
            }
            JsonNode key = syncKey(c);
            SynchronousStandbys guc = leader(c).postgres().synchronousStandbys();
            String voter = key.path("sync_standby").asText("");
            return !guc.isQuorum() && guc.names().size() == 1 && guc.names().get(0).equals(voter)
                    && key.path("quorum").asInt(-1) == 0;
        }, Duration.ofSeconds(90))).as("multisync: one sync standby, FIRST 1, quorum 0: " + syncKey(c) + " "
                + leader(c).postgres().synchronousStandbys()).isTrue();

        editConfig(c, "synchronous_mode", "quorum");
        assertThat(c.runUntil(() -> settled(c, 1, 1), Duration.ofSeconds(90))).as("back to quorum: " + syncKey(c)).isTrue();
    }

    @Test
    void whileTheModeSwitchesEveryCommitAcknowledgedIsOnSomeVoterThatAPromotionWouldAsk() {
        // the switch quorum -> on passes through an empty key: no standby may be promoted while ANY 1 holds
        VirtualCluster c = cluster(3, "{\"synchronous_mode\": \"quorum\"}").start();
        assertThat(c.runUntil(() -> settled(c, 1, 1), Duration.ofSeconds(90))).isTrue();
        Set<String> keysSeen = new HashSet<>();
        editConfig(c, "synchronous_mode", "on");
        for (int i = 0; i < 400; i++) {
            c.advance(Duration.ofMillis(50));
            JsonNode key = syncKey(c);
            SynchronousStandbys guc = leader(c).postgres().synchronousStandbys();
            keysSeen.add(key.toString() + " " + guc.toSetting());
            String[] voters = key.path("sync_standby").asText("").isEmpty() ? new String[0] : key.path("sync_standby").asText().split(",");
            if (guc.isQuorum() && guc.count() < guc.names().size() && key.path("quorum").asInt(0) == 0) {
                assertThat(voters).as("a key without quorum while ANY " + guc.count() + " of " + guc.names() + " holds: " + keysSeen).isEmpty();
            }
        }
    }

    private static void editConfig(VirtualCluster c, String field, String value) {
        DcsSession operator = c.operator();
        ClusterSnapshot s = await(c, operator.readAuthoritative().toCompletableFuture());
        var entry = s.get(ClusterKey.CONFIG).orElseThrow();
        ObjectNode config;
        try {
            config = (ObjectNode) ClusterCodec.JSON.readTree(entry.value());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new AssertionError(e);
        }
        config.put(field, value);
        assertThat(await(c, operator.compareAndSet(ClusterKey.CONFIG, config.toString(), entry.version()).toCompletableFuture()))
                .as("config written").isTrue();
        operator.close();
    }

    private static <T> T await(VirtualCluster c, CompletableFuture<T> f) {
        assertThat(c.runUntil(f::isDone, Duration.ofSeconds(5))).as("the store answered").isTrue();
        return f.join();
    }
}
