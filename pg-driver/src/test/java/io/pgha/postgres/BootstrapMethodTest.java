package io.pgha.postgres;

import static io.pgha.postgres.PgSandbox.await;
import static io.pgha.postgres.PgSandbox.sql;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.spi.StopMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Patroni's {@code bootstrap.method} and {@code post_bootstrap} on real PostgreSQL: a new cluster
 * restored by the operator's command, and a command run on the new cluster's first start.
 */
class BootstrapMethodTest {
    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(true);

    private static Path script(String name, String body) throws Exception {
        Path p = sandbox.root().resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    private static boolean tableExists(PgController c, String table) throws Exception {
        try (Connection conn = sql(c); Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT to_regclass('" + table + "') IS NOT NULL")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    @Test
    void aClusterRestoredByTheOperatorsCommandStartsAsThePrimaryWithItsRolesInPlace() throws Exception {
        PgController source = sandbox.controller("bm-source");
        String sourceId = await(source.bootstrap());
        try (Connection conn = sql(source); Statement st = conn.createStatement()) {
            st.execute("CREATE TABLE from_the_backup (id int)");
        }
        await(source.stop(StopMode.FAST, PgSandbox.TIMEOUT));
        Path restore = script("restore.sh", """
                for a in "$@"; do case "$a" in --datadir=*) d="${a#--datadir=}";; esac; done
                cp -a %s/. "$d"/
                """.formatted(source.dataDirectory()));
        PgController restored = sandbox.controller("bm-restored", b -> b.scope("orders")
                .bootstrapMethod(new BootstrapMethod("restore", List.of(restore.toString()), false)));

        String id = await(restored.bootstrap());

        assertThat(id).as("the restored cluster is the backup's").isEqualTo(sourceId);
        assertThat(await(restored.observe()).isRunningPrimary()).isTrue();
        assertThat(tableExists(restored, "from_the_backup")).isTrue();
    }

    @Test
    void postBootstrapRunsOnTheNewClusterWithTheSuperusersConnectionString() throws Exception {
        PgController probe = sandbox.controller("pb-probe");
        Path psql = probe.binDirectory().resolve("psql");
        Path post = script("post.sh", psql + " \"$1\" -c 'CREATE TABLE made_by_post_bootstrap ()'");
        PgController c = sandbox.controller("pb", b -> b.postBootstrap(List.of(post.toString())));

        await(c.bootstrap());

        assertThat(tableExists(c, "made_by_post_bootstrap")).isTrue();
    }

    @Test
    void aFailingPostBootstrapFailsTheBootstrapAndLeavesNothingBehind() throws Exception {
        Path post = script("post-fails.sh", "echo 'cannot create the schema' >&2; exit 4");
        PgController c = sandbox.controller("pbf", b -> b.postBootstrap(List.of(post.toString())));

        assertThatThrownBy(() -> await(c.bootstrap())).hasMessageContaining("post_bootstrap exited with 4")
                .hasMessageContaining("cannot create the schema");
        try (var files = Files.list(c.dataDirectory())) {
            assertThat(files).isEmpty();
        }
    }

    /**
     * A source that archives its WAL, a backup of it taken earlier (a stopped copy), then a row
     * before and a row after a named restore point, the WAL with both archived; returns the archive.
     */
    private static Path archivedSourceWithARestorePoint(String name, PgController[] backupOut) throws Exception {
        Path archive = Files.createDirectories(sandbox.root().resolve(name + "-archive"));
        Files.setPosixFilePermissions(archive, PosixFilePermissions.fromString("rwxrwxrwx"));
        PgController source = sandbox.controller(name + "-source", b -> b.parameter("archive_mode", "on")
                .parameter("archive_command", "cp %p " + archive + "/%f"));
        await(source.bootstrap());
        try (Connection conn = sql(source); Statement st = conn.createStatement()) {
            st.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
        }
        PgController backup = sandbox.controller(name + "-backup");
        await(backup.cloneFrom(PgSandbox.upstream(source)));
        backupOut[0] = backup;
        String lastSegment;
        try (Connection conn = sql(source); Statement st = conn.createStatement()) {
            st.execute("INSERT INTO t VALUES (2)");
            st.execute("SELECT pg_create_restore_point('before_the_mistake')");
            st.execute("INSERT INTO t VALUES (3)");
            try (ResultSet rs = st.executeQuery("SELECT pg_walfile_name(pg_switch_wal())")) {
                rs.next();
                lastSegment = rs.getString(1);
            }
        }
        org.awaitility.Awaitility.await().atMost(PgSandbox.TIMEOUT).until(() -> Files.exists(archive.resolve(lastSegment)));
        return archive;
    }

    private static String rows(PgController c) throws Exception {
        try (Connection conn = sql(c); Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT string_agg(id::text, ',' ORDER BY id) FROM t")) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void aPointInTimeRestoreRecoversToItsTargetBeforeItBecomesThePrimaryAndDropsTheTargetAfterwards() throws Exception {
        PgController[] backup = new PgController[1];
        Path archive = archivedSourceWithARestorePoint("pitr", backup);
        Path restore = script("pitr-restore.sh", """
                for a in "$@"; do case "$a" in --datadir=*) d="${a#--datadir=}";; esac; done
                cp -a %s/. "$d"/ && rm -f "$d"/postmaster.pid
                """.formatted(backup[0].dataDirectory()));
        // no recovery_target_action: PostgreSQL pauses at the target, and pgha promotes the new cluster's primary
        PgController restored = sandbox.controller("pitr-restored", b -> b.bootstrapMethod(new BootstrapMethod("pitr",
                List.of(restore.toString()), false, java.util.Map.of("restore_command", "cp " + archive + "/%f %p",
                "recovery_target_name", "before_the_mistake"), false)));

        await(restored.bootstrap());

        assertThat(rows(restored)).as("the row before the restore point, not the one after").isEqualTo("1,2");
        assertThat(await(restored.observe()).isRunningPrimary()).isTrue();
        assertThat(await(restored.observe()).timeline()).isEqualTo(2);
        assertThat(Files.readString(restored.dataDirectory().resolve("pgha.conf"))).doesNotContain("recovery_target_name");
    }

    @Test
    void keepExistingRecoveryConfRecoversWithWhatTheRestoreLeftLikePgBackRest() throws Exception {
        PgController[] backup = new PgController[1];
        Path archive = archivedSourceWithARestorePoint("keep", backup);
        // as pgBackRest's restore --type=name: the settings in postgresql.auto.conf and recovery.signal
        Path restore = script("keep-restore.sh", """
                for a in "$@"; do case "$a" in --datadir=*) d="${a#--datadir=}";; esac; done
                cp -a %s/. "$d"/ && rm -f "$d"/postmaster.pid "$d"/standby.signal && touch "$d"/recovery.signal
                printf "restore_command = 'cp %s/%%%%f %%%%p'\\nrecovery_target_name = 'before_the_mistake'\\nrecovery_target_action = 'promote'\\n" >> "$d"/postgresql.auto.conf
                """.formatted(backup[0].dataDirectory(), archive));
        PgController restored = sandbox.controller("keep-restored", b -> b.bootstrapMethod(new BootstrapMethod("pgbackrest",
                List.of(restore.toString()), false, java.util.Map.of(), true)));

        await(restored.bootstrap());

        assertThat(rows(restored)).isEqualTo("1,2");
        assertThat(await(restored.observe()).isRunningPrimary()).isTrue();
    }
}
