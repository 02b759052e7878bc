package io.pgha.postgres;

import io.pgha.ConfigurationException;

import io.pgha.spi.StopMode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

import static io.pgha.postgres.PgSandbox.await;
import static io.pgha.postgres.PgSandbox.upstream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad input and bad circumstances get a typed exception whose message names the problem. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {
    private static final Duration T = Duration.ofSeconds(30);

    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(false);

    private PgController primary;

    @BeforeAll
    void aRunningPrimary() {
        primary = sandbox.controller("primary");
        await(primary.bootstrap());
    }

    @Test
    void a_bin_directory_without_the_postgresql_programs_is_refused_at_build() {
        assertThatThrownBy(() -> sandbox.builder("x").binDirectory(Path.of("/nonexistent/pg/bin")).build())
                .isInstanceOf(BinaryNotFoundException.class)
                .hasMessageContaining("/nonexistent/pg/bin")
                .hasMessageContaining("initdb")
                .hasMessageContaining("pg_rewind");
    }

    @Test
    void the_binaries_are_found_without_configuration_and_their_version_is_detected() {
        PgController c = sandbox.controller("found");
        assertThat(c.majorVersion()).isBetween(13, 17);
        assertThat(c.binDirectory()).isEqualTo(Binaries.locate(Optional.empty()).dir());
    }

    @Test
    void bootstrap_refuses_a_data_directory_that_is_not_empty() throws IOException {
        PgController c = sandbox.controller("notempty");
        Files.createDirectories(c.dataDirectory());
        Files.setAttribute(c.dataDirectory(), "unix:uid", uidOf("postgres"));
        Files.writeString(c.dataDirectory().resolve("somebody-elses-file"), "x");

        assertThat(failure(c.bootstrap())).isInstanceOf(DataDirectoryException.class)
                .hasMessageContaining("not empty").hasMessageContaining("somebody-elses-file");
        assertThat(c.dataDirectory().resolve("somebody-elses-file")).exists();
    }

    @Test
    void bootstrap_refuses_a_data_directory_owned_by_another_user() throws IOException {
        PgController c = sandbox.controller("foreign");
        Files.createDirectories(c.dataDirectory());
        Files.setAttribute(c.dataDirectory(), "unix:uid", uidOf("nobody"));

        assertThat(failure(c.bootstrap())).isInstanceOf(DataDirectoryException.class)
                .hasMessageContaining("owned by nobody").hasMessageContaining("postgres");
    }

    @Test
    void bootstrap_reports_a_port_that_another_process_listens_on() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            PgController c = sandbox.register(sandbox.builder("busy", taken.getLocalPort()).build());

            Throwable e = failure(c.bootstrap());

            assertThat(e).isInstanceOf(PortInUseException.class).hasMessageContaining(Integer.toString(taken.getLocalPort()));
            assertThat(((PortInUseException) e).port()).isEqualTo(taken.getLocalPort());
        }
    }

    @Test
    void a_wrong_replication_password_is_reported_as_an_authentication_failure() {
        String wrong = "not-the-password-" + System.nanoTime();
        PgController c = sandbox.register(sandbox.builder("wrongpw", PgSandbox.freePort(), wrong).build());

        Throwable clone = failure(c.cloneFrom(upstream(primary)));
        // the same wrong password on a controller of the (initialized) primary's data directory
        PgController samePrimary = sandbox.register(sandbox.builder("primary", ConnUrl.parse(primary.connectionUrl()).port(), wrong).build());
        Throwable check = failure(samePrimary.checkDivergence(upstream(primary)));

        for (Throwable e : List.of(clone, check)) {
            assertThat(e).isInstanceOf(AuthenticationFailedException.class)
                    .hasMessageContaining("replicator").hasMessageNotContaining(wrong);
        }
        assertThat(c.dataDirectory()).as("the failed clone leaves nothing behind").satisfies(d ->
                assertThat(!Files.exists(d) || Fs.isEmptyDir(d)).isTrue());
    }

    @Test
    void a_server_that_does_not_answer_makes_observe_fail_with_a_timeout_instead_of_hanging() {
        PgController c = sandbox.register(sandbox.builder("primary", ConnUrl.parse(primary.connectionUrl()).port())
                .connectTimeout(Duration.ofSeconds(1)).statementTimeout(Duration.ofSeconds(1)).build());
        long pid = PidFile.read(primary.dataDirectory()).orElseThrow().pid();
        Proc.signal(pid, "STOP"); // a hung postmaster: the kernel still accepts the TCP connection
        try {
            long t0 = System.nanoTime();

            Throwable e = failure(c.observe());

            assertThat(e).isInstanceOf(PostgresTimeoutException.class);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        } finally {
            Proc.signal(pid, "CONT");
        }
        assertThat(await(primary.observe()).isRunningPrimary()).isTrue();
    }

    @Test
    void operations_that_do_not_fit_the_server_state_are_refused() {
        assertThat(failure(primary.promote(T))).isInstanceOf(ServerStateException.class).hasMessageContaining("already a primary");
        assertThat(failure(primary.follow(Optional.empty(), T))).isInstanceOf(ServerStateException.class)
                .hasMessageContaining("running as a primary");
        assertThat(failure(primary.rewind(upstream(primary)))).isInstanceOf(ServerStateException.class)
                .hasMessageContaining("stop it first");
        assertThat(failure(primary.bootstrap())).isInstanceOf(DataDirectoryException.class).hasMessageContaining("not empty");
        PgController empty = sandbox.controller("empty");
        assertThat(failure(empty.start(T))).isInstanceOf(DataDirectoryException.class).hasMessageContaining("bootstrap or clone first");
        assertThat(await(empty.stop(StopMode.FAST, T))).as("stopping a stopped server succeeds").isNull();
    }

    @Test
    void the_builder_names_what_is_wrong_with_each_setting_by_its_patroni_key() {
        assertThatThrownBy(() -> PgController.builder().name("has space")).isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("name: ");
        assertThatThrownBy(() -> PgController.builder().port(0)).isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("postgresql.listen: the port");
        assertThatThrownBy(() -> PgController.builder().port(5432).port(5433)).isInstanceOf(ConfigurationException.class)
                .hasMessage("postgresql.listen: was already set");
        assertThatThrownBy(() -> PgController.builder().dataDirectory(Path.of("/tmp/a")).dataDirectory(Path.of("/tmp/b")))
                .isInstanceOf(ConfigurationException.class).hasMessage("postgresql.data_dir: was already set");
        assertThatThrownBy(() -> PgController.builder().parameter("port", "1")).hasMessageContaining("managed by pgha");
        assertThatThrownBy(() -> PgController.builder().superuser("postgres", ""))
                .hasMessage("postgresql.authentication.superuser: the password cannot be empty");
        assertThatThrownBy(() -> PgController.builder().superuser("Bad-Name", "x"))
                .hasMessageStartingWith("postgresql.authentication.superuser: the user name");
        assertThatThrownBy(() -> PgController.builder().connectTimeout(Duration.ZERO))
                .hasMessageStartingWith("postgresql.connect_timeout: must be positive");
        assertThatThrownBy(() -> PgController.builder().name("n").dataDirectory(Path.of("/tmp/x")).port(5432).build())
                .isInstanceOf(ConfigurationException.class).hasMessage("postgresql.authentication.superuser: is required");
        assertThatThrownBy(() -> sandbox.builder("wild").listenAddresses("*").build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("postgresql.connect_address: is required");
        assertThatThrownBy(() -> sandbox.builder("inside").workDirectory(sandbox.root().resolve("inside/work")).build())
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("must not be inside the data directory");
    }

    @Test
    void the_builder_refuses_passwords_in_messages_too() {
        String secret = "do-not-print-" + System.nanoTime();
        assertThatThrownBy(() -> PgController.builder().replicationUser("replicator", "a\n" + secret))
                .hasMessageNotContaining(secret);
    }

    private static Throwable failure(CompletionStage<?> stage) {
        try {
            await(stage);
        } catch (RuntimeException e) {
            return e;
        }
        throw new AssertionError("expected a failure");
    }

    private static int uidOf(String user) throws IOException {
        try {
            Process p = new ProcessBuilder("id", "-u", user).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            p.waitFor();
            return Integer.parseInt(out);
        } catch (InterruptedException e) {
            throw new IOException(e);
        }
    }
}
