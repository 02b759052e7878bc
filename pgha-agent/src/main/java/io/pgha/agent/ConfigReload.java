package io.pgha.agent;

import io.pgha.ConfigurationException;
import io.pgha.HaNode;
import io.pgha.PghaException;
import io.pgha.agent.config.AgentConfig;
import io.pgha.agent.logging.LogSetup;
import io.pgha.postgres.PgController;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Patroni's reload of its configuration file (SIGHUP, {@code POST /reload}, {@code pghactl reload}):
 * re-reads the file and applies what can change while the agent runs — the tags, the member's own
 * {@code postgresql.parameters}, {@code pg_hba}, {@code pg_ident}, {@code recovery_conf} and the
 * callbacks. What cannot (the store, the REST API, names, addresses, directories, credentials) is
 * named in one warning as needing a restart of the agent; Patroni restarts its REST API in place,
 * pgha does not yet. A file that is refused leaves everything as it was.
 */
final class ConfigReload implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigReload.class);
    private static final Duration APPLY_TIMEOUT = Duration.ofSeconds(30);

    private final Path file;
    private final PgController postgres;
    private final Callbacks callbacks;
    private volatile HaNode node;
    private AgentConfig current;

    ConfigReload(Path file, AgentConfig initial, PgController postgres, Callbacks callbacks) {
        this.file = Objects.requireNonNull(file, "file");
        this.current = Objects.requireNonNull(initial, "initial");
        this.postgres = Objects.requireNonNull(postgres, "postgres");
        this.callbacks = Objects.requireNonNull(callbacks, "callbacks");
    }

    /** The node whose tags a reload updates (built after this, since the node's builder takes this as its reloader). */
    void attach(HaNode node) {
        this.node = node;
    }

    /**
     * @throws ConfigurationException the file is refused (the key and line named); nothing changed
     */
    @Override
    public synchronized void run() {
        AgentConfig next = AgentConfig.read(file);
        List<String> warnings = new ArrayList<>();
        PgController.Builder settings = PostgresFromConfig.builder(next, warnings::add);
        Map<String, List<String>> commands = commands(next);
        // everything above only reads and checks: a refused file has changed nothing
        List<String> applied = new ArrayList<>(await(postgres.reconfigure(settings)));
        if (!next.tags().equals(current.tags())) {
            Objects.requireNonNull(node, "attach(node) first").updateTags(next.tags());
            applied.add("tags");
        }
        if (!commands.equals(commands(current))) {
            callbacks.update(commands);
            applied.add("postgresql.callbacks");
        }
        if (!next.log().equals(current.log())) {
            // as Patroni re-reads its log section on a reload
            LogSetup.apply(next.log());
            applied.add("log");
        }
        List<String> needRestart = needingRestart(current, next);
        current = next;
        warnings.stream().distinct().forEach(w -> LOG.warn("reload: {}", w));
        if (applied.isEmpty() && needRestart.isEmpty()) {
            LOG.info("reloaded {}: nothing changed", file);
            return;
        }
        LOG.info("reloaded {}: applied {}", file, applied.isEmpty() ? "nothing" : String.join(", ", applied));
        if (!needRestart.isEmpty()) {
            LOG.warn("reloaded {}: {} changed but take effect only when pgha restarts", file, String.join(", ", needRestart));
        }
    }

    static Map<String, List<String>> commands(AgentConfig c) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        c.postgresql().callbacks().forEach((name, command) -> out.put(name, ShellWords.split("postgresql.callbacks." + name, command)));
        return out;
    }

    /** The sections and keys a running agent cannot take over, by Patroni's names. */
    static List<String> needingRestart(AgentConfig a, AgentConfig b) {
        List<String> out = new ArrayList<>();
        differs(out, "scope", a.scope(), b.scope());
        differs(out, "namespace", a.namespace(), b.namespace());
        differs(out, "name", a.name(), b.name());
        differs(out, "restapi", a.restapi(), b.restapi());
        differs(out, "the store section", a.dcs(), b.dcs());
        AgentConfig.Postgresql p = a.postgresql();
        AgentConfig.Postgresql q = b.postgresql();
        differs(out, "postgresql.listen", p.listen(), q.listen());
        differs(out, "postgresql.connect_address", p.connectAddress(), q.connectAddress());
        differs(out, "postgresql.data_dir", p.dataDir(), q.dataDir());
        differs(out, "postgresql.bin_dir", p.binDir(), q.binDir());
        differs(out, "postgresql.authentication.superuser", p.superuser(), q.superuser());
        differs(out, "postgresql.authentication.replication", p.replication(), q.replication());
        differs(out, "postgresql.authentication.rewind", p.rewind(), q.rewind());
        differs(out, "postgresql.pgpass", p.pgpass(), q.pgpass());
        differs(out, "postgresql.create_replica_methods", p.createReplicaMethods(), q.createReplicaMethods());
        differs(out, "postgresql.remove_data_directory_on_rewind_failure", p.removeDataDirectoryOnRewindFailure(),
                q.removeDataDirectoryOnRewindFailure());
        return out;
    }

    private static void differs(List<String> out, String key, Object a, Object b) {
        if (!Objects.equals(a, b)) {
            out.add(key);
        }
    }

    private static <T> T await(java.util.concurrent.CompletionStage<T> stage) {
        try {
            return stage.toCompletableFuture().get(APPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new PghaException("reload: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new PghaException("reload: PostgreSQL's files were not rewritten within " + APPLY_TIMEOUT.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PghaException("reload: interrupted");
        }
    }
}
