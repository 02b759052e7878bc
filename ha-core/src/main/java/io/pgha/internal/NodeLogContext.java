package io.pgha.internal;

import io.pgha.TaskScheduler;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import org.slf4j.MDC;

/**
 * The MDC keys a node's log lines carry ({@value #SCOPE} and {@value #MEMBER}), so that the lines
 * of several nodes in one JVM can be told apart and a log backend can route or format them. Every
 * task a node runs on its schedulers, its listener executor and its REST API threads runs inside
 * the node's context; the keys a thread had before (a scheduler shared by several nodes) are put
 * back afterwards.
 */
public final class NodeLogContext {
    /** The MDC key of the cluster's scope. */
    public static final String SCOPE = "pgha.scope";
    /** The MDC key of the member's name. */
    public static final String MEMBER = "pgha.member";

    private final String scope;
    private final String member;

    public NodeLogContext(String scope, String member) {
        this.scope = Objects.requireNonNull(scope, "scope");
        this.member = Objects.requireNonNull(member, "member");
    }

    /**
     * The node context of the calling thread's MDC, if it runs a node's task: a call started there
     * completes inside it, so the callbacks that run on the completing thread (a store client's,
     * an HTTP client's) log with the same keys.
     */
    public static java.util.Optional<NodeLogContext> current() {
        String scope = MDC.get(SCOPE);
        String member = MDC.get(MEMBER);
        return scope == null || member == null ? java.util.Optional.empty() : java.util.Optional.of(new NodeLogContext(scope, member));
    }

    /** Runs {@code task} with this node's keys in the MDC, then restores what the thread had. */
    public void run(Runnable task) {
        String scopeBefore = MDC.get(SCOPE);
        String memberBefore = MDC.get(MEMBER);
        MDC.put(SCOPE, scope);
        MDC.put(MEMBER, member);
        try {
            task.run();
        } finally {
            restore(SCOPE, scopeBefore);
            restore(MEMBER, memberBefore);
        }
    }

    public Runnable wrap(Runnable task) {
        Objects.requireNonNull(task, "task");
        return () -> run(task);
    }

    /** For completion callbacks that run on a store client's or an HTTP client's thread. */
    public <T, U> BiConsumer<T, U> wrap(BiConsumer<T, U> callback) {
        Objects.requireNonNull(callback, "callback");
        return (t, u) -> run(() -> callback.accept(t, u));
    }

    public TaskScheduler wrap(TaskScheduler scheduler) {
        Objects.requireNonNull(scheduler, "scheduler");
        return (task, delayNanos) -> scheduler.schedule(wrap(task), delayNanos);
    }

    public Executor wrap(Executor executor) {
        Objects.requireNonNull(executor, "executor");
        return task -> executor.execute(wrap(task));
    }

    private static void restore(String key, String value) {
        if (value == null) {
            MDC.remove(key);
        } else {
            MDC.put(key, value);
        }
    }
}
