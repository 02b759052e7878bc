package io.pgha.testkit;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.ForwardingDcsSession;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;

/**
 * A store whose calls, once switched, block their caller's thread until {@code unblock} opens, or
 * fail as unreachable: a stuck or lost store client, for the tests that show the fence does not
 * depend on the store's threads.
 */
final class GatedDcs implements Dcs {
    enum Mode { PASS, BLOCK, FAIL }

    private final Dcs delegate;
    private final CountDownLatch unblock;
    volatile Mode mode = Mode.PASS;

    GatedDcs(Dcs delegate, CountDownLatch unblock) {
        this.delegate = delegate;
        this.unblock = unblock;
    }

    @Override
    public DcsSession open(SessionSpec spec) {
        DcsSession s = delegate.open(spec);
        return new ForwardingDcsSession(s) {
            private <T> CompletionStage<T> gate(Supplier<CompletionStage<T>> call) {
                if (mode == Mode.FAIL) {
                    return CompletableFuture.failedFuture(new DcsUnreachableException("cut off by the test"));
                }
                if (mode == Mode.BLOCK) {
                    try {
                        unblock.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return call.get();
            }

            @Override
            public CompletionStage<ClusterSnapshot> read() {
                return gate(s::read);
            }

            @Override
            public CompletionStage<ClusterSnapshot> readAuthoritative() {
                return gate(s::readAuthoritative);
            }

            @Override
            public CompletionStage<Boolean> acquireLeader() {
                return gate(s::acquireLeader);
            }

            @Override
            public CompletionStage<Boolean> renewLeader(Optional<String> status) {
                return gate(() -> s.renewLeader(status));
            }

            @Override
            public CompletionStage<Boolean> releaseLeader() {
                return gate(s::releaseLeader);
            }

            @Override
            public CompletionStage<Void> touchMember(String value) {
                return gate(() -> s.touchMember(value));
            }

            @Override
            public CompletionStage<Boolean> compareAndSet(ClusterKey key, String value, long expectedVersion) {
                return gate(() -> s.compareAndSet(key, value, expectedVersion));
            }

            @Override
            public CompletionStage<Boolean> compareAndDelete(ClusterKey key, long expectedVersion) {
                return gate(() -> s.compareAndDelete(key, expectedVersion));
            }

            @Override
            public CompletionStage<Void> deleteCluster() {
                return gate(s::deleteCluster);
            }
        };
    }

    @Override
    public void close() {
        delegate.close();
    }
}
