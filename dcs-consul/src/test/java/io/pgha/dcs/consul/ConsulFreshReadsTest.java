package io.pgha.dcs.consul;

import static io.pgha.dcs.consul.ConsulFaultTest.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.consul.testing.ConsulAgentExtension;
import io.pgha.dcs.consul.testing.CountingProxy;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.servers.ConsulAgent;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code readAuthoritative()} on a real agent: always a {@code ?consistent} query, whatever mode
 * {@code read()} is configured with, and it shows what another client has just written. (Its time
 * bound with a stopped or frozen agent is in {@link ConsulFaultTest}.)
 */
@ExtendWith(ConsulAgentExtension.class)
class ConsulFreshReadsTest {
    private static final Duration TTL = Duration.ofSeconds(4);
    private static final Duration RETRY = Duration.ofSeconds(2);

    private final String scope = "fresh-" + Long.toHexString(System.nanoTime() & 0xFFFFFF);
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private ConsulDcs dcs(String url, ConsulDcs.Consistency consistency) {
        ConsulDcs d = ConsulDcs.builder().endpoints(url).consistency(consistency).minSessionTtl(Duration.ofSeconds(1)).build();
        toClose.add(d);
        return d;
    }

    private DcsSession member(ConsulDcs dcs, String name) {
        DcsSession s = dcs.open(SessionSpec.member(scope, name, TTL, RETRY));
        toClose.add(s);
        return s;
    }

    @Test
    void anAuthoritativeReadIsAConsistentQueryEvenWhenReadsAreConfiguredStale(ConsulAgent consul) throws IOException {
        CountingProxy proxy = new CountingProxy(consul.url());
        toClose.add(proxy);
        DcsSession a = member(dcs(proxy.url(), ConsulDcs.Consistency.STALE), "a");

        get(a.read());
        assertThat(listings(proxy)).as("read() keeps the configured mode").singleElement().asString()
                .contains("stale").doesNotContain("consistent");
        proxy.reset();

        get(a.readAuthoritative());
        assertThat(listings(proxy)).as("readAuthoritative() asks the leader to confirm it leads").singleElement().asString()
                .contains("consistent").doesNotContain("stale");
    }

    @Test
    void anAuthoritativeReadShowsWhatAnotherClientHasJustWritten(ConsulAgent consul) {
        DcsSession reader = member(dcs(consul.url(), ConsulDcs.Consistency.DEFAULT), "reader");
        DcsSession writer = member(dcs(consul.url(), ConsulDcs.Consistency.DEFAULT), "writer");
        assertThat(get(reader.read()).leaderName()).isEmpty();

        get(writer.touchMember("{\"w\":1}"));
        assertThat(get(writer.acquireLeader())).isTrue();
        assertThat(get(writer.compareAndSet(ClusterKey.CONFIG, "{\"ttl\":30}", DcsEntry.ABSENT))).isTrue();

        ClusterSnapshot s = get(reader.readAuthoritative());
        assertThat(s.leaderName()).contains("writer");
        assertThat(s.members().get("writer").value()).isEqualTo("{\"w\":1}");
        assertThat(s.get(ClusterKey.CONFIG).map(DcsEntry::value)).contains("{\"ttl\":30}");
        assertThat(s.revision()).as("the index of the newest key").isGreaterThanOrEqualTo(s.get(ClusterKey.CONFIG).orElseThrow().version());
        assertThat(writer.writeRevision()).as("Consul's write answers carry no index").isZero();
    }

    /** The recursive listings of the cluster among the proxied requests (not the session calls). */
    private List<String> listings(CountingProxy proxy) {
        return proxy.requests().stream().filter(r -> r.startsWith("GET /v1/kv/service/" + scope + "/") && r.contains("recurse")).toList();
    }
}
