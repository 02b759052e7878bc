package io.pgha.postgres;

import static io.pgha.postgres.PgSandbox.await;
import static io.pgha.postgres.PgSandbox.sql;
import static io.pgha.postgres.PgSandbox.upstream;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.spi.Lsn;
import io.pgha.spi.ReplicationSlot;
import io.pgha.spi.SlotNames;
import io.pgha.spi.SlotPlan;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A slot plan carried out on real PostgreSQL: created, advanced on a standby, dropped only when named and unused. */
class SlotsTest {
    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(true);

    private static Map<String, ReplicationSlot> byName(List<ReplicationSlot> slots) {
        return slots.stream().collect(Collectors.toMap(ReplicationSlot::name, s -> s));
    }

    @Test
    void aPlanCreatesPhysicalAndLogicalSlotsAdvancesThemOnAStandbyAndDropsOnlyNamedUnusedOnes() throws Exception {
        PgController primary = sandbox.controller("sl-primary", b -> b.parameter("wal_level", "logical"));
        await(primary.bootstrap());
        PgController standby = sandbox.controller("sl-standby", b -> b.parameter("wal_level", "logical"));
        await(standby.cloneFrom(upstream(primary)));
        await(standby.follow(Optional.of(upstream(primary)), PgSandbox.TIMEOUT));
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> await(standby.observe()).streaming());
        String standbySlot = SlotNames.forMember("sl-standby");
        try (Connection c = sql(primary); Statement st = c.createStatement()) {
            st.execute("SELECT pg_create_physical_replication_slot('departed_member', true)");
        }

        Map<String, ReplicationSlot> onPrimary = byName(await(primary.syncSlots(new SlotPlan(
                Map.of(standbySlot, Optional.empty(), "archiver", Optional.empty()),
                Map.of("cdc", new SlotPlan.LogicalSlot("postgres", "test_decoding")), Set.of()))));

        assertThat(onPrimary).containsKeys(standbySlot, "archiver", "cdc", "departed_member");
        assertThat(onPrimary.get(standbySlot).active()).as("the standby streams through its slot").isTrue();
        assertThat(onPrimary.get("cdc").type()).isEqualTo("logical");
        assertThat(onPrimary.get("cdc").database()).contains("postgres");
        assertThat(onPrimary.get("archiver").position().compareTo(Lsn.ZERO)).as("reserves WAL at once").isPositive();

        onPrimary = byName(await(primary.syncSlots(new SlotPlan(Map.of("archiver", Optional.empty()), Map.of(),
                Set.of("departed_member", standbySlot)))));

        assertThat(onPrimary).doesNotContainKey("departed_member").as("an active slot is never dropped").containsKey(standbySlot);
        assertThat(onPrimary).as("a logical slot is not dropped for lack of being planned").containsKey("cdc");

        // on the standby, the permanent slot is kept and advanced to where the primary has it
        try (Connection c = sql(primary); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t AS SELECT 1 AS x; SELECT pg_switch_wal()");
        }
        Lsn primaryHas = await(primary.observe()).walPosition();
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> await(standby.observe()).replayLsn().compareTo(primaryHas) >= 0);
        await(standby.syncSlots(new SlotPlan(Map.of("archiver", Optional.empty()), Map.of(), Set.of())));
        Map<String, ReplicationSlot> onStandby = byName(await(standby.syncSlots(new SlotPlan(Map.of("archiver", Optional.of(primaryHas)),
                Map.of("cdc", new SlotPlan.LogicalSlot("postgres", "test_decoding")), Set.of()))));

        assertThat(onStandby).containsKey("archiver").as("logical slots are created on a primary only").doesNotContainKey("cdc");
        assertThat(onStandby.get("archiver").position()).isEqualTo(primaryHas);
    }

    private static List<String> changes(Connection c, String fn) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        try (Statement st = c.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT data FROM " + fn + "('cdc', NULL, NULL) WHERE data LIKE 'table public.t:%'")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static Lsn confirmed(Connection c) throws Exception {
        try (Statement st = c.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'cdc'")) {
            return rs.next() ? Lsn.parse(rs.getString(1)) : Lsn.ZERO;
        }
    }

    @Test
    void aStandbyCopiesAPermanentLogicalSlotFromThePrimaryAdvancesItAndAfterPromotionDecodesOnlyWhatFollows() throws Exception {
        PgController primary = sandbox.controller("lc-primary", b -> b.parameter("wal_level", "logical"));
        await(primary.bootstrap());
        PgController standby = sandbox.controller("lc-standby", b -> b.parameter("wal_level", "logical"));
        await(standby.cloneFrom(upstream(primary)));
        await(standby.follow(Optional.of(upstream(primary)), PgSandbox.TIMEOUT));
        String standbySlot = SlotNames.forMember("lc-standby");
        Map<String, SlotPlan.LogicalSlot> logical = Map.of("cdc", new SlotPlan.LogicalSlot("postgres", "test_decoding"),
                "gone", new SlotPlan.LogicalSlot("postgres", "test_decoding"));
        await(primary.syncSlots(new SlotPlan(Map.of(standbySlot, Optional.empty()), logical, Set.of())));
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> await(standby.observe()).streaming());
        try (Connection c = sql(primary); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY)");
            st.execute("INSERT INTO t SELECT generate_series(1, 3)");
            assertThat(changes(c, "pg_logical_slot_get_changes")).hasSize(3);
        }

        Set<String> copied = await(standby.copyLogicalSlots(upstream(primary), logical, PgSandbox.TIMEOUT));

        assertThat(copied).containsExactlyInAnyOrder("cdc", "gone");
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> await(standby.observe()).streaming());
        try (Connection c = sql(standby); Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery(
                "SELECT current_setting('hot_standby_feedback'), pg_is_in_recovery()")) {
            rs.next();
            assertThat(rs.getString(1)).as("enforced on a standby holding logical copies").isEqualTo("on");
            assertThat(rs.getBoolean(2)).as("still a standby after the copy's restart").isTrue();
        }

        // the consumer goes on on the primary; the standby's copy is advanced to where the primary has it
        Lsn consumed;
        try (Connection c = sql(primary); Statement st = c.createStatement()) {
            st.execute("INSERT INTO t SELECT generate_series(4, 6)");
            assertThat(changes(c, "pg_logical_slot_get_changes")).hasSize(3);
            consumed = confirmed(c);
        }
        Lsn primaryHas = await(primary.observe()).walPosition();
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> await(standby.observe()).replayLsn().compareTo(primaryHas) >= 0);
        SlotPlan onStandby = new SlotPlan(Map.of(), Map.of("cdc", logical.get("cdc")), Map.of("cdc", consumed), Set.of("gone"));
        Map<String, ReplicationSlot> after = byName(await(standby.syncSlots(onStandby)));

        assertThat(after.get("cdc").position()).isEqualTo(consumed);
        assertThat(after).as("a logical copy the configuration no longer lists is dropped").doesNotContainKey("gone");
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> {
            await(standby.syncSlots(onStandby));
            return standby.unreadyLogicalSlots().isEmpty();
        });

        // after a promotion the copy continues the stream exactly where the consumer confirmed it
        await(primary.stop(io.pgha.spi.StopMode.FAST, PgSandbox.TIMEOUT));
        await(standby.promote(PgSandbox.TIMEOUT));
        try (Connection c = sql(standby); Statement st = c.createStatement()) {
            st.execute("INSERT INTO t VALUES (7)");
            assertThat(changes(c, "pg_logical_slot_get_changes")).containsExactly("table public.t: INSERT: id[integer]:7");
        }
    }
}
