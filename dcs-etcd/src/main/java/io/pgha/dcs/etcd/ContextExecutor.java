package io.pgha.dcs.etcd;

import io.grpc.Context;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The executor pgha gives its own jetcd client. jetcd runs every unary request on its executor
 * (through Failsafe), which would drop the gRPC {@link Context} that carries the attempt's deadline
 * and cancellation; this executor hands the submitting thread's context to the task.
 */
final class ContextExecutor extends AbstractExecutorService {
    private final ExecutorService delegate;

    ContextExecutor(ExecutorService delegate) {
        this.delegate = delegate;
    }

    @Override
    public void execute(Runnable command) {
        delegate.execute(Context.current().wrap(command));
    }

    @Override
    public void shutdown() {
        delegate.shutdown();
    }

    @Override
    public List<Runnable> shutdownNow() {
        return delegate.shutdownNow();
    }

    @Override
    public boolean isShutdown() {
        return delegate.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return delegate.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return delegate.awaitTermination(timeout, unit);
    }
}
