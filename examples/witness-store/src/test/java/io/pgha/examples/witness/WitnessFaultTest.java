package io.pgha.examples.witness;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.Closer;
import io.pgha.testkit.FaultProxy;
import io.pgha.testkit.servers.PostgresProcess;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the contract suite does not show: a witness that stops answering (a dropped link, not a
 * closed port) never holds a caller beyond retry_timeout; the watch reconnects and reports an
 * unknown change; a lease that expires is reported lost; the schema is created where the builder
 * says; a refusal by the server is a {@link DcsException} without the password in it.
 */
class WitnessFaultTest {
    private static final Duration TTL = Duration.ofSeconds(3);
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static PostgresProcess witness;
    private final Closer closer = new Closer();
    private final String scope = "fault-" + Long.toHexString(System.nanoTime() & 0xFFFFFF);

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
    void aWitnessThatStopsAnsweringFailsEveryCallWithinTheRetryTimeoutAndServesAgainAfterwards() throws Exception {
        FaultProxy link = closer.add(FaultProxy.to("127.0.0.1", witness.port()));
        WitnessDcs dcs = closer.add(dcs("jdbc:postgresql://" + link.address() + "/postgres", "pgha"));
        DcsSession a = closer.add(dcs.open(SessionSpec.member(scope, "a", Duration.ofSeconds(10), RETRY)));
        assertThat(get(a.acquireLeader())).isTrue();

        link.blackhole();
        List<Supplier<CompletionStage<?>>> calls = List.of(a::read, () -> a.renewLeader(Optional.of("{}")), () -> a.touchMember("{}"),
                () -> a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT), a::readAuthoritative);
        for (Supplier<CompletionStage<?>> call : calls) {
            long start = System.nanoTime();
            Throwable failure = failure(call.get());
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(failure).isInstanceOf(DcsUnreachableException.class);
            assertThat(tookMs).as("a call to a silent witness").isLessThanOrEqualTo(RETRY.toMillis() + 500);
        }

        link.pass();
        await("the witness answers again").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(DcsUnreachableException.class)
                .until(() -> get(a.renewLeader(Optional.empty())));
        assertThat(get(a.read()).leaderName()).contains("a");
    }

    @Test
    void theWatchReportsAnUnknownChangeAfterReconnectingAndThenHearsChangesAgain() throws Exception {
        FaultProxy link = closer.add(FaultProxy.to("127.0.0.1", witness.port()));
        WitnessDcs watching = closer.add(dcs("jdbc:postgresql://" + link.address() + "/postgres", "pgha"));
        WitnessDcs direct = closer.add(dcs(witness.jdbcUrl(), "pgha"));
        DcsSession a = closer.add(watching.open(SessionSpec.member(scope, "a", TTL, RETRY)));
        DcsSession b = closer.add(direct.open(SessionSpec.member(scope, "b", TTL, RETRY)));
        Recorder heard = new Recorder();
        closer.add(a.watch(heard));
        await("the watch is listening").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(DcsUnreachableException.class).until(() -> {
            get(b.touchMember("{\"t\":" + System.nanoTime() + "}"));
            return heard.paths.contains(Optional.of("members/b"));
        });

        link.reset(); // every connection through the link is cut, new ones are refused
        heard.paths.clear();
        assertThat(get(b.compareAndSet(ClusterKey.CONFIG, "{\"missed\":true}", DcsEntry.ABSENT))).isTrue();
        link.pass();
        await("an unknown change after reconnecting").atMost(Duration.ofSeconds(10)).until(() -> heard.paths.contains(Optional.empty()));
        heard.paths.clear();
        assertThat(get(b.compareAndSet(ClusterKey.FAILOVER, "{}", DcsEntry.ABSENT))).isTrue();
        await("a change heard again").atMost(Duration.ofSeconds(5)).until(() -> heard.paths.contains(Optional.of("failover")));
    }

    @Test
    void aMemberWhoseLeaseExpiresHearsThatItIsLostAndItsKeysAreGone() throws Exception {
        WitnessDcs dcs = closer.add(dcs(witness.jdbcUrl(), "pgha"));
        DcsSession a = closer.add(dcs.open(SessionSpec.member(scope, "a", TTL, RETRY)));
        Recorder heard = new Recorder();
        closer.add(a.watch(heard));
        get(a.touchMember("{}"));
        assertThat(get(a.acquireLeader())).isTrue();
        long renewedAt = System.nanoTime();

        await("leaseLost").atMost(TTL.plusSeconds(3)).pollInterval(Duration.ofMillis(20)).until(() -> !heard.lost.isEmpty());
        assertThat(System.nanoTime() - renewedAt).as("not before the ttl").isGreaterThanOrEqualTo(TTL.toNanos() * 9 / 10);
        assertThat(heard.paths).contains(Optional.of("leader"), Optional.of("members/a"));
        assertThat(get(a.read()).leaderName()).isEmpty();
        assertThat(get(a.renewLeader(Optional.empty()))).as("a new lease takes the free key again").isTrue();
    }

    @Test
    void theSchemaIsCreatedOnFirstUseAndTwoSchemasAreTwoSeparateStores() throws Exception {
        WitnessDcs one = closer.add(dcs(witness.jdbcUrl(), "ha_one"));
        WitnessDcs two = closer.add(dcs(witness.jdbcUrl(), "ha_two"));
        DcsSession a = closer.add(one.open(SessionSpec.member(scope, "a", TTL, RETRY)));
        DcsSession b = closer.add(two.open(SessionSpec.member(scope, "b", TTL, RETRY)));
        assertThat(get(a.acquireLeader())).isTrue();
        assertThat(get(b.acquireLeader())).as("the same scope in another schema").isTrue();
        try (Connection c = DriverManager.getConnection(witness.jdbcUrl(), witness.user(), witness.password());
             ResultSet rs = c.createStatement().executeQuery("SELECT convert_from(value, 'UTF8') FROM ha_one.keys"
                     + " WHERE scope = '" + scope + "' AND path = 'leader'")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("a");
        }
    }

    @Test
    void aWrongPasswordIsADcsExceptionThatDoesNotContainIt() {
        String wrong = "not-the-Password-" + System.nanoTime();
        WitnessDcs dcs = closer.add(WitnessDcs.builder().jdbcUrl(witness.jdbcUrl()).credentials(witness.user(), wrong).build());
        DcsSession o = closer.add(dcs.open(SessionSpec.observer(scope, Duration.ofSeconds(5))));
        Throwable failure = failure(o.read());
        assertThat(failure).isInstanceOf(DcsException.class).isNotInstanceOf(DcsUnreachableException.class)
                .hasMessageContaining("28P01").hasMessageNotContaining(wrong).hasMessageNotContaining(witness.password());
    }

    private static WitnessDcs dcs(String url, String schema) {
        return WitnessDcs.builder().jdbcUrl(url).credentials(witness.user(), witness.password()).schema(schema).build();
    }

    private static <T> T get(CompletionStage<T> stage) throws Exception {
        try {
            return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
    }

    private static Throwable failure(CompletionStage<?> stage) {
        try {
            stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
            throw new AssertionError("the call succeeded");
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError("the call did not complete within 10 s", e);
        }
    }

    private static final class Recorder implements DcsListener {
        final List<Optional<String>> paths = new CopyOnWriteArrayList<>();
        final List<String> lost = new CopyOnWriteArrayList<>();

        @Override
        public void clusterChanged(Optional<String> path) {
            paths.add(path);
        }

        @Override
        public void leaseLost(String reason) {
            lost.add(reason);
        }
    }
}
