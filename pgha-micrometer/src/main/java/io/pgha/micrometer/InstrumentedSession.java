package io.pgha.micrometer;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/** A store session that times the leader-lease renewals and forwards everything else unchanged. */
final class InstrumentedSession implements DcsSession {
    private final DcsSession delegate;
    private final PghaMetrics metrics;

    InstrumentedSession(DcsSession delegate, PghaMetrics metrics) {
        this.delegate = delegate;
        this.metrics = metrics;
    }

    @Override
    public CompletionStage<Boolean> renewLeader(Optional<String> status) {
        long start = metrics.ticker().read();
        CompletionStage<Boolean> result;
        try {
            result = delegate.renewLeader(status);
        } catch (RuntimeException e) {
            metrics.renewed(delegate.spec(), start, PghaMetrics.RenewalOutcome.ERROR);
            throw e;
        }
        result.whenComplete((held, error) -> metrics.renewed(delegate.spec(), start, error != null ? PghaMetrics.RenewalOutcome.ERROR
                : Boolean.TRUE.equals(held) ? PghaMetrics.RenewalOutcome.RENEWED : PghaMetrics.RenewalOutcome.LOST));
        return result;
    }

    @Override
    public SessionSpec spec() {
        return delegate.spec();
    }

    @Override
    public Duration leaseGuarantee() {
        return delegate.leaseGuarantee();
    }

    @Override
    public CompletionStage<ClusterSnapshot> read() {
        return delegate.read();
    }

    @Override
    public CompletionStage<ClusterSnapshot> readAuthoritative() {
        return delegate.readAuthoritative();
    }

    @Override
    public long writeRevision() {
        return delegate.writeRevision();
    }

    @Override
    public CompletionStage<Boolean> acquireLeader() {
        return delegate.acquireLeader();
    }

    @Override
    public CompletionStage<Boolean> releaseLeader() {
        return delegate.releaseLeader();
    }

    @Override
    public CompletionStage<Void> touchMember(String value) {
        return delegate.touchMember(value);
    }

    @Override
    public CompletionStage<Boolean> compareAndSet(ClusterKey key, String value, long expectedVersion) {
        return delegate.compareAndSet(key, value, expectedVersion);
    }

    @Override
    public CompletionStage<Boolean> compareAndDelete(ClusterKey key, long expectedVersion) {
        return delegate.compareAndDelete(key, expectedVersion);
    }

    @Override
    public CompletionStage<Void> deleteCluster() {
        return delegate.deleteCluster();
    }

    @Override
    public Subscription watch(DcsListener listener) {
        return delegate.watch(listener);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
