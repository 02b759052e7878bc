package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.bench.LocalCluster.Node;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A permanent logical slot survives a switchover: three agents on real etcd and PostgreSQL 15 with
 * {@code slots: {cdc: {type: logical, database: postgres, plugin: test_decoding}}}; a writer inserts
 * ids 1, 2, 3, ... one transaction each; a CDC consumer reads the changes with
 * {@code pg_logical_slot_get_changes} on whichever member is the primary; the primary is switched
 * over under load, and the consumer carries on on the new primary's slot, which exists there only
 * because pgha copied it to the replicas and kept it advanced.
 *
 * <p>Why the check is exact. "Committed" is what the final primary's table holds when the writer
 * has stopped (a write whose acknowledgement the switchover cut off may or may not be there; the
 * table says which). A graceful switchover loses nothing committed on the old primary (the
 * candidate has received the shutdown checkpoint), so every transaction the consumer decoded on the
 * old primary is also in that table. The new primary's copy of the slot is where the old primary
 * last published it (the {@code status} key, each renewal), never ahead of what the consumer
 * confirmed, so the new slot delivers every transaction committed after that point: nothing can be
 * missing. It may deliver again transactions the consumer had already confirmed on the old primary
 * (Patroni has the same at-least-once window); the consumer does what a real CDC consumer such as
 * Debezium does: it remembers the commit LSN of the last transaction it processed and skips a
 * transaction committed at or below it (LSNs keep growing across the promotion). The test asserts
 * that after that rule the application saw every committed id exactly once and nothing else, and
 * reports how many transactions were delivered again below the confirmed LSN.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LogicalSlotFailoverTest {
    private static final Pattern INSERT = Pattern.compile("^table public\\.cdc_probe: INSERT: id\\[integer\\]:(\\d+)$");

    private LocalCluster cluster;

    @RegisterExtension
    final TestWatcher dumpLogsOnFailure = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            System.out.println(cluster == null ? "" : cluster.logs(150));
            if (cluster != null) {
                for (Node n : cluster.nodes()) {
                    try (Connection c = cluster.sql(n.pgPort); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                            "SELECT slot_name, slot_type, restart_lsn, confirmed_flush_lsn, catalog_xmin, wal_status, pg_is_in_recovery(),"
                                    + " (SELECT string_agg(name, ',' ORDER BY name) FROM pg_ls_waldir()) FROM pg_replication_slots")) {
                        while (rs.next()) {
                            System.out.printf("%s: %s %s restart %s confirmed %s catalog_xmin %s %s recovery %s wal %s%n", n.name,
                                    rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6),
                                    rs.getString(7), rs.getString(8));
                        }
                    } catch (SQLException e) {
                        System.out.println(n.name + ": " + e.getMessage());
                    }
                }
            }
        }
    };

    @BeforeAll
    void start() {
        cluster = new LocalCluster(3, "    ttl: 10\n    loop_wait: 1\n    retry_timeout: 2\n"
                + "    postgresql:\n      parameters: {wal_level: logical}\n"
                + "    slots:\n      cdc: {type: logical, database: postgres, plugin: test_decoding}");
        cluster.startAll();
        try {
            ClusterTestSupport.awaitHealthy(cluster, Duration.ofSeconds(90));
        } catch (RuntimeException e) {
            System.out.println(cluster.logs(80));
            throw e;
        }
    }

    @AfterAll
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private Optional<String> slotOn(Node n) {
        try (Connection c = cluster.sql(n.pgPort); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'cdc'")) {
            return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
        } catch (SQLException e) {
            return Optional.empty();
        }
    }

    @Test
    @Order(1)
    void aCdcConsumerContinuesOnTheNewPrimarysSlotAfterASwitchoverAndSeesEveryCommittedChangeExactlyOnce() throws Exception {
        Node first = cluster.node(cluster.leader().orElseThrow());
        try (Connection c = cluster.sql(first.pgPort); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE cdc_probe (id int PRIMARY KEY)");
        }
        List<Node> replicas = cluster.nodes().stream().filter(n -> n != first).toList();
        Consumer consumer = new Consumer();
        Writer writer = new Writer(1);
        Thread consumerThread = new Thread(consumer, "cdc-consumer");
        Thread writerThread = new Thread(writer, "cdc-writer");
        consumerThread.start();
        writerThread.start();
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> consumer.applied.size() >= 100);
            // each replica copies the slot once the leader publishes it and its consumer has moved it past the WAL the
            // replica was cloned from (one restart each), then keeps it advanced
            await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(250))
                    .until(() -> replicas.stream().allMatch(n -> slotOn(n).isPresent()));
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(cluster::healthy);
            // the replicas' copies follow the consumer: the leader publishes the slot's position, they advance to it
            String before = slotOn(replicas.get(0)).orElseThrow();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                    .until(() -> !slotOn(replicas.get(0)).orElseThrow().equals(before));

            Node target = replicas.get(0);
            long atSwitchover = consumer.applied.size();
            var r = cluster.call(first, "POST", "/switchover", "{\"leader\":\"" + first.name + "\",\"candidate\":\"" + target.name + "\"}",
                    true);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> cluster.leader().filter(target.name::equals).isPresent() && cluster.get(target, "/primary") == 200);
            // the consumer decodes on the new primary, and the writer commits there
            await().atMost(Duration.ofSeconds(30)).until(() -> consumer.decodedOn.containsKey(target.name)
                    && writer.ackedOn.containsKey(target.name) && consumer.applied.size() > atSwitchover + 50);
        } finally {
            writer.stop.set(true);
            writerThread.join(10_000);
        }
        Node last = cluster.node(cluster.leader().orElseThrow());
        Set<Integer> committed = new TreeSet<>();
        try (Connection c = cluster.sql(last.pgPort); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT id FROM cdc_probe")) {
            while (rs.next()) {
                committed.add(rs.getInt(1));
            }
        }
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> consumer.appliedSet().containsAll(committed));
        } finally {
            consumer.stop.set(true);
            consumerThread.join(10_000);
        }

        List<Integer> applied = new ArrayList<>(consumer.applied);
        Map<Integer, Integer> seen = new TreeMap<>();
        applied.forEach(id -> seen.merge(id, 1, Integer::sum));
        Set<Integer> acked = writer.acked.keySet();
        System.out.printf("logical slot switchover %s -> %s: %d ids committed (%d acknowledged, %d attempts cut off), %d applied,"
                        + " %d transactions delivered again at or below the confirmed LSN and skipped; decoded on %s%n",
                first.name, last.name, committed.size(), acked.size(), writer.cutOff.get(), applied.size(), consumer.redelivered.get(),
                consumer.decodedOn);
        assertThat(consumer.errors).as("the consumer found the slot on every primary").isEmpty();
        assertThat(last.name).isNotEqualTo(first.name);
        assertThat(consumer.decodedOn).containsKeys(first.name, last.name);
        assertThat(committed).as("every acknowledged write is committed").containsAll(acked);
        assertThat(seen.entrySet().stream().filter(e -> e.getValue() > 1).toList()).as("ids the application saw twice").isEmpty();
        assertThat(seen.keySet()).as("the application saw every committed id and nothing else").isEqualTo(committed);
        int highest = committed.stream().mapToInt(Integer::intValue).max().orElse(0);
        assertThat(java.util.stream.IntStream.rangeClosed(1, highest).boxed().filter(id -> !committed.contains(id)).toList())
                .as("ids missing from 1..%d are only attempts the switchover cut off (never acknowledged)", highest)
                .isSubsetOf(writer.cutOffIds);
    }

    /**
     * The same consumer across a crash (kill -9 of the primary's agent and PostgreSQL). Writes are
     * quiesced before the kill: with asynchronous replication a crash may lose the primary's last
     * commits, and PostgreSQL 15's logical decoding does not wait for standbys, so a consumer could
     * have decoded a commit the new primary never received; "committed" is only well defined for
     * what was replicated. So the writer pauses, the consumer applies everything, and the kill comes
     * once every replica's copy of the slot is at the consumer's confirmed LSN (published by the
     * leader, advanced by each replica): then the new primary's slot delivers exactly what follows,
     * nothing again.
     */
    @Test
    @Order(2)
    void aCdcConsumerContinuesOnTheNewPrimarysSlotAfterTheQuiescedPrimaryIsKilledAndSeesNothingTwice() throws Exception {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(cluster::healthy);
        Node old = cluster.node(cluster.leader().orElseThrow());
        List<Node> replicas = cluster.nodes().stream().filter(n -> n != old && n.running()).toList();
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(250))
                .until(() -> replicas.stream().allMatch(n -> slotOn(n).isPresent()));
        int first;
        try (Connection c = cluster.sql(old.pgPort); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COALESCE(max(id), 0) + 1000 FROM cdc_probe")) {
            rs.next();
            first = rs.getInt(1);
        }
        Consumer consumer = new Consumer();
        Writer writer = new Writer(first);
        Thread consumerThread = new Thread(consumer, "cdc-consumer");
        Thread writerThread = new Thread(writer, "cdc-writer");
        consumerThread.start();
        writerThread.start();
        Node now;
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> consumer.applied.size() >= 100);
            writer.paused.set(true);
            await().atMost(Duration.ofSeconds(10)).until(writer.idle::get);
            await().atMost(Duration.ofSeconds(10)).until(() -> consumer.appliedSet().containsAll(writer.acked.keySet()));
            io.pgha.spi.Lsn confirmed = consumer.confirmed.get();
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> replicas.stream().allMatch(
                    n -> slotOn(n).map(io.pgha.spi.Lsn::parse).map(l -> l.compareTo(confirmed) >= 0).orElse(false)));
            long redeliveredBefore = consumer.redelivered.get();

            cluster.crash(old);
            await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(100))
                    .until(() -> cluster.leader().filter(l -> !l.equals(old.name)).isPresent()
                            && cluster.get(cluster.node(cluster.leader().get()), "/primary") == 200);
            now = cluster.node(cluster.leader().get());
            writer.paused.set(false);
            int before = consumer.applied.size();
            await().atMost(Duration.ofSeconds(30)).until(() -> consumer.decodedOn.containsKey(now.name)
                    && writer.ackedOn.containsKey(now.name) && consumer.applied.size() > before + 50);
            assertThat(consumer.redelivered.get()).as("nothing delivered again: the copies were at the confirmed LSN")
                    .isEqualTo(redeliveredBefore);
        } finally {
            writer.stop.set(true);
            writerThread.join(10_000);
        }
        Set<Integer> committed = new TreeSet<>();
        try (Connection c = cluster.sql(now.pgPort); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM cdc_probe WHERE id >= " + first)) {
            while (rs.next()) {
                committed.add(rs.getInt(1));
            }
        }
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> consumer.appliedSet().containsAll(committed));
        } finally {
            consumer.stop.set(true);
            consumerThread.join(10_000);
        }
        List<Integer> applied = new ArrayList<>(consumer.applied);
        Map<Integer, Integer> seen = new TreeMap<>();
        applied.forEach(id -> seen.merge(id, 1, Integer::sum));
        System.out.printf("logical slot after kill -9 of %s -> %s: %d ids committed (%d acknowledged, %d attempts cut off), %d applied,"
                        + " %d transactions delivered again and skipped; decoded on %s%n", old.name, now.name, committed.size(),
                writer.acked.size(), writer.cutOff.get(), applied.size(), consumer.redelivered.get(), consumer.decodedOn);
        assertThat(consumer.errors).as("the consumer found the slot on every primary").isEmpty();
        assertThat(consumer.decodedOn).containsKeys(old.name, now.name);
        assertThat(committed).as("every acknowledged write is committed").containsAll(writer.acked.keySet());
        assertThat(seen.entrySet().stream().filter(e -> e.getValue() > 1).toList()).as("ids the application saw twice").isEmpty();
        assertThat(seen.keySet()).as("the application saw every committed id and nothing else").isEqualTo(committed);
    }

    /** Inserts ids 1, 2, 3, ... one transaction each on the current leader; an attempt cut off by the switchover is not retried. */
    private final class Writer implements Runnable {
        final AtomicBoolean stop = new AtomicBoolean();
        final Map<Integer, String> acked = new ConcurrentHashMap<>();
        final Map<String, Integer> ackedOn = new ConcurrentHashMap<>();
        final AtomicInteger cutOff = new AtomicInteger();
        final Set<Integer> cutOffIds = ConcurrentHashMap.newKeySet();
        final AtomicBoolean paused = new AtomicBoolean();
        /** The writer is between transactions while paused: nothing of it is in flight. */
        final AtomicBoolean idle = new AtomicBoolean();
        private int next;

        Writer(int first) {
            next = first;
        }

        @Override
        public void run() {
            onThePrimary(stop, (member, st) -> {
                while (!stop.get()) {
                    if (paused.get()) {
                        idle.set(true);
                        pace(20);
                        continue;
                    }
                    idle.set(false);
                    int id = next;
                    try {
                        st.execute("INSERT INTO cdc_probe VALUES (" + id + ")");
                        next++;
                    } catch (SQLException e) {
                        // the outcome is unknown (committed or not): the final table says; a fresh id next time, so none is
                        // written twice
                        next++;
                        cutOff.incrementAndGet();
                        cutOffIds.add(id);
                        throw e;
                    }
                    acked.put(id, member);
                    ackedOn.merge(member, 1, Integer::sum);
                    pace(15);
                }
            }, (member, e) -> {
            });
        }
    }

    /**
     * A CDC consumer: decodes the slot on the current primary, groups the rows of each transaction,
     * and applies a transaction only if its commit LSN is above the last one it applied (the
     * confirmed LSN), as Debezium does; an older one is counted as delivered again.
     */
    private final class Consumer implements Runnable {
        final AtomicBoolean stop = new AtomicBoolean();
        final List<Integer> applied = java.util.Collections.synchronizedList(new ArrayList<>());
        final Map<String, Integer> decodedOn = new ConcurrentHashMap<>();
        final AtomicLong redelivered = new AtomicLong();
        final List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        final AtomicReference<io.pgha.spi.Lsn> confirmed = new AtomicReference<>(io.pgha.spi.Lsn.ZERO);

        Set<Integer> appliedSet() {
            synchronized (applied) {
                return new TreeSet<>(applied);
            }
        }

        @Override
        public void run() {
            onThePrimary(stop, (member, st) -> {
                while (!stop.get()) {
                    if (!poll(st, member)) {
                        pace(20);
                    }
                }
            }, (member, e) -> {
                if (e.getMessage() != null && e.getMessage().contains("does not exist")) {
                    errors.add(member + ": " + e.getMessage());
                }
            });
        }

        /** One batch; true when it held anything. The slot confirms what it returns, so a batch is processed whole. */
        private boolean poll(Statement st, String member) throws SQLException {
            List<Integer> txn = new ArrayList<>();
            boolean any = false;
            try (ResultSet rs = st.executeQuery("SELECT lsn::text, data FROM pg_logical_slot_get_changes('cdc', NULL, NULL)")) {
                while (rs.next()) {
                    any = true;
                    String data = rs.getString(2);
                    Matcher m = INSERT.matcher(data);
                    if (data.startsWith("BEGIN")) {
                        txn.clear();
                    } else if (m.matches()) {
                        txn.add(Integer.parseInt(m.group(1)));
                    } else if (data.startsWith("COMMIT")) {
                        io.pgha.spi.Lsn commit = io.pgha.spi.Lsn.parse(rs.getString(1));
                        if (txn.isEmpty()) {
                            continue;
                        }
                        if (commit.compareTo(confirmed.get()) <= 0) {
                            redelivered.incrementAndGet();
                        } else {
                            applied.addAll(txn);
                            confirmed.set(commit);
                            decodedOn.merge(member, txn.size(), Integer::sum);
                        }
                        txn.clear();
                    }
                }
            }
            return any;
        }
    }

    /** Work on one connection to the primary; returns or throws when it should reconnect. */
    @FunctionalInterface
    private interface OnePrimary {
        void run(String member, Statement st) throws SQLException;
    }

    /**
     * Runs {@code work} on a connection to whichever member leads, until {@code stop}: after an error
     * (the primary went away, a failover) it reconnects to the member that leads then.
     */
    private void onThePrimary(AtomicBoolean stop, OnePrimary work, java.util.function.BiConsumer<String, SQLException> onError) {
        while (!stop.get()) {
            Optional<String> leader = cluster.leader();
            if (leader.isEmpty()) {
                pace(50);
                continue;
            }
            try (Connection c = cluster.sql(cluster.node(leader.get()).pgPort); Statement st = c.createStatement()) {
                work.run(leader.get(), st);
            } catch (SQLException e) {
                onError.accept(leader.get(), e);
                pace(100);
            }
        }
    }

    /** Sets the pace of the load threads (a write every 15 ms, a poll every 20 ms): not a wait for a condition. */
    private static void pace(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
