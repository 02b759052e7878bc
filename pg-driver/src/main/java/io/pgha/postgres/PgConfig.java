package io.pgha.postgres;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a {@link PgController} was built with, validated by {@link PgController.Builder#build()}.
 * Immutable; {@link #toString()} hides passwords (through {@link PgUser}).
 *
 * @param name              the member name: {@code application_name} on the upstream, the slot name, {@code cluster_name}
 * @param dataDirectory     absolute, normalized
 * @param workDirectory     pgha's own files outside the data directory (pass file, server log); absolute
 * @param runAsUser         run PostgreSQL programs as this user (the JVM is root); empty: as the JVM's user
 * @param listenAddresses   {@code listen_addresses}
 * @param port              {@code port}
 * @param connectHost       the host other members reach this server at ({@link PgController#connectionUrl()})
 * @param localHost         the host pgha itself connects to over TCP
 * @param parameters        extra server settings, in order, written after pgha's defaults (so they win)
 * @param hba               the lines of the managed {@code pg_hba.conf} until the cluster sets its own
 *                          (Patroni's {@code bootstrap.pg_hba}; pgha's default)
 * @param ownHba            the member's own {@code pg_hba.conf} lines, which win over the cluster's
 * @param ownIdent          the member's own {@code pg_ident.conf} lines, which win over the cluster's
 * @param ownRecovery       the member's own recovery settings (Patroni's local {@code recovery_conf}), which win
 * @param replicaMethods    how a replica's data is created, in order (default: pg_basebackup)
 * @param scope             the cluster's name, for the replica methods' {@code --scope}
 * @param bootstrapMethod   a command of the operator's instead of initdb (Patroni's {@code bootstrap.method})
 * @param postBootstrap     a command run after a new cluster's first start (Patroni's {@code post_bootstrap})
 * @param passFile          where the pass file goes (Patroni's {@code postgresql.pgpass}); default in the work directory
 * @param syncDataFiles     initdb, pg_basebackup and pg_rewind fsync what they write (off only for throwaway clusters)
 * @param operationTimeout  the bound for work without a timeout of its own (initdb, pg_basebackup, pg_rewind, CHECKPOINT)
 * @param jvmUser           the operating-system user the JVM runs as (peer authentication maps it to a password-less superuser)
 * @param localSocketDirectory where pgha reaches its own server over the Unix-domain socket (Patroni's
 *                          {@code use_unix_socket}, or a superuser without a password); empty: over TCP
 */
record PgConfig(
        String name,
        Path dataDirectory,
        Path workDirectory,
        Optional<Path> binDirectory,
        Optional<String> runAsUser,
        String listenAddresses,
        int port,
        String connectHost,
        String localHost,
        String unixSocketDirectories,
        PgUser superuser,
        PgUser replicationUser,
        Optional<PgUser> rewindUser,
        String encoding,
        Optional<String> locale,
        boolean dataChecksums,
        List<String> hba,
        Map<String, String> parameters,
        boolean useReplicationSlots,
        boolean removeDataDirectoryOnRewindFailure,
        boolean syncDataFiles,
        Duration connectTimeout,
        Duration statementTimeout,
        Duration operationTimeout,
        Duration crashPollInterval,
        List<PgRole> bootstrapRoles,
        Optional<List<String>> ownHba,
        Optional<List<String>> ownIdent,
        Optional<Path> passFile,
        Map<String, String> ownRecovery,
        List<ReplicaMethod> replicaMethods,
        Optional<String> scope,
        Optional<BootstrapMethod> bootstrapMethod,
        Optional<List<String>> postBootstrap,
        String jvmUser,
        Optional<Path> localSocketDirectory) {

    PgConfig {
        ownRecovery = Map.copyOf(ownRecovery);
        replicaMethods = List.copyOf(replicaMethods);
        ownHba = ownHba.map(List::copyOf);
        ownIdent = ownIdent.map(List::copyOf);
        hba = List.copyOf(hba);
        bootstrapRoles = List.copyOf(bootstrapRoles);
        parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    }

    /**
     * The socket file pgha reaches its own server at, when it does not use TCP: in the work
     * directory (which the server's user owns and copies of the data directory never carry) for a
     * superuser without a password, else in the first of {@code unix_socket_directories}.
     */
    Optional<Path> superuserSocket() {
        return localSocketDirectory.map(d -> d.resolve(".s.PGSQL." + port));
    }

    /** {@code unix_socket_directories} as written: the configured ones, plus the local socket's directory when it is not among them. */
    String serverSocketDirectories() {
        if (localSocketDirectory.isEmpty()) {
            return unixSocketDirectories;
        }
        String dir = localSocketDirectory.get().toString();
        if (java.util.Arrays.stream(unixSocketDirectories.split(",")).map(String::strip).anyMatch(dir::equals)) {
            return unixSocketDirectories;
        }
        return unixSocketDirectories.isBlank() ? dir : unixSocketDirectories + "," + dir;
    }

    /** The role pg_rewind connects as: the rewind user if one is configured, else the superuser. */
    PgUser rewindRole() {
        return rewindUser.orElse(superuser);
    }

    /** The replication slot this member uses on its upstream, named as Patroni names it. */
    String slotName() {
        return io.pgha.spi.SlotNames.forMember(name);
    }
}
