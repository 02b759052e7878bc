package io.pgha.dcs.consul;

import static io.pgha.dcs.consul.ConsulFaultTest.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.servers.ConsulAgent;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** On an agent whose ACLs deny by default, the token opens the doors, and a refusal is a DcsException that never shows the token. */
class ConsulAclTest {
    private static final String TOKEN = UUID.randomUUID().toString();
    private static ConsulAgent consul;

    @BeforeAll
    static void startAgent() {
        consul = ConsulAgent.startWithAcls(TOKEN);
    }

    @AfterAll
    static void stopAgent() {
        consul.close();
    }

    private static DcsSession session(ConsulDcs.Builder b, String scope) {
        ConsulDcs dcs = b.endpoints(consul.url()).minSessionTtl(Duration.ofSeconds(1)).build();
        return dcs.open(SessionSpec.member(scope, "a", Duration.ofSeconds(4), Duration.ofSeconds(2)));
    }

    @Test
    void withTheTokenEveryOperationWorks() {
        DcsSession a = session(ConsulDcs.builder().token(TOKEN), "acl-ok");
        get(a.touchMember("{}"));
        assertThat(get(a.acquireLeader())).isTrue();
        assertThat(get(a.renewLeader(Optional.of("{}")))).isTrue();
        assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT))).isTrue();
        assertThat(get(a.read()).leaderName()).contains("a");
        assertThat(get(a.releaseLeader())).isTrue();
        get(a.deleteCluster());
        a.close();
    }

    @Test
    void withoutATokenOrWithAWrongOneWritesAreRefusedAsADcsExceptionNotAsAnOutage() {
        String wrong = UUID.randomUUID().toString();
        for (ConsulDcs.Builder b : new ConsulDcs.Builder[] {ConsulDcs.builder(), ConsulDcs.builder().token(wrong)}) {
            DcsSession a = session(b, "acl-denied");
            for (Runnable call : new Runnable[] {() -> get(a.touchMember("{}")), () -> get(a.acquireLeader()),
                    () -> get(a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT))}) {
                assertThatThrownBy(call::run)
                        .isInstanceOf(DcsException.class)
                        .isNotInstanceOf(DcsUnreachableException.class)
                        .hasMessageContaining("403")
                        .hasMessageNotContaining(TOKEN)
                        .hasMessageNotContaining(wrong);
            }
            a.close();
        }
    }
}
