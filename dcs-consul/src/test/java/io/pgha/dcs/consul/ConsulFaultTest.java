package io.pgha.dcs.consul;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonParser;
import io.pgha.HaNode;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.FakePostgres;
import io.pgha.testkit.RealNodes;
import io.pgha.testkit.servers.ConsulAgent;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What a Consul agent that stops, freezes, loses a session or restarts does to the Dcs and to a primary on it. */
class ConsulFaultTest {
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final Duration TTL = Duration.ofSeconds(2);

    private ConsulAgent consul;
    private ConsulDcs dcs;
    private final List<AutoCloseable> closeables = new CopyOnWriteArrayList<>();
    private final String scope = "fault-" + Long.toHexString(System.nanoTime() & 0xFFFFFF);

    @BeforeEach
    void startAgent() {
        consul = ConsulAgent.start();
        dcs = ConsulDcs.builder().endpoints(consul.url()).minSessionTtl(Duration.ofSeconds(1)).build();
    }

    @AfterEach
    void stopAll() throws Exception {
        // last opened, first closed: a node before the PostgreSQL thread it stops its server on
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        dcs.close();
        consul.close();
    }

    @Test
    void everyCallFailsAsUnreachableWithinRetryTimeoutOnceTheAgentIsStopped() {
        DcsSession a = member("a");
        get(a.touchMember("{}"));
        assertThat(get(a.acquireLeader())).isTrue();

        consul.stop();

        for (Map.Entry<String, Supplier<CompletionStage<?>>> call : calls(a).entrySet()) {
            long start = System.nanoTime();
            Throwable t = failure(call.getValue());
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertThat(t).as(call.getKey()).isInstanceOf(DcsUnreachableException.class);
            assertThat(ms).as(call.getKey() + " took").isLessThanOrEqualTo(RETRY.toMillis() + 500);
        }
    }

    @Test
    void aFrozenAgentIsReportedUnreachableAtTheRetryTimeoutAndNoLater() {
        DcsSession a = member("a");
        get(a.touchMember("{}"));

        consul.pause();
        try {
            for (Map.Entry<String, Supplier<CompletionStage<?>>> call : calls(a).entrySet()) {
                long start = System.nanoTime();
                Throwable t = failure(call.getValue());
                long ms = (System.nanoTime() - start) / 1_000_000;
                assertThat(t).as(call.getKey()).isInstanceOf(DcsUnreachableException.class);
                assertThat(t.getMessage()).as(call.getKey()).containsAnyOf("retry_timeout", "timed out");
                assertThat(ms).as(call.getKey() + " took").isBetween(RETRY.toMillis() - 50, RETRY.toMillis() + 500);
            }
        } finally {
            consul.resume();
        }
        // Frozen longer than the session's TTL, Consul drops the session when it thaws, and it then also serves the
        // requests that timed out on our side (the deleteCluster among them): their outcome was "unknown". The
        // member's next touches make a new session and write the entry again.
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            get(a.touchMember("{}"));
            return get(a.read()).members().containsKey("a");
        });
    }

    @Test
    void aPrimaryStopsTakingWritesBeforeItsLeaseCouldLapseWhenTheAgentDies() {
        RealNodes.Scheduler pgThread = RealNodes.scheduler("fake-postgres");
        closeables.add(pgThread);
        FakePostgres pg = new FakePostgres("n1", new FakePostgres.Network(1), Ticker.system(), pgThread, new FakePostgres.Timings());
        pg.setExternalFence(false); // only the engine's own fence, timed by the session's lease guarantee
        Duration ttl = Duration.ofSeconds(6);
        HaNode node = HaNode.builder().name("n1").scope(scope).dcs(dcs).postgres(pg).withoutExternalFence()
                .ttl(ttl).loopWait(Duration.ofSeconds(1)).retryTimeout(RETRY).build().start();
        closeables.add(node);
        await().atMost(Duration.ofSeconds(20)).until(() -> node.status().role() == Role.PRIMARY && pg.acceptsWrites());

        consul.kill();
        long killedAt = System.nanoTime();

        // the last renewal was sent before the kill, so the lease is certain only until killedAt + ttl/2
        await().atMost(ttl.dividedBy(2)).pollInterval(Duration.ofMillis(10)).until(() -> !pg.acceptsWrites());
        long ms = (System.nanoTime() - killedAt) / 1_000_000;
        assertThat(ms).as("writes stopped after the agent died").isLessThan(ttl.dividedBy(2).toMillis());
    }

    @Test
    void aDestroyedSessionDropsTheLeaderKeyAtOnceAndAnotherMemberTakesIt() {
        DcsSession a = member("a");
        DcsSession b = member("b");
        Recorder heardByA = new Recorder();
        Recorder heardByB = new Recorder();
        closeables.add(a.watch(heardByA));
        closeables.add(b.watch(heardByB));
        assertThat(get(a.acquireLeader())).isTrue();
        await().atMost(Duration.ofSeconds(2)).until(() -> heardByB.saw("leader"));
        heardByB.clear();

        String session = sessionOf("leader");
        assertThat(consul.http("PUT", "/v1/session/destroy/" + session, "").statusCode()).isEqualTo(200);

        await().atMost(Duration.ofSeconds(2)).until(() -> heardByB.saw("leader"));
        assertThat(get(b.read()).leaderName()).isEmpty();
        await().atMost(Duration.ofSeconds(2)).until(() -> !heardByA.lost.isEmpty());
        assertThat(get(b.acquireLeader())).as("no lock-delay keeps the next leader out").isTrue();
        assertThat(get(a.renewLeader(Optional.empty()))).as("the old leader learns it lost").isFalse();
        assertThat(get(a.read()).leaderName()).contains("b");
    }

    @Test
    void aLapsedSessionDropsTheLeaderKeyNotBeforeHalfTheTtlAndAnotherMemberTakesIt() {
        DcsSession a = member("a");
        DcsSession b = member("b");
        assertThat(get(a.acquireLeader())).isTrue();
        long renewedAt = System.nanoTime();
        assertThat(get(a.renewLeader(Optional.empty()))).isTrue();
        Recorder heard = new Recorder();
        closeables.add(b.watch(heard));

        await().atMost(TTL.multipliedBy(2).plusSeconds(1)).pollInterval(Duration.ofMillis(20))
                .until(() -> get(b.read()).leaderName().isEmpty());
        long goneAfter = (System.nanoTime() - renewedAt) / 1_000_000;
        assertThat(goneAfter).as("the key outlived the lease guarantee").isGreaterThanOrEqualTo(a.leaseGuarantee().toMillis());
        assertThat(heard.saw("leader")).isTrue();
        assertThat(get(b.acquireLeader())).isTrue();
    }

    @Test
    void theWatchComesBackAfterTheAgentRestartsAndReportsTheChangesAfterIt() {
        DcsSession a = member("a");
        get(a.touchMember("{\"v\":1}"));
        Recorder heard = new Recorder();
        closeables.add(a.watch(heard));
        await().atMost(Duration.ofSeconds(2)).until(() -> !heard.paths.isEmpty());
        heard.clear();

        consul.restart(); // a -dev agent comes back empty: the index goes back to the start

        await().atMost(Duration.ofSeconds(10)).until(() -> heard.paths.contains(Optional.empty()));
        heard.clear();
        DcsSession other = member("other");
        assertThat(get(other.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT))).isTrue();
        await().atMost(Duration.ofSeconds(2)).until(() -> heard.saw("config"));

        // the member's Consul session died with the agent: the next touch creates a new one and says so
        get(a.touchMember("{\"v\":2}"));
        assertThat(heard.lost).isNotEmpty();
        assertThat(get(a.read()).members().get("a").value()).isEqualTo("{\"v\":2}");
    }

    // ------------------------------------------------------------------------------------------

    private DcsSession member(String name) {
        DcsSession s = dcs.open(SessionSpec.member(scope, name, TTL, RETRY));
        closeables.add(s);
        return s;
    }

    private String sessionOf(String key) {
        String body = consul.http("GET", "/v1/kv/service/" + scope + "/" + key, null).body();
        return JsonParser.parseString(body).getAsJsonArray().get(0).getAsJsonObject().get("Session").getAsString();
    }

    private static Map<String, Supplier<CompletionStage<?>>> calls(DcsSession s) {
        Map<String, Supplier<CompletionStage<?>>> m = new LinkedHashMap<>();
        m.put("read", s::read);
        m.put("readAuthoritative", s::readAuthoritative);
        m.put("acquireLeader", s::acquireLeader);
        m.put("renewLeader", () -> s.renewLeader(Optional.of("{}")));
        m.put("releaseLeader", s::releaseLeader);
        m.put("touchMember", () -> s.touchMember("{\"x\":1}"));
        m.put("compareAndSet", () -> s.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT));
        m.put("compareAndDelete", () -> s.compareAndDelete(ClusterKey.CONFIG, 5));
        m.put("deleteCluster", s::deleteCluster);
        return m;
    }

    static <T> T get(CompletionStage<T> stage) {
        try {
            return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new AssertionError(e.getCause());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static Throwable failure(Supplier<CompletionStage<?>> call) {
        try {
            call.get().toCompletableFuture().get(10, TimeUnit.SECONDS);
            return new AssertionError("the call succeeded");
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            return e;
        }
    }

    /** Records what a listener hears. */
    static final class Recorder implements DcsListener {
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

        boolean saw(String path) {
            return paths.contains(Optional.of(path));
        }

        /** Forgets the changes heard so far (not the lease losses). */
        void clear() {
            paths.clear();
        }
    }
}
