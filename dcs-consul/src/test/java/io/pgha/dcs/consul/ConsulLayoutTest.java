package io.pgha.dcs.consul;

import static io.pgha.dcs.consul.ConsulFaultTest.get;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonParser;
import io.pgha.dcs.consul.testing.ConsulAgentExtension;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.servers.ConsulAgent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Patroni's key layout and exact values on a real agent, what Patroni itself wrote is read, and foreign data is skipped. */
@ExtendWith(ConsulAgentExtension.class)
class ConsulLayoutTest {
    private static final Duration TTL = Duration.ofSeconds(4);
    private static final Duration RETRY = Duration.ofSeconds(2);

    private final String scope = "layout-" + Long.toHexString(System.nanoTime() & 0xFFFFFF);
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private ConsulDcs dcs(ConsulAgent consul, ConsulDcs.Builder b) {
        ConsulDcs d = b.endpoints(consul.url()).minSessionTtl(Duration.ofSeconds(1)).build();
        toClose.add(d);
        return d;
    }

    private DcsSession member(ConsulDcs dcs, String name) {
        DcsSession s = dcs.open(SessionSpec.member(scope, name, TTL, RETRY));
        toClose.add(s);
        return s;
    }

    @Test
    void everyKeyLivesUnderServiceScopeWithoutALeadingSlashAndHoldsTheExactUtf8Bytes(ConsulAgent consul) {
        DcsSession a = member(dcs(consul, ConsulDcs.builder()), "a");
        String member = "{\"conn_url\":\"postgres://h:5432/postgres\",\"name\":\"Zürich ☃\"}";
        get(a.touchMember(member));
        assertThat(get(a.acquireLeader())).isTrue();
        assertThat(get(a.renewLeader(Optional.of("{\"optime\":67108960}")))).isTrue();
        for (ClusterKey k : List.of(ClusterKey.CONFIG, ClusterKey.INITIALIZE, ClusterKey.FAILOVER, ClusterKey.SYNC, ClusterKey.HISTORY)) {
            assertThat(get(a.compareAndSet(k, k == ClusterKey.INITIALIZE ? "7312345678901234567" : "{}", DcsEntry.ABSENT))).isTrue();
        }

        String keys = consul.http("GET", "/v1/kv/?keys", (String) null).body();
        List<String> ours = new ArrayList<>();
        JsonParser.parseString(keys).getAsJsonArray().forEach(e -> {
            if (e.getAsString().contains(scope)) {
                ours.add(e.getAsString());
            }
        });
        String p = "service/" + scope + "/";
        assertThat(ours).containsExactlyInAnyOrder(p + "config", p + "failover", p + "history", p + "initialize", p + "leader",
                p + "members/a", p + "status", p + "sync");
        assertThat(consul.http("GET", "/v1/kv/" + p + "members/a?raw", (String) null).body()).isEqualTo(member);
        assertThat(consul.http("GET", "/v1/kv/" + p + "leader?raw", (String) null).body()).isEqualTo("a");
        assertThat(consul.http("GET", "/v1/kv/" + p + "status?raw", (String) null).body()).isEqualTo("{\"optime\":67108960}");
    }

    @Test
    void aConfiguredNamespaceIsWhereTheClusterLives(ConsulAgent consul) {
        DcsSession a = member(dcs(consul, ConsulDcs.builder().namespace("/pgha/clusters/")), "a");
        get(a.touchMember("{}"));
        assertThat(consul.http("GET", "/v1/kv/pgha/clusters/" + scope + "/members/a?raw", (String) null).statusCode()).isEqualTo(200);
        assertThat(get(a.read()).members()).containsKey("a");
    }

    @Test
    void whatPatroniWroteIsReadAndItsLeaderKeyIsTakenOverByTheMemberOfThatName(ConsulAgent consul) {
        String p = "/v1/kv/service/" + scope + "/";
        consul.http("PUT", p + "leader", "n1");
        consul.http("PUT", p + "members/n1", "{\"role\":\"primary\",\"state\":\"running\"}");
        consul.http("PUT", p + "config", "{\"ttl\":30,\"loop_wait\":10}");
        consul.http("PUT", p + "initialize", "7312345678901234567");
        consul.http("PUT", p + "optime/leader", "67108960");
        consul.http("PUT", p + "failsafe", "{\"n1\":\"http://h:8008/patroni\"}");

        DcsSession n1 = member(dcs(consul, ConsulDcs.builder()), "n1");
        ClusterSnapshot s = get(n1.read());
        assertThat(s.leaderName()).contains("n1");
        assertThat(s.members().get("n1").value()).isEqualTo("{\"role\":\"primary\",\"state\":\"running\"}");
        assertThat(s.get(ClusterKey.CONFIG).map(DcsEntry::value)).contains("{\"ttl\":30,\"loop_wait\":10}");
        assertThat(s.get(ClusterKey.INITIALIZE).map(DcsEntry::value)).contains("7312345678901234567");
        assertThat(s.keys().keySet()).containsExactlyInAnyOrder(ClusterKey.LEADER, ClusterKey.CONFIG, ClusterKey.INITIALIZE,
                ClusterKey.FAILSAFE);

        assertThat(get(n1.renewLeader(Optional.empty()))).as("a key with our name and no session is bound to ours").isTrue();
        String session = JsonParser.parseString(consul.http("GET", p + "leader", (String) null).body())
                .getAsJsonArray().get(0).getAsJsonObject().get("Session").getAsString();
        assertThat(session).isNotBlank();
    }

    @Test
    void aValueThatIsNotUtf8TextAndKeysOutsideTheModelAreLeftOutOfTheSnapshot(ConsulAgent consul) {
        String p = "/v1/kv/service/" + scope + "/";
        consul.http("PUT", p + "config", new byte[] {(byte) 0xff, (byte) 0xfe, 0x00, 0x41}, null);
        consul.http("PUT", p + "members/bad/name", "{}");
        consul.http("PUT", p + "members/ok", "{\"x\":\"é\"}".getBytes(StandardCharsets.UTF_8), null);
        consul.http("PUT", p + "sync", "{\"leader\":\"ok\"}");
        consul.http("PUT", p + "somethingelse", "x");

        ClusterSnapshot s = get(member(dcs(consul, ConsulDcs.builder()), "a").read());
        assertThat(s.keys().keySet()).containsExactly(ClusterKey.SYNC);
        assertThat(s.members().keySet()).containsExactly("ok");
        assertThat(s.members().get("ok").value()).isEqualTo("{\"x\":\"é\"}");
        assertThat(s.revision()).isPositive();
    }

    @Test
    void everyConsistencyModeReadsTheSameCluster(ConsulAgent consul) {
        DcsSession writer = member(dcs(consul, ConsulDcs.builder()), "a");
        assertThat(get(writer.compareAndSet(ClusterKey.CONFIG, "{\"v\":1}", DcsEntry.ABSENT))).isTrue();
        for (ConsulDcs.Consistency c : ConsulDcs.Consistency.values()) {
            DcsSession reader = member(dcs(consul, ConsulDcs.builder().consistency(c)), "r-" + c.name().toLowerCase());
            assertThat(get(reader.read()).get(ClusterKey.CONFIG).map(DcsEntry::value)).as(c.name()).contains("{\"v\":1}");
        }
    }
}
