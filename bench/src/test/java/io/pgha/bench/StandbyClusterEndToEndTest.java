package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.agent.ctl.Ctl;
import io.pgha.bench.LocalCluster.Node;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Patroni's standby cluster on real processes: two 2-member clusters on one machine, each with its
 * own etcd and scope. Cluster B is a standby cluster of A ({@code standby_cluster} lists both of A's
 * members, so B's standby leader follows whichever is A's primary, through libpq's
 * {@code target_session_attrs=read-write}). A table written on A reaches both of B's members; a
 * failover in A (its primary killed) leaves B following A's new primary; a failover in B (its
 * standby leader killed) makes the other member B's standby leader, never a primary, and the killed
 * member comes back cascading from it; a switchover moves the standby leader role back; removing {@code standby_cluster} from B's dynamic
 * configuration ({@code pghactl promote-cluster}) promotes B's standby leader and B takes writes.
 */
class StandbyClusterEndToEndTest {
    private static final String TIMINGS = "    ttl: 5\n    loop_wait: 1\n    retry_timeout: 2\n";

    private LocalCluster a;
    private LocalCluster b;

    @RegisterExtension
    final TestWatcher dumpLogsOnFailure = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            System.out.println("==== cluster A ====\n" + (a == null ? "" : a.logs(60)));
            System.out.println("==== cluster B ====\n" + (b == null ? "" : b.logs(80)));
        }
    };

    @AfterEach
    void stopClusters() {
        if (b != null) {
            b.close();
        }
        if (a != null) {
            a.close();
        }
    }

    @Test
    void aStandbyClusterFollowsItsRemotePrimaryThroughFailoversOnBothSidesAndTakesWritesOncePromoted() throws Exception {
        long t0 = System.nanoTime();
        a = LocalCluster.named("a", 2, TIMINGS);
        a.startAll();
        await("cluster A healthy").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                .failFast("an agent of A exited", a::anAgentDied).until(a::healthy);
        Node aPrimary = a.node(a.leader().orElseThrow());
        execute(aPrimary, "CREATE TABLE shipped (id int PRIMARY KEY, note text)", "INSERT INTO shipped VALUES (1, 'before B existed')");

        Node a1 = a.node("a1");
        Node a2 = a.node("a2");
        b = LocalCluster.named("b", 2, TIMINGS + "    standby_cluster:\n      host: 127.0.0.1,127.0.0.1\n      port: '"
                + a1.pgPort + "," + a2.pgPort + "'\n");
        b.startAll();
        await("cluster B has a standby leader and a cascading replica").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                .failFast("an agent of B exited", b::anAgentDied).until(this::standbyClusterHealthy);
        long bootstrapped = System.nanoTime();
        Node bLeader = b.node(b.leader().orElseThrow());
        Node bOther = other(b, bLeader);
        awaitRows(b, 1);

        // the standby leader answers as one, never as a primary; the other member is a replica
        assertThat(b.get(bLeader, "/standby-leader")).isEqualTo(200);
        assertThat(b.get(bLeader, "/standby_leader")).isEqualTo(200);
        assertThat(b.get(bLeader, "/leader")).isEqualTo(200);
        assertThat(b.get(bLeader, "/primary")).isEqualTo(503);
        assertThat(b.get(bLeader, "/read-write")).isEqualTo(503);
        assertThat(b.get(bLeader, "/replica")).isEqualTo(503);
        assertThat(b.get(bOther, "/standby-leader")).isEqualTo(503);
        assertThat(b.get(bOther, "/replica")).isEqualTo(200);
        assertThat(b.call(bLeader, "GET", "/patroni", null, false).body()).contains("\"role\":\"standby_leader\"");
        assertThat(b.call(bLeader, "GET", "/metrics", null, false).body()).containsPattern("patroni_standby_leader\\{[^}]*} 1");
        assertThat(b.call(bOther, "GET", "/metrics", null, false).body()).containsPattern("patroni_standby_leader\\{[^}]*} 0");
        assertThat(queryOne(bLeader, "SELECT pg_is_in_recovery()::text")).isEqualTo("true");
        assertThat(queryOne(bLeader, "SELECT setting FROM pg_settings WHERE name = 'primary_conninfo'"))
                .contains("host=127.0.0.1,127.0.0.1").contains("port=" + a1.pgPort + "," + a2.pgPort)
                .contains("target_session_attrs=read-write");
        assertThat(queryOne(bOther, "SELECT setting FROM pg_settings WHERE name = 'primary_conninfo'"))
                .contains("port=" + bLeader.pgPort);
        // the cascading member streams through its own slot, which the standby leader keeps as a primary would
        assertThat(queryOne(bOther, "SELECT setting FROM pg_settings WHERE name = 'primary_slot_name'"))
                .isEqualTo(io.pgha.spi.SlotNames.forMember(bOther.name));
        await("the cascading member's slot on the standby leader is in use").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300))
                .until(() -> "true".equals(queryOne(bLeader, "SELECT coalesce((SELECT active::text FROM pg_replication_slots WHERE slot_name = '"
                        + io.pgha.spi.SlotNames.forMember(bOther.name) + "'), 'absent')")));
        // and keeps it while that member is down, as a primary keeps a departed member's slot for member_slots_ttl
        b.crash(bOther);
        await("the standby leader keeps the slot of a member that is down").during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(300)).until(() -> "false".equals(queryOne(bLeader,
                        "SELECT coalesce((SELECT active::text FROM pg_replication_slots WHERE slot_name = '"
                                + io.pgha.spi.SlotNames.forMember(bOther.name) + "'), 'absent')")));
        b.start(bOther);
        await("the member streams again").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                .failFast("an agent of B exited", b::anAgentDied).until(this::standbyClusterHealthy);
        assertThat(ctl(0, "list")).containsPattern("\\| " + bLeader.name + " +\\| [^|]+\\| Standby Leader \\|");
        assertThat(ctl(1, "demote-cluster", "--force", "--host", "127.0.0.1")).contains("demote-cluster is not supported by pgha");

        // a failover in A: its primary dies; B's standby leader follows A's new primary
        a.crash(aPrimary);
        await("cluster A failed over").atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(300))
                .until(() -> a.leader().filter(l -> !l.equals(aPrimary.name)).isPresent()
                        && a.get(a.node(a.leader().get()), "/primary") == 200);
        long aFailedOver = System.nanoTime();
        Node aNewPrimary = a.node(a.leader().orElseThrow());
        execute(aNewPrimary, "INSERT INTO shipped VALUES (2, 'after the failover in A')");
        awaitRows(b, 2);
        long rowTwoOnB = System.nanoTime();
        assertThat(b.leader()).contains(bLeader.name);

        // a failover in B: its standby leader dies; the other member becomes the standby leader, not a primary
        long bCrashed = System.nanoTime();
        b.crash(bLeader);
        await("B elected a new standby leader").atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(300))
                .until(() -> b.leader().map(bOther.name::equals).orElse(false) && b.get(bOther, "/standby-leader") == 200);
        long bFailedOver = System.nanoTime();
        assertThat(b.get(bOther, "/primary")).isEqualTo(503);
        assertThat(queryOne(bOther, "SELECT pg_is_in_recovery()::text")).isEqualTo("true");
        b.start(bLeader);
        await("B's old standby leader cascades from the new one").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                .failFast("an agent of B exited", b::anAgentDied).until(this::standbyClusterHealthy);
        assertThat(b.leader()).contains(bOther.name);
        execute(aNewPrimary, "INSERT INTO shipped VALUES (3, 'after the failover in B')");
        awaitRows(b, 3);
        assertThat(queryOne(bLeader, "SELECT setting FROM pg_settings WHERE name = 'primary_conninfo'"))
                .contains("port=" + bOther.pgPort);

        // a switchover in B moves the standby leader role back; nobody is promoted
        long switching = System.nanoTime();
        HttpResponse<String> sw = b.call(bOther, "POST", "/switchover",
                "{\"leader\":\"" + bOther.name + "\",\"candidate\":\"" + bLeader.name + "\"}", true);
        assertThat(sw.statusCode()).as(sw.body()).isEqualTo(200);
        await("the standby leader role moved back by a switchover").atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(300))
                .failFast("an agent of B exited", b::anAgentDied)
                .until(() -> b.leader().map(bLeader.name::equals).orElse(false) && standbyClusterHealthy());
        long switchedOver = System.nanoTime();
        assertThat(queryOne(bLeader, "SELECT pg_is_in_recovery()::text")).isEqualTo("true");
        execute(aNewPrimary, "INSERT INTO shipped VALUES (5, 'after the switchover in B')");
        awaitRows(b, 4);

        // promote-cluster: removing standby_cluster from B's dynamic configuration promotes its standby leader
        long promoting = System.nanoTime();
        assertThat(ctl(0, "promote-cluster", "--force")).contains("cluster is successfully promoted");
        await("B is a normal cluster").atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(300))
                .failFast("an agent of B exited", b::anAgentDied).until(b::healthy);
        long promoted = System.nanoTime();
        Node bPrimary = b.node(b.leader().orElseThrow());
        execute(bPrimary, "INSERT INTO shipped VALUES (4, 'written on B')", "CREATE TABLE own (x int)");
        await("B's replica streams B's own writes").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300))
                .until(() -> count(other(b, bPrimary)) == 5);
        assertThat(b.get(bPrimary, "/standby-leader")).isEqualTo(503);
        assertThat(count(aNewPrimary)).as("A never sees B's writes").isEqualTo(4);

        // every slot synchronisation on B succeeded: the standby leader kept its members' slots, nobody dropped one in use
        assertThat(b.logs(100_000)).doesNotContain("could not synchronise the replication slots");

        System.out.printf("standby cluster: B healthy %d ms after the test began; a row written on A's new primary reached both"
                        + " of B's members %d ms after A's failover; B's new standby leader %d ms after its old one was killed;"
                        + " the switchover in B %d ms; B a normal cluster %d ms after standby_cluster was removed; whole test %d ms%n",
                ms(bootstrapped - t0), ms(rowTwoOnB - aFailedOver), ms(bFailedOver - bCrashed), ms(switchedOver - switching),
                ms(promoted - promoting), ms(System.nanoTime() - t0));
    }

    /** pghactl against cluster B, expecting exit code {@code rc}; its output and errors. */
    private String ctl(int rc, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 2];
        all[0] = "-c";
        all[1] = b.node("b1").config.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        int code = Ctl.run(all, new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(code).as("pghactl " + String.join(" ", args) + ": " + err + out).isEqualTo(rc);
        return out + "\n" + err;
    }

    /** B: the leader key holder is a streaming standby leader; every other running member a streaming replica. */
    private boolean standbyClusterHealthy() {
        Optional<String> l = b.leader();
        if (l.isEmpty() || !b.node(l.get()).running() || b.get(b.node(l.get()), "/standby-leader") != 200) {
            return false;
        }
        for (Node n : b.nodes()) {
            if (n.running() && !n.name.equals(l.get()) && b.get(n, "/replica?replication_state=streaming") != 200) {
                return false;
            }
        }
        return true;
    }

    private void awaitRows(LocalCluster c, int rows) {
        List<Node> running = new ArrayList<>(c.nodes().stream().filter(Node::running).toList());
        await("every running member of " + c.scope + " has " + rows + " rows").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(300)).until(() -> running.stream().allMatch(n -> count(n) == rows));
    }

    private int count(Node n) {
        try {
            return Integer.parseInt(queryOne(n, "SELECT count(*) FROM shipped"));
        } catch (SQLException | RuntimeException e) {
            return -1;
        }
    }

    private static Node other(LocalCluster c, Node n) {
        return c.nodes().stream().filter(x -> !x.name.equals(n.name)).findFirst().orElseThrow();
    }

    private void execute(Node n, String... statements) throws SQLException {
        try (Connection c = a.sql(n.pgPort); Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
    }

    private String queryOne(Node n, String sql) throws SQLException {
        try (Connection c = a.sql(n.pgPort); Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getString(1);
        }
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
