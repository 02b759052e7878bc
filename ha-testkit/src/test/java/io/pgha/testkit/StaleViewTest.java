package io.pgha.testkit;

import io.pgha.spi.support.ForwardingDcsSession;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.HaEvent;
import io.pgha.MemberTags;
import io.pgha.internal.InternalAccess;
import io.pgha.internal.decision.PlantedBug;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A node never acts on a view of the store that is older than what it knows: in virtual time,
 * members whose read caches lag or skip changes (as etcd's watch cache did after an outage,
 * etcd#15220), and store calls whose outcome is unknown.
 */
class StaleViewTest {
    private static final Duration TTL = Duration.ofSeconds(10);
    private static final Duration LOOP_WAIT = Duration.ofSeconds(1);

    private final List<String> log = new ArrayList<>();
    /** Set by a test: the first decision to race for the leader key makes these members' caches skip changes from then on. */
    private VirtualCluster blindOnRace;
    private java.util.function.Predicate<String> toBlind = m -> true;

    private VirtualCluster cluster(int nodes, Optional<PlantedBug> bug) {
        return VirtualCluster.builder().nodes(nodes).seed(11)
                .configure((m, b) -> {
                    b.ttl(TTL).loopWait(LOOP_WAIT).retryTimeout(Duration.ofSeconds(3));
                    bug.ifPresent(x -> InternalAccess.plantBug(b, x));
                })
                .events(this::blindOnRace)
                .build();
    }

    private void blindOnRace(String member, HaEvent e) {
        log.add(member + " " + e);
        if (blindOnRace != null && e instanceof HaEvent.Decision d && d.actions().contains("acquire leader lock")) {
            // the caches have seen the old key go; those blinded will not see who takes it
            blindOnRace.members().stream().filter(x -> toBlind.test(x.name())).forEach(x -> blindOnRace.dcs().staleReads(x.name(), true));
            blindOnRace = null;
        }
    }

    /** The leader dies; when the survivors race for its key, their caches start skipping every change. */
    private void crashLeaderThenBlindTheSurvivorsWhenTheyRace(VirtualCluster c) {
        VirtualCluster.Member old = c.member(c.leaderKey().orElseThrow());
        blindOnRace = c;
        old.killNode();
        old.postgres().crash();
        c.runUntil(() -> blindOnRace == null, TTL.multipliedBy(3));
        assertThat(blindOnRace).as("a race for the leader key").isNull();
    }

    @Test
    void aNodeThatWinsTheRaceWhileItsViewMissesItsOwnLeaderKeyStillPromotes() {
        VirtualCluster c = cluster(3, Optional.empty()).start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        crashLeaderThenBlindTheSurvivorsWhenTheyRace(c);
        long raceAt = c.time().read();
        // the dead member is not expected to stream: one writer holding the key, the other survivor following it
        assertThat(c.runUntil(c::isHealthy, TTL)).as("one primary and its replica, with caches that skip every change").isTrue();
        assertThat(Duration.ofNanos(c.time().read() - raceAt)).as("well within a ttl: not waiting for the once-a-ttl read")
                .isLessThan(TTL.dividedBy(2));
        assertThat(log).noneSatisfy(l -> assertThat(l).contains("lost the leader lock before the promotion finished"));
    }

    @Test
    void withoutReadingFromTheStoreItselfSuchANodeAbandonsItsPromotionAndTheClusterStaysWithoutAPrimary() {
        VirtualCluster c = cluster(3, Optional.of(PlantedBug.TRUSTS_STALE_VIEWS)).start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        crashLeaderThenBlindTheSurvivorsWhenTheyRace(c);
        c.advance(TTL.multipliedBy(6));
        assertThat(c.writers()).as("writable primaries after six ttls").isEmpty();
        assertThat(c.leaderKey()).as("the key stays with the node that abandoned its promotion").isPresent();
        assertThat(log).anySatisfy(l -> assertThat(l).contains("lost the leader lock before the promotion finished"));
    }

    @Test
    void aReplicaThatCannotTakeOverFollowsANewPrimaryItsViewDoesNotShowOnceAPeerReportsIt() {
        List<Long> authoritativeReads = new ArrayList<>();
        VirtualCluster[] self = new VirtualCluster[1];
        VirtualCluster c = VirtualCluster.builder().nodes(3).seed(5)
                .tags(i -> i == 3 ? MemberTags.DEFAULT.withNofailover(true) : MemberTags.DEFAULT)
                .configure((m, b) -> b.ttl(TTL).loopWait(LOOP_WAIT).retryTimeout(Duration.ofSeconds(3)))
                .sessions((m, s) -> m.equals("n3") ? new ForwardingDcsSession(s) {
                    @Override
                    public CompletionStage<ClusterSnapshot> readAuthoritative() {
                        authoritativeReads.add(self[0].time().read());
                        return super.readAuthoritative();
                    }
                } : s)
                .events(this::blindOnRace)
                .build();
        self[0] = c;
        c.start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        toBlind = "n3"::equals; // it never sees the new leader key in its cache, and does not race itself
        crashLeaderThenBlindTheSurvivorsWhenTheyRace(c);
        long raceAt = c.time().read();
        long lastBefore = authoritativeReads.get(authoritativeReads.size() - 1);
        Duration withinCycles = LOOP_WAIT.multipliedBy(3);
        assertThat(Duration.ofNanos(raceAt - lastBefore).plus(withinCycles)).as("the once-a-ttl read is not due in the window")
                .isLessThan(TTL);
        assertThat(c.runUntil(c::isHealthy, TTL)).isTrue();
        assertThat(authoritativeReads).as("n3 read from the store itself within a few cycles of the race, once a peer ran as primary")
                .anySatisfy(t -> assertThat(t - raceAt).isBetween(0L, withinCycles.toNanos()));
    }

    @Test
    void theFirstDecisionAfterAStoreErrorComesFromAReadOfTheStoreItself() {
        List<String> calls = new ArrayList<>();
        VirtualCluster c = VirtualCluster.builder().nodes(1).seed(3)
                .configure((m, b) -> b.ttl(TTL).loopWait(LOOP_WAIT).retryTimeout(Duration.ofSeconds(3)))
                .sessions((m, s) -> recording(s, calls))
                .build().start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(30))).isTrue();
        c.advance(TTL.multipliedBy(2));
        c.dcs().partition("n1");
        c.advance(Duration.ofSeconds(4));
        c.dcs().heal("n1");
        int healedAt = calls.size();
        c.advance(Duration.ofSeconds(3));
        List<String> after = calls.subList(healedAt, calls.size());
        assertThat(after.stream().filter(s -> s.startsWith("read")).findFirst()).as("the first read after the store came back")
                .contains("readAuthoritative");
    }

    @Test
    void aReleaseThatFailedWithoutReachingTheStoreIsSentAgainAndTheSwitchoverCompletes() {
        AtomicInteger failReleases = new AtomicInteger(1);
        AtomicInteger releases = new AtomicInteger();
        VirtualCluster c = VirtualCluster.builder().nodes(2).seed(9)
                .configure((m, b) -> b.ttl(TTL).loopWait(LOOP_WAIT).retryTimeout(Duration.ofSeconds(3)))
                .sessions((m, s) -> failingFirstReleases(s, failReleases, releases))
                .events((m, e) -> log.add(m + " " + e))
                .build().start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        String old = c.leaderKey().orElseThrow();
        String target = old.equals("n1") ? "n2" : "n1";
        c.operator().compareAndSet(ClusterKey.FAILOVER, "{\"leader\":\"" + old + "\",\"member\":\"" + target + "\"}", DcsEntry.ABSENT);
        assertThat(c.runUntil(() -> c.leaderKey().map(target::equals).orElse(false) && c.isHealthy(), TTL)).isTrue();
        assertThat(releases.get()).as("release attempts: the failed one, then one that reached the store").isBetween(2, 3);
        assertThat(log).anySatisfy(l -> assertThat(l).contains("releasing it again"));
    }

    @Test
    void anAcquireWhoseAnswerWasLostEndsWithOnePrimaryAndNoTightLoopAgainstTheStore() {
        VirtualCluster c = cluster(3, Optional.empty()).start();
        assertThat(c.runUntil(c::isHealthy, Duration.ofSeconds(60))).isTrue();
        VirtualCluster.Member old = c.member(c.leaderKey().orElseThrow());
        c.members().stream().filter(m -> m != old).forEach(m -> c.dcs().loseReplies(m.name(), true));
        old.killNode();
        old.postgres().crash();
        long before = c.dcs().requests();
        c.advance(TTL.multipliedBy(3));
        long perSecond = (c.dcs().requests() - before) / (TTL.multipliedBy(3).toSeconds());
        c.members().forEach(m -> c.dcs().loseReplies(m.name(), false));
        assertThat(c.runUntil(c::isHealthy, TTL.multipliedBy(2))).isTrue();
        assertThat(perSecond).as("store requests per second while every other answer was lost").isLessThan(20);
    }

    // ------------------------------------------------------------------ store wrappers

    /** A member's session, noting which read each call was. */
    private static DcsSession recording(DcsSession session, List<String> calls) {
        return new ForwardingDcsSession(session) {
            @Override
            public CompletionStage<ClusterSnapshot> read() {
                calls.add("read");
                return super.read();
            }

            @Override
            public CompletionStage<ClusterSnapshot> readAuthoritative() {
                calls.add("readAuthoritative");
                return super.readAuthoritative();
            }
        };
    }

    /** A member's session whose first {@code failures} releases (counted across members) fail without reaching the store. */
    private static DcsSession failingFirstReleases(DcsSession session, AtomicInteger failures, AtomicInteger releases) {
        return new ForwardingDcsSession(session) {
            @Override
            public CompletionStage<Boolean> releaseLeader() {
                releases.incrementAndGet();
                if (failures.getAndDecrement() > 0) {
                    return CompletableFuture.failedFuture(new DcsUnreachableException("connection reset before the request was sent"));
                }
                return super.releaseLeader();
            }
        };
    }
}
