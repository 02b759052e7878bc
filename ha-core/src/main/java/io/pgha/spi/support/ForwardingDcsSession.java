package io.pgha.spi.support;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * A {@link DcsSession} that forwards every call to another one. Extend it and override only the
 * calls to watch or change: a meter around the lease renewals, a test that holds a call back or
 * notes when it was sent.
 */
public class ForwardingDcsSession implements DcsSession {
    protected final DcsSession delegate;

    public ForwardingDcsSession(DcsSession delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
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
    public CompletionStage<Boolean> renewLeader(Optional<String> status) {
        return delegate.renewLeader(status);
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
