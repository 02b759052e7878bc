package io.pgha.postgres;

import static io.pgha.postgres.PgSandbox.await;
import static io.pgha.postgres.PgSandbox.upstream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.ConfigurationException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Patroni's {@code postgresql.pgpass}: where the pass file goes, and a standby streams with it. */
class PassFileTest {
    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(true);

    @Test
    void theConfiguredPassFileIsWrittenOwnerOnlyAndAStandbyStreamsWithIt() throws Exception {
        // beside the data directories: the server's user (postgres, when tests run as root) must reach it
        Path primaryPass = sandbox.root().resolve("primary.pgpass");
        Path standbyPass = sandbox.root().resolve("standby.pgpass");
        PgController primary = sandbox.controller("pp", b -> b.passFile(primaryPass));
        await(primary.bootstrap());
        PgController standby = sandbox.controller("ps", b -> b.passFile(standbyPass));
        await(standby.cloneFrom(upstream(primary)));
        await(standby.follow(Optional.of(upstream(primary)), PgSandbox.TIMEOUT));

        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> await(standby.observe()).streaming());
        assertThat(Files.readString(standbyPass)).contains("replicator");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(standbyPass))).isEqualTo("rw-------");
        assertThat(Files.exists(primaryPass)).isTrue();
    }

    @Test
    void aPassFileInsideTheDataDirectoryIsRefused() {
        assertThatThrownBy(() -> sandbox.builder("inpass").passFile(sandbox.root().resolve("inpass/pgpass")).build())
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("postgresql.pgpass:");
    }
}
