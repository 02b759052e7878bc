package io.pgha.agent;

import io.pgha.HaEvent;
import io.pgha.HaListener;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Patroni's {@code postgresql.callbacks}: for each change the node makes to PostgreSQL
 * ({@link HaEvent.PostgresChanged}) the configured command runs as {@code <command> <action> <role>
 * <scope>}, e.g. {@code on_role_change primary orders}. One runs at a time, in order, on a thread of
 * its own, so the HA loop never waits for one; as in Patroni, a callback still running when the next
 * one is due is terminated. A callback that runs past its timeout is killed; a failing one is logged
 * with its exit code and the last line it printed. The embedder's equivalent is an
 * {@link HaListener} on the same events: the two see the same changes in the same order.
 */
public final class Callbacks implements HaListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Callbacks.class);

    private final String scope;
    private volatile Map<String, List<String>> commands;
    private final Duration timeout;
    private final ExecutorService runner;
    private volatile Process running;

    /**
     * @param scope    the cluster name, the third argument
     * @param commands the command of each callback by Patroni's name ({@code on_start}, ...), split into words
     * @param timeout  how long one may run
     */
    public Callbacks(String scope, Map<String, List<String>> commands, Duration timeout) {
        this.scope = Objects.requireNonNull(scope, "scope");
        this.commands = Map.copyOf(commands);
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.runner = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "pgha-callbacks");
            t.setDaemon(true);
            return t;
        });
    }

    /** Replaces the commands (a reloaded configuration); a callback already running finishes as it was. */
    public void update(Map<String, List<String>> next) {
        this.commands = Map.copyOf(next);
    }

    @Override
    public void onEvent(HaEvent event) {
        if (!(event instanceof HaEvent.PostgresChanged change)) {
            return;
        }
        List<String> command = commands.get(change.change().callback());
        if (command == null) {
            return;
        }
        List<String> argv = new ArrayList<>(command);
        argv.add(change.change().callback());
        argv.add(change.role());
        argv.add(scope);
        terminateRunning(); // Patroni: a newer callback replaces one still running
        runner.execute(() -> run(argv));
    }

    private void run(List<String> argv) {
        String what = argv.get(argv.size() - 3) + " (" + Path.of(argv.get(0)).getFileName() + ")";
        Process p;
        try {
            p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        } catch (IOException e) {
            LOG.warn("callback {} could not start: {}", what, e.getMessage());
            return;
        }
        running = p;
        // its output is read beside it, so a callback that prints nothing cannot outlast its timeout
        java.util.concurrent.CompletableFuture<String> lastLine = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            String last = "";
            try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    if (!line.isBlank()) {
                        last = line;
                    }
                }
            } catch (IOException e) {
                // the process was killed: what it printed so far is all there is
            }
            return last;
        });
        try {
            p.getOutputStream().close();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("callback {} ran longer than {} s and was killed", what, timeout.toSeconds());
                kill(p);
                return;
            }
            int code = p.exitValue();
            String last = lastLine.get(5, TimeUnit.SECONDS);
            if (code == 0) {
                LOG.info("callback {} done", what);
            } else if (running == p) {
                LOG.warn("callback {} exited with {}{}", what, code, last.isEmpty() ? "" : ": " + last);
            }
        } catch (IOException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.debug("callback {}: {}", what, e.toString());
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
        } finally {
            if (running == p) {
                running = null;
            }
        }
    }

    private void terminateRunning() {
        Process p = running;
        if (p != null && p.isAlive()) {
            LOG.info("terminating the callback still running (pid {}) for a newer one", p.pid());
            running = null;
            kill(p);
        }
    }

    /** The callback first (so it cannot go on to its next line when its child dies), then what it started. */
    private static void kill(Process p) {
        List<ProcessHandle> children = p.descendants().toList();
        p.destroyForcibly();
        children.forEach(ProcessHandle::destroyForcibly);
    }

    /** Lets a running callback finish (up to its timeout), then stops the thread. */
    @Override
    public void close() {
        runner.shutdown();
        try {
            if (!runner.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                terminateRunning();
                runner.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            runner.shutdownNow();
        }
    }
}
