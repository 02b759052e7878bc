package io.pgha.micrometer;

import io.pgha.spi.DcsSession;
import io.pgha.spi.support.ForwardingDcsSession;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/** A store session that times the leader-lease renewals and forwards everything else unchanged. */
final class InstrumentedSession extends ForwardingDcsSession {
    private final PghaMetrics metrics;

    InstrumentedSession(DcsSession delegate, PghaMetrics metrics) {
        super(delegate);
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
}
