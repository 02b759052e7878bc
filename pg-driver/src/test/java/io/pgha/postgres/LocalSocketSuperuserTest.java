package io.pgha.postgres;

import static io.pgha.postgres.PgSandbox.await;
import static io.pgha.postgres.PgSandbox.upstream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.internal.postgres.UnixSocketFactory;
import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.StopMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A superuser without a password, as Patroni runs when none is configured: pgha reaches its own
 * server over the Unix-domain socket with peer authentication, nothing logs in as the superuser
 * over TCP, and no password is made up from another secret.
 */
class LocalSocketSuperuserTest {
    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(true);
    private static final Duration T = PgSandbox.TIMEOUT;

    private PgController.Builder localSuperuser(String name, boolean rewindUser) {
        PgController.Builder b = sandbox.withoutUsers(name, PgSandbox.freePort())
                .superuser("postgres")
                .replicationUser("replicator", "repl-secret");
        return rewindUser ? b.rewindUser("rewinder", "rewind-secret") : b;
    }

    @Test
    void aPasswordlessSuperuserIsReachedOverTheLocalSocketOnlyAndAFormerPrimaryIsStillRewound() throws Exception {
        PgController probe = sandbox.controller("ls-probe");
        Path out = sandbox.root().resolve("post-bootstrap.out");
        Path post = sandbox.root().resolve("post.sh");
        Files.writeString(post, "#!/bin/sh\n" + probe.binDirectory().resolve("psql") + " \"$1\" -Atc 'SELECT current_user' > " + out + "\n");
        Files.setPosixFilePermissions(post, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(sandbox.root(), PosixFilePermissions.fromString("rwxrwxrwx"));
        PgController a = sandbox.register(localSuperuser("ls-a", true).postBootstrap(List.of(post.toString())).build());

        await(a.bootstrap());

        assertThat(await(a.observe()).isRunningPrimary()).as("pgha reads its own server's state").isTrue();
        assertThat(Files.readString(out).strip()).as("post_bootstrap logs in with the connection string it is given")
                .isEqualTo("postgres");
        assertThat(Files.readString(a.dataDirectory().resolve("pg_hba.conf")))
                .contains("local   all   postgres   peer map=pgha_superuser");
        assertThat(Files.readString(a.dataDirectory().resolve("pg_ident.conf"))).contains("pgha_superuser   postgres   postgres");
        assertThat(Files.readString(sandbox.root().resolve("ls-a.pgha/pgpass"))).doesNotContain("postgres");
        assertThatThrownBy(() -> tcpLogin(a, "postgres", "anything")).isInstanceOf(SQLException.class)
                .hasMessageContaining("authentication failed");

        PgController b = sandbox.register(localSuperuser("ls-b", true).build());
        await(b.cloneFrom(upstream(a)));
        await(b.follow(Optional.of(upstream(a)), T));
        Awaitility.await().atMost(T).until(() -> await(b.observe()).streaming());

        // b is promoted while a still takes a write b never sees: a diverges
        await(b.follow(Optional.empty(), T));
        await(b.promote(T));
        exec(a, "CREATE TABLE lost_branch AS SELECT 1 AS x");
        await(a.stop(StopMode.FAST, T));
        assertThat(await(a.checkDivergence(upstream(b)))).isEqualTo(DivergenceCheck.DIVERGED);

        await(a.rewind(upstream(b)));
        await(a.follow(Optional.of(upstream(b)), T));

        Awaitility.await().atMost(T).until(() -> await(a.observe()).streaming());
        assertThat(count(a, "SELECT count(*) FROM pg_class WHERE relname = 'lost_branch'")).isZero();
    }

    @Test
    void withoutARewindUserARewindIsRefusedNamingTheSettingToAdd() {
        PgController a = sandbox.register(localSuperuser("ls-norewind", false).build());
        await(a.bootstrap());
        await(a.stop(StopMode.FAST, T));

        assertThatThrownBy(() -> await(a.rewind(new io.pgha.spi.Upstream("elsewhere", "postgres://127.0.0.1:1/postgres"))))
                .isInstanceOf(AuthenticationFailedException.class)
                .hasMessageContaining("has no password").hasMessageContaining("postgresql.authentication.rewind");
    }

    @Test
    void useUnixSocketConnectsPghaOverTheFirstSocketDirectoryWithThePassword() throws Exception {
        Path sockets = Files.createDirectories(sandbox.root().resolve("sockets"));
        Files.setPosixFilePermissions(sockets, PosixFilePermissions.fromString("rwxrwxrwx"));
        PgController c = sandbox.register(sandbox.builder("ls-use-socket").useUnixSocket(true)
                .unixSocketDirectories(sockets.toString())
                .hba(List.of("local all all scram-sha-256", "host all all 127.0.0.1/32 scram-sha-256",
                        "host replication all 127.0.0.1/32 scram-sha-256")).build());

        await(c.bootstrap());
        assertThat(await(c.observe()).isRunningPrimary()).isTrue();

        assertThat(Files.exists(sockets.resolve(".s.PGSQL." + port(c)))).isTrue();
        try (Connection conn = PgSandbox.sql(c); Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT count(*) FILTER (WHERE client_addr IS NULL), count(*) FROM pg_stat_activity WHERE application_name = 'pgha-ls-use-socket'")) {
            rs.next();
            assertThat(rs.getInt(2)).as("pgha keeps its connection open").isPositive();
            assertThat(rs.getInt(1)).as("every one of pgha's connections is over the socket").isEqualTo(rs.getInt(2));
        }
    }

    /** The test's own SQL goes the way pgha's does: the socket in the work directory, as the JVM's user. */
    private static Connection socket(PgController c) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("socketFactory", UnixSocketFactory.class.getName());
        p.setProperty(UnixSocketFactory.SOCKET_PATH,
                c.dataDirectory().resolveSibling(c.dataDirectory().getFileName() + ".pgha").resolve(".s.PGSQL." + port(c)).toString());
        p.setProperty("socketTimeout", "30");
        return DriverManager.getConnection("jdbc:postgresql://localhost:" + port(c) + "/postgres", p);
    }

    private static void tcpLogin(PgController c, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "5");
        DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port(c) + "/postgres", p).close();
    }

    private static int port(PgController c) {
        return ConnUrl.parse(c.connectionUrl()).port();
    }

    private static void exec(PgController c, String sql) throws SQLException {
        try (Connection conn = socket(c); Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    private static int count(PgController c, String sql) throws SQLException {
        try (Connection conn = socket(c); Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
