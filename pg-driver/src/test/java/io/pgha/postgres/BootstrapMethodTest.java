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
}
