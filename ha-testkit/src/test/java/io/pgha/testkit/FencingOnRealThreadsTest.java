package io.pgha.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.HaNode;
import io.pgha.Role;
import io.pgha.Ticker;
import io.pgha.internal.engine.ThreadTaskScheduler;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The fence on real threads: a store client that blocks its caller's thread (a synchronous client
 * stuck on a dead connection) freezes the HA loop and the heartbeat, and still PostgreSQL stops
 * taking writes before the lease can expire in the store.
 */
class FencingOnRealThreadsTest {
    private final InMemoryDcs store = InMemoryDcs.create();
    private final ThreadTaskScheduler pgThread = new ThreadTaskScheduler("fake-postgres");
    private final CountDownLatch unblock = new CountDownLatch(1);
    private final GatedDcs gated = new GatedDcs(store, unblock);
    private HaNode node;

    @AfterEach
    void tearDown() {
        unblock.countDown();
        if (node != null) {
            node.close();
        }
        pgThread.close();
        store.close();
    }

    @Test
    void writesStopBeforeTheLeaseExpiresWhenTheStoreClientBlocksTheLoopThread() {
        FakePostgres pg = new FakePostgres("n1", new FakePostgres.Network(1), Ticker.system(), pgThread, new FakePostgres.Timings());
        pg.setExternalFence(false); // only the engine's own fence may save us here
        node = HaNode.builder().name("n1").scope("fencing").dcs(gated).postgres(pg).withoutExternalFence()
                .ttl(Duration.ofSeconds(6)).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(2))
                .fencingMargin(Duration.ofSeconds(1))
                .build().start();
        await().atMost(Duration.ofSeconds(20)).until(() -> node.status().role() == Role.PRIMARY && pg.acceptsWrites());

        DcsSession observer = store.open(SessionSpec.observer("fencing", Duration.ofSeconds(1)));
        gated.mode = GatedDcs.Mode.BLOCK;
        AtomicLong fencedAt = new AtomicLong();
        AtomicLong keyGoneAt = new AtomicLong();
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(10)).until(() -> {
            long now = System.nanoTime();
            if (fencedAt.get() == 0 && !pg.acceptsWrites()) {
                fencedAt.set(now);
            }
            ClusterSnapshot s = observer.read().toCompletableFuture().join();
            if (keyGoneAt.get() == 0 && s.get(ClusterKey.LEADER).isEmpty()) {
                keyGoneAt.set(now);
            }
            return fencedAt.get() != 0 && keyGoneAt.get() != 0;
        });
        assertThat(fencedAt.get()).as("writes stopped before the leader key expired in the store").isLessThan(keyGoneAt.get());
        observer.close();
    }

    @Test
    void writesStopInTimeEvenWhenArmingTheControllersFenceHangsOnTheThreadThatRenewed() {
        FakePostgres pg = new FakePostgres("n1", new FakePostgres.Network(1), Ticker.system(), pgThread, new FakePostgres.Timings());
        pg.setExternalFence(false); // only the engine's own fence may save us here (arming still hangs)
        node = HaNode.builder().name("n1").scope("fencing").dcs(store).postgres(pg).withoutExternalFence()
                .ttl(Duration.ofSeconds(6)).loopWait(Duration.ofSeconds(1)).retryTimeout(Duration.ofSeconds(2))
                .fencingMargin(Duration.ofSeconds(1))
                .build().start();
        await().atMost(Duration.ofSeconds(20)).until(() -> node.status().role() == Role.PRIMARY && pg.acceptsWrites());
        // the next renewal's arming hangs for good; it holds up the store's reply thread too, so no
        // renewal succeeds after it and the lease runs out
        pg.blockFenceArming(unblock);
        long blockedAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(10)).until(() -> !pg.acceptsWrites());
        assertThat(Duration.ofNanos(System.nanoTime() - blockedAt)).as("writes stopped within a ttl of the last renewal")
                .isLessThan(Duration.ofSeconds(6).plus(Duration.ofSeconds(1)));
    }
}
