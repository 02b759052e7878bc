package io.pgha.postgres;

import static io.pgha.postgres.PgSandbox.await;
import static io.pgha.postgres.PgSandbox.upstream;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Patroni's {@code create_replica_methods} on real PostgreSQL: a custom method (a script that copies
 * a base backup taken earlier) creates the replica, called with Patroni's arguments; a failing one
 * falls back to pg_basebackup.
 */
class ReplicaMethodsTest {
    @RegisterExtension
    static final PgSandbox sandbox = new PgSandbox(true);

    private static Path script(String name, String body) throws Exception {
        Path p = sandbox.root().resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    private static void streams(PgController standby, PgController primary) {
        await(standby.follow(Optional.of(upstream(primary)), PgSandbox.TIMEOUT));
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> await(standby.observe()).streaming());
    }

    @Test
    void aCustomMethodCopiesAnEarlierBackupWithPatronisArgumentsAndTheReplicaStreams() throws Exception {
        PgController primary = sandbox.controller("cm-primary");
        await(primary.bootstrap());
        // the "backup taken earlier": a copy made while the primary runs, then stopped
        PgController backup = sandbox.controller("cm-backup");
        await(backup.cloneFrom(upstream(primary)));
        // it runs as the server's user: what it records goes into the data directory it fills
        Path restore = script("restore-backup.sh", """
                for a in "$@"; do case "$a" in --datadir=*) d="${a#--datadir=}";; esac; done
                cp -a %s/. "$d"/ && rm -f "$d"/postmaster.pid && echo "$@" > "$d"/restored-by-script
                """.formatted(backup.dataDirectory()));
        PgController standby = sandbox.controller("cm-standby", b -> b.scope("orders").replicaMethods(List.of(
                new ReplicaMethod("copy_backup", List.of(restore.toString()), Map.of("threshold", "10"), false, false),
                ReplicaMethod.basebackup())));

        await(standby.cloneFrom(upstream(primary)));

        assertThat(Files.readString(standby.dataDirectory().resolve("restored-by-script")).strip()).isEqualTo("--scope=orders --datadir=" + standby.dataDirectory()
                + " --role=replica --connstring=postgres://replicator@" + ConnUrl.parse(primary.connectionUrl()).hostPort()
                + "/postgres --threshold=10");
        streams(standby, primary);
    }

    @Test
    void aFailingMethodFallsBackToTheNextAndLeavesNothingBehind() throws Exception {
        PgController primary = sandbox.controller("fb-primary");
        await(primary.bootstrap());
        Path fails = script("fails.sh", """
                for a in "$@"; do case "$a" in --datadir=*) d="${a#--datadir=}";; esac; done
                touch "$d"/half-written; echo 'no backup found' >&2; exit 3
                """);
        PgController standby = sandbox.controller("fb-standby", b -> b.replicaMethods(List.of(
                new ReplicaMethod("wal_g", List.of(fails.toString()), Map.of(), false, false),
                ReplicaMethod.basebackup(Map.of("max-rate", "100M")))));

        await(standby.cloneFrom(upstream(primary)));

        assertThat(Files.exists(standby.dataDirectory().resolve("half-written"))).as("the failed method's leftovers").isFalse();
        streams(standby, primary);
    }

    @Test
    void aNoLeaderMethodCreatesAReplicaWithNoMemberRunningAndAnEmptyConnstring() throws Exception {
        PgController primary = sandbox.controller("nl-primary");
        await(primary.bootstrap());
        PgController backup = sandbox.controller("nl-backup");
        await(backup.cloneFrom(upstream(primary)));
        await(primary.stop(io.pgha.spi.StopMode.FAST, PgSandbox.TIMEOUT));
        Path restore = script("restore-no-leader.sh", """
                for a in "$@"; do case "$a" in --datadir=*) d="${a#--datadir=}";; esac; done
                cp -a %s/. "$d"/ && rm -f "$d"/postmaster.pid && echo "$@" > "$d"/restored-by-script
                """.formatted(backup.dataDirectory()));
        PgController restored = sandbox.controller("nl-restored", b -> b.scope("orders").replicaMethods(List.of(
                ReplicaMethod.basebackup(),
                new ReplicaMethod("from_backup_store", List.of(restore.toString()), Map.of(), false, false, true))));
        PgController plain = sandbox.controller("nl-plain");

        assertThat(restored.canCreateReplicaWithoutLeader()).isTrue();
        assertThat(plain.canCreateReplicaWithoutLeader()).as("pg_basebackup needs a running member").isFalse();

        await(restored.createReplicaWithoutLeader());
        await(restored.follow(Optional.empty(), PgSandbox.TIMEOUT));

        assertThat(Files.readString(restored.dataDirectory().resolve("restored-by-script")).strip())
                .isEqualTo("--scope=orders --datadir=" + restored.dataDirectory() + " --role=replica --connstring=");
        assertThat(await(restored.observe()).isRunningReplica()).isTrue();
    }
}
