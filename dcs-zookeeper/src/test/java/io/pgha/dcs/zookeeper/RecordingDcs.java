package io.pgha.dcs.zookeeper;

import io.pgha.spi.Dcs;
import io.pgha.spi.DcsListener;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.Subscription;
import io.pgha.spi.support.ForwardingDcsSession;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A store seen through a window: notes when each successful lease call was sent (just before it
 * went to the real store), which bounds from below the moment the server last heard from the
 * session, and what the sessions reported as lost.
 */
final class RecordingDcs implements Dcs {
    private final Dcs delegate;
    final AtomicLong lastLeaseSentAt = new AtomicLong();
    final List<String> leaseLost = new CopyOnWriteArrayList<>();
    final List<DcsSession> sessions = new CopyOnWriteArrayList<>();

    RecordingDcs(Dcs delegate) {
        this.delegate = delegate;
    }

    private void succeeded(long sentAt) {
        lastLeaseSentAt.accumulateAndGet(sentAt, Math::max);
    }

    @Override
    public DcsSession open(SessionSpec spec) {
        DcsSession s = delegate.open(spec);
        sessions.add(s);
        return new ForwardingDcsSession(s) {
            @Override
            public CompletionStage<Boolean> acquireLeader() {
                long sentAt = System.nanoTime();
                return s.acquireLeader().whenComplete((ok, e) -> {
                    if (e == null && ok) {
                        succeeded(sentAt);
                    }
                });
            }

            @Override
            public CompletionStage<Boolean> renewLeader(Optional<String> status) {
                long sentAt = System.nanoTime();
                return s.renewLeader(status).whenComplete((ok, e) -> {
                    if (e == null && ok) {
                        succeeded(sentAt);
                    }
                });
            }

            @Override
            public Subscription watch(DcsListener listener) {
                return s.watch(new DcsListener() {
                    @Override
                    public void clusterChanged(Optional<String> path) {
                        listener.clusterChanged(path);
                    }

                    @Override
                    public void leaseLost(String reason) {
                        leaseLost.add(reason);
                        listener.leaseLost(reason);
                    }
                });
            }
        };
    }

    @Override
    public void close() {
        delegate.close();
    }
}
