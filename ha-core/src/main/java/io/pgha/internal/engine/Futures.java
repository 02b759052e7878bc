package io.pgha.internal.engine;

import io.pgha.TaskScheduler;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.PostgresException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/** Small helpers for the engine's asynchronous calls into the SPIs. */
final class Futures {
    private Futures() {
    }

    /**
     * Calls an SPI method that returns a stage, turning a synchronous throw (an implementation bug)
     * or a {@code null} into a failed stage, so the loop never dies from it.
     */
    static <T> CompletableFuture<T> call(Supplier<? extends CompletionStage<T>> call) {
        try {
            CompletionStage<T> s = call.get();
            if (s == null) {
                return CompletableFuture.failedFuture(new IllegalStateException("the call returned null instead of a stage"));
            }
            return s.toCompletableFuture();
        } catch (RuntimeException | Error e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** {@code stage}, or a failure made by {@code onTimeout} if it has not completed within {@code nanos} on {@code scheduler}. */
    static <T> CompletableFuture<T> withTimeout(CompletionStage<T> stage, long nanos, TaskScheduler scheduler,
                                                Supplier<? extends Throwable> onTimeout) {
        CompletableFuture<T> out = new CompletableFuture<>();
        TaskScheduler.Cancellable timer = scheduler.schedule(() -> out.completeExceptionally(onTimeout.get()), nanos);
        // completed in the caller's node context: what reacts to it on the store client's thread logs with the node's keys
        java.util.Optional<io.pgha.internal.NodeLogContext> context = io.pgha.internal.NodeLogContext.current();
        java.util.function.BiConsumer<T, Throwable> complete = (v, e) -> {
            timer.cancel();
            if (e != null) {
                out.completeExceptionally(unwrap(e));
            } else {
                out.complete(v);
            }
        };
        stage.whenComplete(context.isPresent() ? context.get().wrap(complete) : complete);
        return out;
    }

    /**
     * A call into the store, bounded by {@code retry_timeout}: its stage, or a
     * {@link DcsUnreachableException} (the outcome is unknown) if it has not answered within
     * {@code retryTimeoutNanos} on {@code timer}. Every store call of the engine and the lease guard
     * goes through here.
     */
    static <T> CompletableFuture<T> storeCall(Supplier<? extends CompletionStage<T>> call, long retryTimeoutNanos, TaskScheduler timer) {
        return withTimeout(call(call), retryTimeoutNanos, timer, () -> new DcsUnreachableException(
                "the store did not answer within retry_timeout (" + Duration.ofNanos(retryTimeoutNanos).toMillis() + " ms)"));
    }

    /** A PostgreSQL call's stage, or a {@link PostgresException} if it has not completed within {@code timeout}. */
    static <T> CompletableFuture<T> postgresCall(CompletionStage<T> stage, Duration timeout, TaskScheduler timer) {
        return withTimeout(stage, timeout.toNanos(), timer,
                () -> new PostgresException("postgres did not answer within " + timeout.toMillis() + " ms"));
    }

    /** Completes {@code d} from now on {@code scheduler}. */
    static CompletableFuture<Void> delay(Duration d, TaskScheduler scheduler) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        scheduler.schedule(() -> f.complete(null), d.toNanos());
        return f;
    }

    static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /** One line for an event or log: the exception's message, or its type when it has none. */
    static String describe(Throwable e) {
        Throwable t = unwrap(e);
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    }
}
