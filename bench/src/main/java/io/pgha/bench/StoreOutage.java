package io.pgha.bench;

import io.pgha.bench.LocalCluster.Node;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A whole-store outage under a write probe, and how long the cluster takes to have exactly one
 * primary again, with every other member streaming from it, once the store is back. The store
 * outage itself is the caller's ({@link Outage}); this class measures around it.
 */
final class StoreOutage {
    /** Takes the whole store away and brings it back. */
    interface Outage {
        /** A few words for the report: "etcd frozen (SIGSTOP) for 15 s". */
        String describe();

        void begin();

        /** Brings the store back; returns when it answers again. */
        void end();
    }

    /**
     * One repetition.
     *
     * @param convergence from the store being back to one primary with every replica streaming
     *                    from it; empty when that did not happen within the limit
     * @param acked       writes acknowledged by any member during the run
     * @param lost        acknowledged writes missing from the final primary
     * @param primary     the final primary
     */
    record Result(Optional<Duration> convergence, int acked, long lost, String primary, String before) {
    }

    private final LocalCluster cluster;

    StoreOutage(LocalCluster cluster) {
        this.cluster = cluster;
    }

    /** One outage of {@code length}: waits for a converged cluster, runs the outage, measures. */
    Result run(Outage outage, Duration length, Duration limit) throws SQLException {
        Waits.until("a converged cluster", () -> converged().isPresent(), Duration.ofSeconds(180), 100);
        String before = converged().orElseThrow();
        try (WriteProbe probe = new WriteProbe(cluster, 50).start()) {
            Waits.until("a write on the primary", () -> probe.lastWriteOn(before).isPresent(), Duration.ofSeconds(10), 20);
            outage.begin();
            sleep(length);
            outage.end();
            long back = System.nanoTime();
            long deadline = back + limit.toNanos();
            Optional<String> primary = Optional.empty();
            while (System.nanoTime() < deadline) {
                primary = converged();
                if (primary.isPresent()) {
                    break;
                }
                sleep(Duration.ofMillis(50));
            }
            Optional<Duration> took = primary.map(p -> Duration.ofNanos(System.nanoTime() - back));
            if (primary.isEmpty()) {
                return new Result(Optional.empty(), probe.writes().size(), -1, "none", before);
            }
            // the probe writes on: stop it, then compare what it was told with what the primary has
            probe.close();
            List<WriteProbe.Write> acked = probe.writes();
            Set<Long> kept = ids(cluster.node(primary.get()));
            long lost = acked.stream().filter(w -> !kept.contains(w.id())).count();
            return new Result(took, acked.size(), lost, primary.get(), before);
        }
    }

    /**
     * The primary's name when the cluster is whole: exactly one running member is writable, the
     * leader key (or, on another store, the REST API) names it, and every other running member
     * streams from it.
     */
    Optional<String> converged() {
        List<String> writable = new ArrayList<>();
        List<Node> running = cluster.nodes().stream().filter(Node::running).toList();
        for (Node n : running) {
            Optional<Boolean> recovering = inRecovery(n);
            if (recovering.isEmpty()) {
                return Optional.empty();
            }
            if (!recovering.get()) {
                writable.add(n.name);
            }
        }
        if (writable.size() != 1 || !cluster.leader().map(writable.get(0)::equals).orElse(false)) {
            return Optional.empty();
        }
        Node primary = cluster.node(writable.get(0));
        Set<String> streaming = streamingFrom(primary);
        for (Node n : running) {
            if (n != primary && !streaming.contains(n.name)) {
                return Optional.empty();
            }
        }
        return Optional.of(primary.name);
    }

    private Optional<Boolean> inRecovery(Node n) {
        try (Connection c = cluster.sql(n.pgPort); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            return Optional.of(rs.getBoolean(1));
        } catch (SQLException e) {
            return Optional.empty();
        }
    }

    private Set<String> streamingFrom(Node primary) {
        Set<String> names = new HashSet<>();
        try (Connection c = cluster.sql(primary.pgPort); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        } catch (SQLException e) {
            // not up
        }
        return names;
    }

    private Set<Long> ids(Node n) throws SQLException {
        Set<Long> ids = new HashSet<>();
        try (Connection c = cluster.sql(n.pgPort); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM probe")) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }
}
