package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pgha.ConfigurationException;
import io.pgha.HaNode;
import io.pgha.NodeScheduling;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.internal.engine.ThreadTaskScheduler;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.Dcs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Many nodes on one {@link NodeScheduling}, on real threads and real time: the threads do not grow
 * with the nodes, a node stuck in a store call or a listener on the shared pools delays no other
 * node's fence, and the shared threads outlive the nodes until the scheduling itself is closed.
 */
class SharedSchedulingTest {
    private static final Duration TTL = Duration.ofSeconds(6);

    private final InMemoryDcs store = InMemoryDcs.create();
    private final ThreadTaskScheduler pgThread = new ThreadTaskScheduler("fake-postgres");
    private final CountDownLatch unblock = new CountDownLatch(1);
    private final List<HaNode> nodes = new ArrayList<>();
    private final List<FakePostgres> servers = new ArrayList<>();
    private NodeScheduling shared;

    @AfterEach
    void tearDown() {
        unblock.countDown();
        nodes.forEach(HaNode::close);
        if (shared != null) {
            shared.close();
        }
        pgThread.close();
        store.close();
    }

    @Test
    void fiftyNodesOnOneSharedSchedulingRunOnAsManyThreadsAsFive() {
        shared = NodeScheduling.builder().threadNamePrefix("pgha-test-fixed").loopThreads(2).guardThreads(1).leaseThreads(1)
                .eventThreads(1).build();
        for (int i = 0; i < 5; i++) {
            start(singleNode("fixed" + i, store));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> allLead(nodes));
        int withFive = threadNames().size();

        for (int i = 5; i < 50; i++) {
            start(singleNode("fixed" + i, store));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> allLead(nodes));

        assertThat(threadNames()).as("no thread of a node's own").noneMatch(n -> n.matches("pgha-m\\d+-.*"));
        assertThat(threadNames().stream().filter(n -> n.startsWith("pgha-test-fixed-"))).as("the shared threads")
                .hasSize(shared.threads());
        assertThat(threadNames().size()).as("threads with 50 nodes against threads with 5").isLessThanOrEqualTo(withFive + 2);
    }

    @Test
    void aStoreCallStuckOnTheOnlyLoopAndLeaseThreadsDelaysNoNodesFence() {
        // one thread per pool: the stuck call holds every loop and every heartbeat, only the guard stays free
        shared = NodeScheduling.builder().loopThreads(1).guardThreads(1).leaseThreads(1).eventThreads(1).build();
        GatedDcs gated = new GatedDcs(store, unblock);
        HaNode stuck = start(singleNode("stuck", gated));
        FakePostgres stuckPg = servers.get(0);
        HaNode bystander = start(singleNode("bystander", store));
        FakePostgres bystanderPg = servers.get(1);
        await().atMost(Duration.ofSeconds(20)).until(() -> allLead(List.of(stuck, bystander)) && stuckPg.acceptsWrites()
                && bystanderPg.acceptsWrites());

        gated.mode = GatedDcs.Mode.BLOCK;
        Fences stuckFence = new Fences(stuckPg, "stuck");
        Fences bystanderFence = new Fences(bystanderPg, "bystander");
        await().atMost(TTL.multipliedBy(3)).pollInterval(Duration.ofMillis(10)).until(() -> stuckFence.poll() & bystanderFence.poll());

        assertThat(stuckFence.fencedAt.get()).as("the stuck node stopped writes before its key expired").isLessThan(stuckFence.keyGoneAt.get());
        assertThat(bystanderFence.fencedAt.get()).as("the node whose loop waited behind it stopped writes before its key expired")
                .isLessThan(bystanderFence.keyGoneAt.get());
    }

    @Test
    void aStoreCallStuckOnOneLoopThreadLeavesTheOtherNodesLeadingWhenThePoolHasAThreadToSpare() {
        shared = NodeScheduling.builder().loopThreads(2).guardThreads(1).leaseThreads(2).eventThreads(1).build();
        GatedDcs gated = new GatedDcs(store, unblock);
        HaNode stuck = start(singleNode("stuck", gated));
        FakePostgres stuckPg = servers.get(0);
        HaNode bystander = start(singleNode("bystander", store));
        FakePostgres bystanderPg = servers.get(1);
        await().atMost(Duration.ofSeconds(20)).until(() -> allLead(List.of(stuck, bystander)) && stuckPg.acceptsWrites());

        gated.mode = GatedDcs.Mode.BLOCK;
        Fences stuckFence = new Fences(stuckPg, "stuck");
        await().atMost(TTL.multipliedBy(3)).pollInterval(Duration.ofMillis(10)).until(stuckFence::poll);

        assertThat(stuckFence.fencedAt.get()).as("the stuck node stopped writes before its key expired").isLessThan(stuckFence.keyGoneAt.get());
        assertThat(store.peek("bystander", ClusterKey.LEADER)).as("a ttl after the other node got stuck, this one still holds its key")
                .contains("m1");
        assertThat(bystander.status().role()).isEqualTo(Role.PRIMARY);
        assertThat(bystanderPg.acceptsWrites()).isTrue();
    }

    @Test
    void aListenerThatNeverReturnsDelaysNeitherAnotherNodesLoopNorItsFence() {
        shared = NodeScheduling.builder().loopThreads(1).guardThreads(1).leaseThreads(1).eventThreads(1).build();
        CountDownLatch listenerBlocked = new CountDownLatch(1);
        HaNode.Builder withListener = singleNode("listening", store).listener(event -> {
            listenerBlocked.countDown();
            try {
                unblock.await(); // holds the only event thread for good
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        HaNode listening = start(withListener);
        FakePostgres listeningPg = servers.get(0);
        GatedDcs gated = new GatedDcs(store, unblock);
        HaNode cutOff = start(singleNode("cutoff", gated));
        FakePostgres cutOffPg = servers.get(1);
        await().atMost(Duration.ofSeconds(20)).until(() -> listenerBlocked.getCount() == 0 && allLead(List.of(listening, cutOff))
                && listeningPg.acceptsWrites() && cutOffPg.acceptsWrites());

        gated.mode = GatedDcs.Mode.FAIL;
        Fences cutOffFence = new Fences(cutOffPg, "cutoff");
        await().atMost(TTL.multipliedBy(3)).pollInterval(Duration.ofMillis(10)).until(cutOffFence::poll);

        assertThat(cutOffFence.fencedAt.get()).as("the node cut off from the store stopped writes before its key expired")
                .isLessThan(cutOffFence.keyGoneAt.get());
        assertThat(store.peek("listening", ClusterKey.LEADER)).as("the node with the blocked listener kept renewing for over a ttl")
                .contains("m1");
        assertThat(listeningPg.acceptsWrites()).isTrue();
    }

    @Test
    void closingTheNodesLeavesTheSharedThreadsRunningUntilTheSchedulingIsClosed() {
        shared = NodeScheduling.builder().threadNamePrefix("pgha-test-lifecycle").build();
        HaNode first = start(singleNode("first", store));
        HaNode second = start(singleNode("second", store));
        await().atMost(Duration.ofSeconds(20)).until(() -> allLead(List.of(first, second)));

        first.close();
        second.close();
        assertThat(threadNames().stream().filter(n -> n.startsWith("pgha-test-lifecycle-"))).as("shared threads after the nodes closed")
                .hasSize(shared.threads());
        HaNode third = start(singleNode("third", store));
        await().atMost(Duration.ofSeconds(20)).until(() -> third.status().role() == Role.PRIMARY);
        third.close();

        shared.close();
        assertThat(shared.isClosed()).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> threadNames().stream().noneMatch(n -> n.startsWith("pgha-test-lifecycle-")));
        assertThatThrownBy(() -> singleNode("fourth", store).build()).isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("scheduling");
    }

    @Test
    void aSharedSchedulingIsRefusedBesideASchedulerOfTheNodesOwn() {
        shared = NodeScheduling.builder().build();
        VirtualTime time = new VirtualTime();
        HaNode.Builder b = singleNode("both", store).scheduler(time.owner("x").scheduler()).ticker(time);
        assertThatThrownBy(b::build).isInstanceOf(ConfigurationException.class).hasMessageContaining("scheduling");
        assertThatThrownBy(() -> HaNode.builder().scheduling(shared).scheduling(shared)).isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("scheduling");
    }

    @Test
    void eachSharedSchedulingSettingIsCheckedAndMayBeSetOnce() {
        assertThatThrownBy(() -> NodeScheduling.builder().loopThreads(0)).isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("loop_threads");
        assertThatThrownBy(() -> NodeScheduling.builder().guardThreads(1).guardThreads(2)).isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("guard_threads");
        assertThatThrownBy(() -> NodeScheduling.builder().threadNamePrefix(" ")).isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("thread_name_prefix");
        try (NodeScheduling s = NodeScheduling.builder().loopThreads(3).guardThreads(1).leaseThreads(1).eventThreads(2).build()) {
            assertThat(s.threads()).isEqualTo(7);
        }
    }

    // ------------------------------------------------------------------------------------------

    private HaNode.Builder singleNode(String scope, Dcs dcs) {
        FakePostgres pg = new FakePostgres("m1", new FakePostgres.Network(scope.hashCode()), Ticker.system(), pgThread,
                new FakePostgres.Timings());
        pg.setExternalFence(false); // only the engine's own fence, on the shared guard pool, stops writes
        servers.add(pg);
        return HaNode.builder().name("m1").scope(scope).dcs(dcs).postgres(pg).withoutExternalFence().scheduling(shared)
                .ttl(TTL).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(2)).fencingMargin(Duration.ofSeconds(1));
    }

    private HaNode start(HaNode.Builder b) {
        HaNode n = b.build();
        nodes.add(n);
        return n.start();
    }

    private static boolean allLead(List<HaNode> ns) {
        return ns.stream().allMatch(n -> n.status().role() == Role.PRIMARY);
    }

    private static List<String> threadNames() {
        // awaitility polls on threads of its own, which come and go
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> !n.startsWith("awaitility")).toList();
    }

    /** When a node's server stopped taking writes, and when its leader key left the store. */
    private final class Fences {
        final FakePostgres pg;
        final String scope;
        final AtomicLong fencedAt = new AtomicLong();
        final AtomicLong keyGoneAt = new AtomicLong();

        Fences(FakePostgres pg, String scope) {
            this.pg = pg;
            this.scope = scope;
        }

        /** Records what happened by now; true once both did. */
        boolean poll() {
            long now = System.nanoTime();
            if (fencedAt.get() == 0 && !pg.acceptsWrites()) {
                fencedAt.set(now);
            }
            if (keyGoneAt.get() == 0 && store.peek(scope, ClusterKey.LEADER).isEmpty()) {
                keyGoneAt.set(now);
            }
            return fencedAt.get() != 0 && keyGoneAt.get() != 0;
        }
    }
}
