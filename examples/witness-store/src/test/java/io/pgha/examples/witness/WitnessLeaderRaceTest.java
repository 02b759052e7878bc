package io.pgha.examples.witness;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.Closer;
import io.pgha.testkit.servers.PostgresProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The leader key under races, round after round, each member with a connection of its own (as
 * separate processes have): create-if-absent and the takeover of an expired key leave exactly one
 * winner, and a holder renewing while others race keeps the key.
 */
class WitnessLeaderRaceTest {
    private static final Duration RETRY = Duration.ofSeconds(3);
    private static final int RACERS = 4;
    private static PostgresProcess witness;
    private final Closer closer = new Closer();
    private final java.util.Map<String, WitnessDcs> connections = new java.util.HashMap<>();

    @BeforeAll
    static void startWitness() throws Exception {
        witness = Witnesses.startWarm();
    }

    @AfterAll
    static void stopWitness() {
        if (witness != null) {
            witness.close();
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        closer.close();
    }

    @Test
    void membersRacingForAFreeKeyLeaveExactlyOneWinnerEveryRound() throws Exception {
        for (int round = 0; round < 15; round++) {
            String scope = "race-free-" + round + "-" + Long.toHexString(System.nanoTime() & 0xFFFFFF);
            List<DcsSession> racers = racers(scope, Duration.ofSeconds(10));
            List<CompletableFuture<Boolean>> tries = new ArrayList<>();
            racers.forEach(r -> tries.add(r.acquireLeader().toCompletableFuture()));
            assertThat(winners(tries)).as("winners of round " + round).isEqualTo(1);
            assertThat(leader(racers.get(0))).isPresent();
        }
    }

    @Test
    void membersRacingForAnExpiredKeyLeaveExactlyOneWinnerEveryRound() throws Exception {
        for (int round = 0; round < 6; round++) {
            String scope = "race-expired-" + round + "-" + Long.toHexString(System.nanoTime() & 0xFFFFFF);
            DcsSession gone = session(scope, "gone", Duration.ofMillis(500));
            assertThat(gone.acquireLeader().toCompletableFuture().get(10, TimeUnit.SECONDS)).isTrue();
            List<DcsSession> racers = racers(scope, Duration.ofSeconds(10));
            // the key's row is still there, bound to a lease that expired: invisible, and taken over
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> leader(racers.get(0)).isEmpty());
            List<CompletableFuture<Boolean>> tries = new ArrayList<>();
            racers.forEach(r -> tries.add(r.acquireLeader().toCompletableFuture()));
            assertThat(winners(tries)).as("winners of round " + round).isEqualTo(1);
            assertThat(leader(racers.get(0))).isPresent().get().isNotEqualTo("gone");
        }
    }

    @Test
    void aHolderRenewingWhileOthersRaceKeepsTheKey() throws Exception {
        String scope = "race-renew-" + Long.toHexString(System.nanoTime() & 0xFFFFFF);
        DcsSession holder = session(scope, "holder", Duration.ofSeconds(2));
        assertThat(holder.acquireLeader().toCompletableFuture().get(10, TimeUnit.SECONDS)).isTrue();
        List<DcsSession> racers = racers(scope, Duration.ofSeconds(10));
        for (int round = 0; round < 20; round++) {
            CompletableFuture<Boolean> renewal = holder.renewLeader(Optional.of("{\"round\":" + round + "}")).toCompletableFuture();
            List<CompletableFuture<Boolean>> tries = new ArrayList<>();
            racers.forEach(r -> tries.add(r.acquireLeader().toCompletableFuture()));
            assertThat(renewal.get(10, TimeUnit.SECONDS)).as("renewal in round " + round).isTrue();
            assertThat(winners(tries)).as("racers that won in round " + round).isZero();
        }
        assertThat(leader(racers.get(0))).contains("holder");
    }

    private List<DcsSession> racers(String scope, Duration ttl) {
        List<DcsSession> racers = new ArrayList<>();
        for (int i = 0; i < RACERS; i++) {
            racers.add(session(scope, "m" + i, ttl));
        }
        return racers;
    }

    /** A session on the member's own store connection (one per member name, opened once per test). */
    private DcsSession session(String scope, String member, Duration ttl) {
        WitnessDcs dcs = connections.computeIfAbsent(member, m -> closer.add(WitnessDcs.builder().jdbcUrl(witness.jdbcUrl())
                .credentials(witness.user(), witness.password()).build()));
        return closer.add(dcs.open(SessionSpec.member(scope, member, ttl, RETRY)));
    }

    private static long winners(List<CompletableFuture<Boolean>> tries) throws Exception {
        long n = 0;
        for (CompletableFuture<Boolean> t : tries) {
            if (t.get(10, TimeUnit.SECONDS)) {
                n++;
            }
        }
        return n;
    }

    private static Optional<String> leader(DcsSession s) throws Exception {
        return s.read().toCompletableFuture().get(10, TimeUnit.SECONDS).leaderName();
    }
}
