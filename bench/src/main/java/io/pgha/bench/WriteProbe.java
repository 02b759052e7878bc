package io.pgha.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The measuring instrument of the end-to-end tests and the benchmark: one thread per member that
 * tries a write every {@code intervalMs} on a kept-open connection (reconnecting when it breaks),
 * recording every attempt that succeeded, with its time and the id the server gave it.
 */
public final class WriteProbe implements AutoCloseable {
    /** One acknowledged write. */
    public record Write(String member, long atNanos, long id) {
    }

    private final LocalCluster cluster;
    private final long intervalMs;
    private final List<Thread> threads = new ArrayList<>();
    private final List<Write> writes = new CopyOnWriteArrayList<>();
    private volatile boolean stopped;

    public WriteProbe(LocalCluster cluster, long intervalMs) {
        this.cluster = cluster;
        this.intervalMs = intervalMs;
    }

    /** Creates the table through the current leader and starts one writer per member. */
    public WriteProbe start() throws SQLException {
        String leader = cluster.leader().orElseThrow();
        try (Connection c = cluster.sql(cluster.node(leader).pgPort); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS probe (id bigserial primary key, member text, at timestamptz default clock_timestamp())");
        }
        // replication is asynchronous: a crash right after the CREATE could lose the table itself
        for (LocalCluster.Node n : cluster.nodes()) {
            if (n.running() && !n.name.equals(leader)) {
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
                    try (Connection c = cluster.sql(n.pgPort); Statement st = c.createStatement();
                         ResultSet rs = st.executeQuery("SELECT to_regclass('probe') IS NOT NULL")) {
                        rs.next();
                        return rs.getBoolean(1);
                    }
                });
            }
        }
        for (LocalCluster.Node n : cluster.nodes()) {
            Thread t = new Thread(() -> loop(n), "probe-" + n.name);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        return this;
    }

    private void loop(LocalCluster.Node n) {
        Connection c = null;
        while (!stopped) {
            long next = System.nanoTime() + intervalMs * 1_000_000;
            try {
                if (c == null || c.isClosed()) {
                    c = cluster.sql(n.pgPort);
                    c.setAutoCommit(true);
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO probe(member) VALUES (?) RETURNING id")) {
                    ps.setString(1, n.name);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        writes.add(new Write(n.name, System.nanoTime(), rs.getLong(1)));
                    }
                }
            } catch (SQLException e) {
                if (c != null) {
                    try {
                        c.close();
                    } catch (SQLException ignored) {
                        // broken anyway
                    }
                }
                c = null;
            }
            long sleep = (next - System.nanoTime()) / 1_000_000;
            if (sleep > 0) {
                try {
                    Thread.sleep(sleep);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing
            }
        }
    }

    public List<Write> writes() {
        return List.copyOf(writes);
    }

    public Optional<Write> firstWriteOn(String member, long afterNanos) {
        return writes.stream().filter(w -> w.member().equals(member) && w.atNanos() > afterNanos).findFirst();
    }

    public Optional<Write> lastWriteOn(String member) {
        Write last = null;
        for (Write w : writes) {
            if (w.member().equals(member)) {
                last = w;
            }
        }
        return Optional.ofNullable(last);
    }

    /**
     * Whether writes moved from {@code from} to {@code to} without both accepting writes in an
     * overlapping period: every write on {@code from} precedes every write on {@code to} made after
     * {@code sinceNanos}.
     */
    public boolean movedCleanly(String from, String to, long sinceNanos) {
        Optional<Write> firstNew = firstWriteOn(to, sinceNanos);
        Optional<Write> lastOld = lastWriteOn(from);
        return firstNew.isEmpty() || lastOld.isEmpty() || lastOld.get().atNanos() < firstNew.get().atNanos();
    }

    /** Acknowledged writes whose ids {@code member}'s table does not have (call after {@link #close()}). */
    public List<Write> missingOn(LocalCluster.Node member) throws SQLException {
        java.util.Set<Long> ids = new java.util.HashSet<>();
        try (Connection c = cluster.sql(member.pgPort); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM probe")) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return writes.stream().filter(w -> !ids.contains(w.id())).toList();
    }

    @Override
    public void close() {
        stopped = true;
        for (Thread t : threads) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
