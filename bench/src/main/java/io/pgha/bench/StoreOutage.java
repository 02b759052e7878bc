package io.pgha.bench;

import io.pgha.bench.LocalCluster.Node;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
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
    /**
     * Takes the whole store away and brings it back.
     *
     * @param begin takes it away
     * @param end   brings it back; returns when it answers again
     */
    record Outage(Runnable begin, Runnable end) {
    }

    /**
     * One repetition.
     *
     * @param convergence from the store being back to one primary with every replica streaming
     *                    from it, as seen at the end of the first check that found it so; empty
     *                    when that did not happen within the limit
     * @param resolution  how early the convergence may have happened instead: the time from the
     *                    start of the last check that did not find it to the end of the one that
     *                    did (each check is a dozen SQL and HTTP round trips, 50 ms apart)
     * @param acked       writes acknowledged by any member during the run
     * @param lost        acknowledged writes missing from the final primary (-1 when not converged)
     * @param primary     the final primary
     * @param before      the primary before the outage
     * @param storeBack   when the store answered again (wall clock, to find the run in the agents' logs)
     * @param lastWriteIn from the store going away to the last write acknowledged while it was away
     *                    (the primary's writes stop once its lease can no longer be trusted)
     * @param firstWriteBack from the store being back to the first write acknowledged after it
     */
    record Result(Optional<Duration> convergence, Duration resolution, int acked, long lost, String primary, String before,
                  Instant storeBack, Optional<Duration> lastWriteIn, Optional<Duration> firstWriteBack) {
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
            long gone = System.nanoTime();
            outage.begin().run();
            // the outage's length is the experiment, not a wait for a condition
            sleep(length);
            outage.end().run();
            long back = System.nanoTime();
            Instant backAt = Instant.now();
            long deadline = back + limit.toNanos();
            Optional<String> primary = Optional.empty();
            long previousCheck = back;
            long check = back;
            while (System.nanoTime() < deadline) {
                previousCheck = check;
                check = System.nanoTime();
                primary = converged();
                if (primary.isPresent()) {
                    break;
                }
                sleep(Duration.ofMillis(50));
            }
            long seen = System.nanoTime();
            Duration resolution = Duration.ofNanos(seen - previousCheck);
            if (primary.isEmpty()) {
                List<WriteProbe.Write> acked = probe.writes();
                return new Result(Optional.empty(), resolution, acked.size(), -1, "none", before, backAt, lastWriteIn(acked, gone, back),
                        firstWriteBack(acked, back));
            }
            Optional<Duration> took = Optional.of(Duration.ofNanos(seen - back));
            // the probe writes on: stop it, then compare what it was told with what the primary has
            probe.close();
            List<WriteProbe.Write> acked = probe.writes();
            Set<Long> kept = ids(cluster.node(primary.get()));
            long lost = acked.stream().filter(w -> !kept.contains(w.id())).count();
            return new Result(took, resolution, acked.size(), lost, primary.get(), before, backAt, lastWriteIn(acked, gone, back),
                    firstWriteBack(acked, back));
        }
    }

    private static Optional<Duration> lastWriteIn(List<WriteProbe.Write> acked, long gone, long back) {
        return acked.stream().mapToLong(WriteProbe.Write::atNanos).filter(t -> t >= gone && t < back).max().stream()
                .mapToObj(t -> Duration.ofNanos(t - gone)).findFirst();
    }

    private static Optional<Duration> firstWriteBack(List<WriteProbe.Write> acked, long back) {
        return acked.stream().mapToLong(WriteProbe.Write::atNanos).filter(t -> t >= back).min().stream()
                .mapToObj(t -> Duration.ofNanos(t - back)).findFirst();
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
