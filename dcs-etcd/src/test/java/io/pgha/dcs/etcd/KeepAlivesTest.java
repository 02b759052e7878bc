package io.pgha.dcs.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import java.lang.reflect.Proxy;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import io.grpc.Context;
import io.pgha.testkit.servers.EtcdCluster;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** One keep-alive per call: its outcomes, and its way out when jetcd's internals are not what KeepAlives expects. */
class KeepAlivesTest {
    @Test
    void aKeepAliveWhoseTimeRanOutBeforeItWasSentIsAnUnknownOutcomeNeverARefusal() throws Exception {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        try (EtcdCluster etcd = EtcdCluster.single(); Client client = Client.builder().endpoints(etcd.clientUrl()).build()) {
            long lease = client.getLeaseClient().grant(30).get(10, TimeUnit.SECONDS).getID();
            KeepAlives keepAlives = KeepAlives.of(client);
            assertThat(keepAlives.once(lease).get(10, TimeUnit.SECONDS).getTTL()).as("a keep-alive in time").isPositive();
            for (int i = 0; i < 200; i++) {
                // as Calls sends it: inside the attempt's context, here one whose deadline has passed
                Context.CancellableContext ctx = Context.ROOT.withDeadlineAfter(1, TimeUnit.NANOSECONDS, timer);
                CompletableFuture<LeaseKeepAliveResponse> f = ctx.call(() -> keepAlives.once(lease));
                Throwable failure = f.handle((r, e) -> e).get(10, TimeUnit.SECONDS);
                assertThat(failure).as("try %d", i).isNotNull();
                assertThat(Failures.classify(failure)).as("try %d: %s", i, failure).isEqualTo(Failures.Kind.UNREACHABLE);
                ctx.cancel(null);
            }
        } finally {
            timer.shutdownNow();
        }
    }

    @Test
    void aClientWithoutJetcdsLeaseStubGetsItsKeepAlivesThroughKeepAliveOnce() {
        AtomicLong asked = new AtomicLong();
        CompletableFuture<LeaseKeepAliveResponse> answer = new CompletableFuture<>();
        Lease lease = (Lease) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Lease.class}, (p, m, args) -> {
            if (m.getName().equals("keepAliveOnce")) {
                asked.set((Long) args[0]);
                return answer;
            }
            throw new UnsupportedOperationException(m.getName());
        });
        Client client = (Client) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Client.class}, (p, m, args) -> {
            if (m.getName().equals("getLeaseClient")) {
                return lease;
            }
            throw new UnsupportedOperationException(m.getName());
        });

        assertThat(KeepAlives.of(client).once(42)).isSameAs(answer);
        assertThat(asked.get()).isEqualTo(42);
    }
}
