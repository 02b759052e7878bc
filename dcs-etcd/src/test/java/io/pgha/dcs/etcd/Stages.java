package io.pgha.dcs.etcd;

import io.pgha.spi.DcsListener;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Test helpers: wait for a stage, record what a watch reports. */
final class Stages {
    private Stages() {
    }

    /** The stage's value, or its failure rethrown as is; fails the test after {@code limit}. */
    static <T> T get(CompletionStage<T> stage, Duration limit) {
        try {
            return stage.toCompletableFuture().get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new AssertionError(e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError("the stage did not complete within " + limit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static <T> T get(CompletionStage<T> stage) {
        return get(stage, Duration.ofSeconds(10));
    }

    /** The failure of a stage that must fail, with how long it took. */
    record Failure(Throwable error, long millis) {
    }

    static Failure failure(java.util.function.Supplier<? extends CompletionStage<?>> call, Duration limit) {
        long start = System.nanoTime();
        try {
            call.get().toCompletableFuture().get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return new Failure(e.getCause(), (System.nanoTime() - start) / 1_000_000);
        } catch (TimeoutException e) {
            throw new AssertionError("the call did not complete within " + limit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        throw new AssertionError("the call succeeded");
    }

    /** etcd's own count of gRPC calls started, by method ({@code grpc_server_started_total}). */
    static Map<String, Long> startedCalls(String metrics) {
        Map<String, Long> m = new TreeMap<>();
        Matcher x = Pattern.compile("^grpc_server_started_total\\{([^}]*)\\} ([0-9.e+]+)$", Pattern.MULTILINE).matcher(metrics);
        while (x.find()) {
            Matcher method = Pattern.compile("grpc_method=\"([^\"]+)\"").matcher(x.group(1));
            String name = method.find() ? method.group(1) : x.group(1);
            m.merge(name, (long) Double.parseDouble(x.group(2)), Long::sum);
        }
        return m;
    }

    /**
     * etcd's own count of gRPC calls ended, by {@code method/code} ({@code grpc_server_handled_total}),
     * e.g. {@code LeaseKeepAlive/Unavailable}.
     */
    static Map<String, Long> handledCalls(String metrics) {
        Map<String, Long> m = new TreeMap<>();
        Matcher x = Pattern.compile("^grpc_server_handled_total\\{([^}]*)\\} ([0-9.e+]+)$", Pattern.MULTILINE).matcher(metrics);
        while (x.find()) {
            Matcher method = Pattern.compile("grpc_method=\"([^\"]+)\"").matcher(x.group(1));
            Matcher code = Pattern.compile("grpc_code=\"([^\"]+)\"").matcher(x.group(1));
            String name = (method.find() ? method.group(1) : "?") + "/" + (code.find() ? code.group(1) : "?");
            long n = (long) Double.parseDouble(x.group(2));
            if (n > 0) {
                m.merge(name, n, Long::sum);
            }
        }
        return m;
    }

    /** The value of an unlabelled gauge or counter in etcd's metrics, e.g. {@code etcd_debugging_mvcc_watcher_total}. */
    static long gauge(String metrics, String name) {
        Matcher x = Pattern.compile("^" + Pattern.quote(name) + " ([0-9.e+]+)$", Pattern.MULTILINE).matcher(metrics);
        if (!x.find()) {
            throw new AssertionError("etcd's metrics have no " + name);
        }
        return (long) Double.parseDouble(x.group(1));
    }

    /** {@code after - before} per key, leaving out keys that did not change. */
    static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> d = new TreeMap<>();
        after.forEach((k, v) -> {
            long n = v - before.getOrDefault(k, 0L);
            if (n != 0) {
                d.put(k, n);
            }
        });
        return d;
    }

    /** Records every report of a watch. */
    static final class Recorder implements DcsListener {
        final List<Optional<String>> paths = new CopyOnWriteArrayList<>();
        final List<String> leaseLost = new CopyOnWriteArrayList<>();

        @Override
        public void clusterChanged(Optional<String> path) {
            paths.add(path);
        }

        @Override
        public void leaseLost(String reason) {
            leaseLost.add(reason);
        }

        boolean heard(String path) {
            return paths.contains(Optional.of(path));
        }

        boolean heardUnknown() {
            return paths.contains(Optional.empty());
        }

        void clear() {
            paths.clear();
            leaseLost.clear();
        }
    }
}
