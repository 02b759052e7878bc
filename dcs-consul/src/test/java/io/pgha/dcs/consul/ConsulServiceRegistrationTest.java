package io.pgha.dcs.consul;

import static io.pgha.dcs.consul.ConsulFaultTest.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import io.pgha.dcs.consul.testing.ConsulAgentExtension;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.servers.ConsulAgent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * With {@code registerService}, each member is an instance of the service named after the scope,
 * tagged with the role in its member entry: what Consul DNS answers for
 * {@code primary.<scope>.service.consul} (the catalog query by tag that DNS runs).
 */
@ExtendWith(ConsulAgentExtension.class)
class ConsulServiceRegistrationTest {
    @Test
    void membersAreRegisteredWithTheirRoleAsTagAndFollowRoleChanges(ConsulAgent consul) {
        String scope = "svc" + Long.toHexString(System.nanoTime() & 0xFFFFF);
        try (ConsulDcs dcs = ConsulDcs.builder().endpoints(consul.url()).registerService(true).minSessionTtl(Duration.ofSeconds(1)).build()) {
            DcsSession a = dcs.open(SessionSpec.member(scope, "a", Duration.ofSeconds(4), Duration.ofSeconds(2)));
            DcsSession b = dcs.open(SessionSpec.member(scope, "b", Duration.ofSeconds(4), Duration.ofSeconds(2)));
            get(a.touchMember("{\"role\":\"primary\",\"conn_url\":\"postgres://127.0.0.11:5433/postgres\"}"));
            get(b.touchMember("{\"role\":\"replica\",\"conn_url\":\"postgres://127.0.0.12:5434/postgres\"}"));

            assertThat(instances(consul, scope, "primary")).containsExactly(scope + "/a@127.0.0.11:5433");
            assertThat(instances(consul, scope, "replica")).containsExactly(scope + "/b@127.0.0.12:5434");

            // a switchover: the roles swap in the member entries
            get(a.touchMember("{\"role\":\"replica\",\"conn_url\":\"postgres://127.0.0.11:5433/postgres\"}"));
            get(b.touchMember("{\"role\":\"primary\",\"conn_url\":\"postgres://127.0.0.12:5434/postgres\"}"));
            assertThat(instances(consul, scope, "primary")).containsExactly(scope + "/b@127.0.0.12:5434");
            assertThat(instances(consul, scope, "replica")).containsExactly(scope + "/a@127.0.0.11:5433");

            // a member that is neither (demoted, uninitialized) is not offered
            get(a.touchMember("{\"role\":\"uninitialized\"}"));
            assertThat(instances(consul, scope, "replica")).isEmpty();

            b.close();
            await().atMost(Duration.ofSeconds(2)).until(() -> instances(consul, scope, "primary").isEmpty());
            a.close();
        }
    }

    private static List<String> instances(ConsulAgent consul, String service, String tag) {
        String body = consul.http("GET", "/v1/catalog/service/" + service + "?tag=" + tag, (String) null).body();
        List<String> out = new ArrayList<>();
        for (JsonElement e : (JsonArray) JsonParser.parseString(body)) {
            var o = e.getAsJsonObject();
            out.add(o.get("ServiceID").getAsString() + "@" + o.get("ServiceAddress").getAsString() + ":" + o.get("ServicePort").getAsInt());
        }
        return out;
    }
}
