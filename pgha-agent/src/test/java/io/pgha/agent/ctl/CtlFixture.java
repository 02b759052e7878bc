package io.pgha.agent.ctl;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import io.pgha.testkit.InMemoryDcs;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * pghactl against a store of the test's own (an {@link InMemoryDcs}) holding one cluster written as
 * the engine writes it, with a configuration file for {@code -c}, an environment, and answers for
 * its questions.
 */
final class CtlFixture implements AutoCloseable {
    final String scope;
    final InMemoryDcs dcs = InMemoryDcs.create();
    final Path dir;
    final Path config;
    final Map<String, String> env = new HashMap<>(System.getenv());
    private final List<DcsSession> sessions = new ArrayList<>();
    private final DcsSession observer;

    /** What one run printed, and its exit code. */
    record Run(int rc, String out, String err) {
    }

    CtlFixture(String scope, String extraConfig) throws IOException {
        this.scope = scope;
        this.dir = Files.createTempDirectory("pghactl-test-");
        this.config = dir.resolve("node.yml");
        Files.writeString(config, """
                scope: %s
                name: n
                etcd3: {hosts: 127.0.0.1:2379}
                postgresql:
                  listen: 127.0.0.1:5432
                  data_dir: %s
                  authentication: {replication: {username: r, password: p}}
                %s
                """.formatted(scope, dir.resolve("data"), extraConfig));
        this.observer = dcs.open(SessionSpec.observer(scope, Duration.ofSeconds(5)));
    }

    CtlFixture(String scope) throws IOException {
        this(scope, "");
    }

    /** A member entry, bound to a session of its own (the leader when {@code leader}). */
    CtlFixture member(String name, String json, boolean leader) {
        DcsSession s = dcs.open(SessionSpec.member(scope, name, Duration.ofSeconds(60), Duration.ofSeconds(5)));
        sessions.add(s);
        await(s.touchMember(json));
        if (leader) {
            await(s.acquireLeader());
        }
        return this;
    }

    CtlFixture key(ClusterKey key, String value) {
        long version = snapshot().get(key).map(DcsEntry::version).orElse(DcsEntry.ABSENT);
        await(observer.compareAndSet(key, value, version));
        return this;
    }

    ClusterSnapshot snapshot() {
        return dcs.peekAll(scope);
    }

    Optional<String> value(ClusterKey key) {
        return snapshot().get(key).map(DcsEntry::value);
    }

    /** {@code pghactl -c node.yml ARGS}, reading {@code input} for its questions. */
    Run run(String input, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 2];
        all[0] = "-c";
        all[1] = config.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        Supplier<Dcs> stores = () -> new Dcs() {
            @Override
            public DcsSession open(SessionSpec spec) {
                return dcs.open(spec);
            }

            @Override
            public void close() {
                // the test's store outlives each run
            }
        };
        int rc = Ctl.run(all, new StringReader(input), new PrintWriter(out, true), new PrintWriter(err, true), env, stores);
        return new Run(rc, out.toString(), err.toString());
    }

    private static <T> T await(java.util.concurrent.CompletionStage<T> stage) {
        try {
            return stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws IOException {
        sessions.forEach(DcsSession::close);
        observer.close();
        dcs.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
