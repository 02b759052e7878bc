package io.pgha.agent;

import io.pgha.ConfigurationException;
import io.pgha.HaEvent;
import io.pgha.HaNode;
import io.pgha.PghaException;
import io.pgha.agent.config.AgentConfig;
import io.pgha.agent.logging.LogSetup;
import io.pgha.postgres.PgController;
import io.pgha.spi.Dcs;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code pgha <config.yml>}: one pgha node as a daemon, configured by a YAML file in Patroni's
 * format — HaNode, the etcd store, pg-driver and the REST API. SIGTERM stops it gracefully (a leader
 * stops PostgreSQL, then hands the lock over at once).
 */
@Command(name = "pgha", mixinStandardHelpOptions = true, versionProvider = Agent.Version.class,
        description = "Runs one pgha node from a Patroni-format YAML file.")
public final class Agent implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);
    /** How long one callback may run (Patroni has no bound; a hung script would otherwise hold every later one). */
    static final java.time.Duration CALLBACK_TIMEOUT = java.time.Duration.ofMinutes(5);

    /** {@code pgha --version}: {@code pgha 0.1.0}, the library's version ({@link io.pgha.PghaVersion}). */
    public static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"pgha " + io.pgha.PghaVersion.current()};
        }
    }

    @Parameters(index = "0", paramLabel = "CONFIG", description = "the node's configuration (Patroni's patroni.yml format)")
    private Path config;

    @Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // Netty (under the etcd client) registers JFR events by default: that loads the Flight
        // Recorder's classes (some 85) into every agent, which never records; an explicit -D wins
        if (System.getProperty("io.netty.jfr.enabled") == null) {
            System.setProperty("io.netty.jfr.enabled", "false");
        }
        quietJul();
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Runs {@code pgha} with these arguments until it is stopped, and returns its exit code: 2 for a configuration
     * that is refused (one line on {@code err} naming the key, and {@code file:line:column} where known; no stack
     * trace), 1 for another failure.
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Agent()).setOut(out).setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            ConfigurationException c = configurationCause(ex);
            if (c != null) {
                cmd.getErr().println("pgha: " + c.getMessage());
                return 2;
            }
            cmd.getErr().println("pgha: " + ex);
            ex.printStackTrace(cmd.getErr());
            return 1;
        });
        return cl.execute(args);
    }

    /** As Patroni: SIGHUP re-reads the configuration file; a refused file is logged and changes nothing. */
    private static void onSighup(HaNode node) {
        try {
            sun.misc.SignalHandler before = sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> {
                try {
                    node.reload();
                } catch (RuntimeException e) {
                    LOG.error("reload on SIGHUP refused, running on with the configuration as it was: {}", e.getMessage());
                }
            });
            if (before == sun.misc.SignalHandler.SIG_IGN) {
                // the JVM leaves a signal ignored at its start ignored, and says so only by this answer
                LOG.warn("SIGHUP is ignored in this process (it was ignored when pgha started, as under nohup): reload with"
                        + " POST /reload or pghactl reload, or start pgha without nohup");
            }
        } catch (IllegalArgumentException e) {
            LOG.warn("SIGHUP cannot be handled on this JVM ({}): reload with POST /reload or pghactl reload", e.getMessage());
        }
    }

    /** The configuration error behind {@code t} (it may come wrapped, from a builder run on another thread). */
    private static ConfigurationException configurationCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof ConfigurationException e) {
                return e;
            }
        }
        return null;
    }

    @Override
    public Integer call() {
        AgentConfig c;
        Dcs dcs = null;
        PgController pg = null;
        try {
            c = AgentConfig.read(config);
            LogSetup.apply(c.log());
            c.warnings().forEach(w -> LOG.warn("{}", w));
            // keys a warning above already named are not listed again
            List<String> unnamed = c.unsupported().stream()
                    .filter(k -> c.warnings().stream().noneMatch(w -> w.startsWith(k + ":"))).toList();
            if (!unnamed.isEmpty()) {
                LOG.warn("not supported by pgha, ignored: {}", String.join(", ", unnamed));
            }
            dcs = Stores.open(c, NodeFromConfig.retryTimeout(c));
            pg = PostgresFromConfig.build(c, w -> LOG.warn("{}", w));
            Callbacks callbacks = new Callbacks(c.scope(), ConfigReload.commands(c), CALLBACK_TIMEOUT);
            ConfigReload reload = new ConfigReload(config, c, pg, callbacks);
            CountDownLatch stopped = new CountDownLatch(1);
            java.util.concurrent.atomic.AtomicReference<String> failed = new java.util.concurrent.atomic.AtomicReference<>();
            HaNode node = NodeFromConfig.builder(c, dcs, pg).configReloader(reload).listener(Agent::log).listener(callbacks).listener(e -> {
                if (e instanceof HaEvent.NodeFailed f) {
                    // as Patroni: a node that cannot go on (its data belongs to another cluster, ...) exits non-zero
                    failed.set(f.reason());
                    stopped.countDown();
                }
            }).build();
            Dcs store = dcs;
            PgController postgres = pg;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                LOG.info("{}: stopping", c.name());
                node.close();
                callbacks.close();
                postgres.close();
                store.close();
                stopped.countDown();
            }, "pgha-shutdown"));
            reload.attach(node);
            onSighup(node);
            node.start();
            LOG.info("{}: pgha node of cluster '{}' running{}", c.name(), c.scope(),
                    node.restAddress().map(a -> ", REST API on " + a).orElse(""));
            stopped.await();
            if (failed.get() != null) {
                spec.commandLine().getErr().println("pgha: " + c.name() + " cannot go on: " + failed.get());
                return 1;
            }
            return 0;
        } catch (ConfigurationException e) {
            spec.commandLine().getErr().println("pgha: " + e.getMessage());
            closeQuietly(pg, dcs);
            return 2;
        } catch (PghaException | IllegalArgumentException | IllegalStateException e) {
            ConfigurationException cause = configurationCause(e);
            spec.commandLine().getErr().println("pgha: " + (cause != null ? cause : e).getMessage());
            closeQuietly(pg, dcs);
            return cause != null ? 2 : 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    /** gRPC logs through java.util.logging at INFO; only its warnings belong in the agent's log. */
    public static void quietJul() {
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
    }

    private static void closeQuietly(PgController pg, Dcs dcs) {
        try {
            if (pg != null) {
                pg.close();
            }
            if (dcs != null) {
                dcs.close();
            }
        } catch (RuntimeException e) {
            // we are failing anyway
        }
    }

    private static void log(HaEvent e) {
        if (e instanceof HaEvent.RoleChanged r) {
            LOG.info("{}: role {} -> {} ({})", r.member(), r.from(), r.to(), r.reason());
        } else if (e instanceof HaEvent.Fenced f) {
            LOG.warn("{}: FENCED: {}", f.member(), f.reason());
        } else if (e instanceof HaEvent.NodeFailed f) {
            LOG.error("{}: stopped: {}", f.member(), f.reason());
        } else if (e instanceof HaEvent.LeaderChanged l) {
            LOG.info("{}: leader {} -> {}", l.member(), l.from().orElse("none"), l.to().orElse("none"));
        }
    }
}
