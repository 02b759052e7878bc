package io.pgha.postgres;

import io.pgha.spi.PostgresState;
import io.pgha.spi.RunState;
import io.pgha.spi.StopMode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

import static io.pgha.postgres.PgSandbox.await;
import static io.pgha.postgres.PgSandbox.sql;
import static io.pgha.postgres.PgSandbox.upstream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Restart, reload, checkpoint, a standby of nobody, and what a failed rewind leaves behind. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LifecycleTest {
    private static final Duration T = Duration.ofSeconds(30);

    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(false);

    private PgController x;
    private PgController y;

    @BeforeAll
    void twoUnrelatedClusters() {
        x = sandbox.controller("x", b -> b.dataChecksums(true).locale("C.UTF-8"));
        y = sandbox.controller("y");
        await(x.bootstrap());
        await(y.bootstrap());
    }

    @Test
    @Order(1)
    void a_restart_keeps_the_primary_a_primary_and_reload_and_checkpoint_succeed() throws Exception {
        await(x.restart(StopMode.FAST, T));
        await(x.reload());
        await(x.checkpoint());

        assertThat(await(x.observe()).isRunningPrimary()).isTrue();
        assertThat(await(x.controlData()).dataChecksums()).as("initdb --data-checksums").isTrue();
    }

    @Test
    @Order(2)
    void following_nobody_makes_a_read_only_standby_that_can_be_promoted_back() throws Exception {
        await(x.stop(StopMode.FAST, T));
        assertThat(await(x.observe()).runState()).isEqualTo(RunState.STOPPED);

        await(x.follow(Optional.empty(), T));

        PostgresState s = await(x.observe());
        assertThat(s.isRunningReplica()).isTrue();
        assertThat(s.upstream()).isEmpty();
        assertThat(s.streaming()).isFalse();
        try (Connection c = sql(x); Statement st = c.createStatement()) {
            assertThatThrownBy(() -> st.execute("CREATE TABLE nope (i int)")).isInstanceOf(SQLException.class)
                    .hasMessageContaining("read-only");
        }

        await(x.promote(T));

        assertThat(await(x.observe()).isRunningPrimary()).isTrue();
        assertThat(await(x.observe()).timeline()).isEqualTo(2);
    }

    @Test
    @Order(3)
    void a_failed_rewind_is_reported_and_leaves_data_that_starts_only_as_a_standby() {
        await(x.stop(StopMode.FAST, T));

        Throwable e = failure(x.rewind(upstream(y)));

        assertThat(e).isInstanceOf(CommandFailedException.class).hasMessageContaining("pg_rewind");
        assertThat(await(x.observe()).inRecovery()).as("standby.signal is in place").isTrue();
    }

    @Test
    @Order(4)
    void with_remove_data_directory_on_rewind_failure_a_failed_rewind_becomes_a_fresh_clone() {
        String ySystem = await(y.observe()).systemId().orElseThrow();
        PgController x2 = sandbox.register(sandbox.builder("x", ConnUrl.parse(x.connectionUrl()).port())
                .removeDataDirectoryOnRewindFailure(true).build());

        await(x2.rewind(upstream(y)));
        await(x2.follow(Optional.of(upstream(y)), T));

        await().atMost(T).until(() -> await(x2.observe()).streaming());
        assertThat(await(x2.observe()).systemId()).contains(ySystem);
    }

    private static Throwable failure(CompletionStage<?> stage) {
        try {
            await(stage);
        } catch (RuntimeException e) {
            return e;
        }
        throw new AssertionError("expected a failure");
    }

    @Test
    @Order(99)
    void removing_the_data_directory_is_refused_while_running_and_leaves_an_uninitialized_node() throws Exception {
        PgController z = sandbox.controller("z");
        await(z.bootstrap());
        assertThatThrownBy(() -> await(z.removeData())).hasMessageContaining("stop it first");
        await(z.stop(StopMode.FAST, T));
        await(z.removeData());
        assertThat(await(z.observe()).runState()).isEqualTo(RunState.UNINITIALIZED);
        await(z.bootstrap());
        assertThat(await(z.observe()).isRunningPrimary()).as("an emptied node can be initialized again").isTrue();
    }

    @Test
    @Order(100)
    void users_from_the_bootstrap_section_are_created_with_their_options() throws Exception {
        PgController w = sandbox.controller("w", b -> b.bootstrapUser("admin", "adm1n-pw", java.util.List.of("createdb", "createrole")));
        await(w.bootstrap());
        try (Connection c = sql(w); Statement st = c.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT rolcanlogin, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = 'admin'")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getBoolean(1)).isTrue();
            assertThat(rs.getBoolean(2)).isTrue();
            assertThat(rs.getBoolean(3)).isTrue();
        }
        assertThatThrownBy(() -> PgController.builder().bootstrapUser("x", "y", java.util.List.of("drop table")))
                .hasMessageContaining("unknown role option 'drop table'");
    }
}
