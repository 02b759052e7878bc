package io.pgha.postgres;

import io.pgha.ConfigurationException;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The settings of {@link PgController.Builder} and their checks, kept out of the controller itself.
 * Each setter checks its argument at once and may be called only once ({@link #parameter} once per
 * name; {@link #bootstrapUser} once per user; {@link #listener} adds one more each time); a bad
 * value, a second call or a bad combination at {@link #build()} throws {@link ConfigurationException}
 * naming the setting by its Patroni key ({@code postgresql.data_dir}, {@code postgresql.listen},
 * {@code postgresql.authentication.replication}, ...; pgha's own settings as
 * {@code postgresql.<snake_case>}), and a {@code null} argument throws {@link NullPointerException}.
 * {@link #build()} also finds the PostgreSQL binaries and resolves the server's user, so a controller
 * that builds is ready to use. Sealed, with {@code PgController.Builder} as its only subclass: that is the
 * public name callers hold, and the public setters here are its methods.
 */
abstract sealed class ControllerBuilder permits PgController.Builder {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,63}");
    private static final Pattern ROLE = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
    private static final Pattern PARAM = Pattern.compile("[a-z_][a-z0-9_.]*");

    private String name;
    private Path dataDirectory;
    private Path workDirectory;
    private Path binDirectory;
    private String runAsUser;
    private String listenAddresses;
    private Integer port;
    private String connectHost;
    private String unixSocketDirectories;
    private PgUser superuser;
    private PgUser replicationUser;
    private PgUser rewindUser;
    private String encoding;
    private String locale;
    private Boolean dataChecksums;
    private List<String> hba;
    private List<String> bootstrapHba;
    private List<String> ident;
    private Path passFile;
    private Map<String, String> recoveryConf;
    private Boolean useUnixSocket;
    private List<ReplicaMethod> replicaMethods;
    private String scope;
    private BootstrapMethod bootstrapMethod;
    private List<String> postBootstrap;
    private final Map<String, String> parameters = new LinkedHashMap<>();
    private Boolean useReplicationSlots;
    private Boolean removeDataDirectoryOnRewindFailure;
    private Boolean syncDataFiles;
    private Duration connectTimeout;
    private Duration statementTimeout;
    private Duration operationTimeout;
    private Duration crashPollInterval;
    private final List<PgListener> listeners = new ArrayList<>();
    private final List<PgRole> bootstrapRoles = new ArrayList<>();
    private final Map<String, Map<String, String>> ssl = new LinkedHashMap<>();

    ControllerBuilder() {
    }

    /** Every setter returns the builder the caller holds: the one subclass this sealed class permits. */
    private PgController.Builder self() {
        return (PgController.Builder) this;
    }

    /** Role options Patroni's {@code bootstrap.users} accepts, as {@code CREATE ROLE} keywords. */
    private static final Set<String> ROLE_OPTIONS = Set.of("SUPERUSER", "NOSUPERUSER", "CREATEDB", "NOCREATEDB", "CREATEROLE",
            "NOCREATEROLE", "INHERIT", "NOINHERIT", "LOGIN", "NOLOGIN", "REPLICATION", "NOREPLICATION", "BYPASSRLS", "NOBYPASSRLS");

    /**
     * A role to create when a new cluster is bootstrapped (Patroni's {@code bootstrap.users}),
     * with options such as {@code createdb} or {@code createrole}; it can log in unless told
     * {@code nologin}.
     *
     * @throws ConfigurationException if already set for this user, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder bootstrapUser(String user, String password, List<String> options) {
        Objects.requireNonNull(user, "bootstrap.users");
        Objects.requireNonNull(options, "bootstrap.users");
        List<String> keywords = new ArrayList<>();
        for (String o : options) {
            String k = o.strip().toUpperCase(Locale.ROOT).replace("_", "");
            require(ROLE_OPTIONS.contains(k), "bootstrap.users", "'" + user + "': unknown role option '" + o + "'");
            keywords.add(k);
        }
        require(bootstrapRoles.stream().noneMatch(r -> r.user().name().equals(user)), "bootstrap.users", "'" + user + "' was already added");
        bootstrapRoles.add(new PgRole(user("bootstrap.users", user, password), keywords));
        return self();
    }

    /**
     * The member name (required): {@code application_name} on the upstream, the replication slot name, {@code cluster_name}.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder name(String name) {
        requireUnset(this.name, "name");
        Objects.requireNonNull(name, "name");
        require(NAME.matcher(name).matches(), "name", "must be 1 to 63 letters, digits, '_', '.' or '-', got '" + name + "'");
        this.name = name;
        return self();
    }

    /**
     * The data directory (required). It may be missing or empty before bootstrap or clone.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder dataDirectory(Path dir) {
        requireUnset(this.dataDirectory, "postgresql.data_dir");
        this.dataDirectory = Objects.requireNonNull(dir, "postgresql.data_dir").toAbsolutePath().normalize();
        require(this.dataDirectory.getParent() != null, "postgresql.data_dir", "cannot be the root directory");
        return self();
    }

    /**
     * Where pgha keeps its own files (the pass file, the server log), outside the data directory so
     * copies of the data never carry them. Default: a sibling folder {@code <data directory>.pgha}.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder workDirectory(Path dir) {
        requireUnset(this.workDirectory, "postgresql.work_dir");
        this.workDirectory = Objects.requireNonNull(dir, "postgresql.work_dir").toAbsolutePath().normalize();
        return self();
    }

    /**
     * The folder holding initdb, pg_ctl, ... Default: {@code pg_config --bindir}, else the newest {@code /usr/lib/postgresql/<major>/bin}.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder binDirectory(Path dir) {
        requireUnset(this.binDirectory, "postgresql.bin_dir");
        this.binDirectory = Objects.requireNonNull(dir, "postgresql.bin_dir").toAbsolutePath().normalize();
        return self();
    }

    /**
     * The OS user PostgreSQL runs as when the JVM runs as root (initdb and postgres refuse root).
     * Default: {@code postgres} when the JVM is root; ignored otherwise unless it names another user.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder runAsUser(String user) {
        requireUnset(this.runAsUser, "postgresql.run_as_user");
        Objects.requireNonNull(user, "postgresql.run_as_user");
        require(user.matches("[a-z_][a-z0-9_-]*[$]?"), "postgresql.run_as_user", "is not a valid user name: '" + user + "'");
        this.runAsUser = user;
        return self();
    }

    /**
     * {@code listen_addresses}; default {@code 127.0.0.1}.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder listenAddresses(String addresses) {
        requireUnset(this.listenAddresses, "postgresql.listen");
        Objects.requireNonNull(addresses, "postgresql.listen");
        require(!addresses.isBlank() && addresses.matches("[A-Za-z0-9.:*,\\- ]+"), "postgresql.listen",
                "must be a comma-separated list of hosts or '*', got '" + addresses + "'");
        this.listenAddresses = addresses.strip();
        return self();
    }

    /**
     * The server port (required).
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     */
    public PgController.Builder port(int port) {
        requireUnset(this.port, "postgresql.listen");
        require(port > 0 && port < 65536, "postgresql.listen", "the port must be within 1..65535, got " + port);
        this.port = port;
        return self();
    }

    /**
     * The host other members connect to, used in {@link PgController#connectionUrl()}. Default: the listen
     * address when it is a single address; required when listening on all addresses.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder connectHost(String host) {
        requireUnset(this.connectHost, "postgresql.connect_address");
        Objects.requireNonNull(host, "postgresql.connect_address");
        require(host.matches("[A-Za-z0-9.:\\-]+"), "postgresql.connect_address", "must be a host name or address, got '" + host + "'");
        this.connectHost = host;
        return self();
    }

    /**
     * {@code unix_socket_directories}; default empty: no Unix socket, pgha talks TCP.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder unixSocketDirectories(String dirs) {
        requireUnset(this.unixSocketDirectories, "postgresql.parameters.unix_socket_directories");
        Objects.requireNonNull(dirs, "postgresql.parameters.unix_socket_directories");
        require(dirs.indexOf('\n') < 0, "postgresql.parameters.unix_socket_directories", "cannot contain a line break");
        this.unixSocketDirectories = dirs;
        return self();
    }

    /**
     * Patroni's {@code use_unix_socket}: pgha reaches its own server over the Unix-domain socket (in
     * the first of {@link #unixSocketDirectories(String)}, else in the work directory) instead of
     * TCP, still with the superuser's password when it has one. Default off (TCP to
     * {@code postgresql.listen}); a superuser without a password always uses the socket.
     *
     * @throws ConfigurationException if already set
     */
    public PgController.Builder useUnixSocket(boolean on) {
        requireUnset(this.useUnixSocket, "postgresql.use_unix_socket");
        this.useUnixSocket = on;
        return self();
    }

    /**
     * The superuser initdb creates and pgha connects as (required).
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder superuser(String user, String password) {
        requireUnset(this.superuser, "postgresql.authentication.superuser");
        this.superuser = user("postgresql.authentication.superuser", user, password);
        return self();
    }

    /**
     * A superuser without a password, as Patroni runs when none is configured: the role is created
     * without one, and pgha reaches its own server over the Unix-domain socket (in the work
     * directory) with {@code peer} authentication, mapping the JVM's and the server's operating-system
     * users to this role in {@code pg_hba.conf} and {@code pg_ident.conf}. Nothing can log in as it
     * over TCP, so pg_rewind (which logs in to the leader) needs {@link #rewindUser(String, String)}.
     *
     * @throws ConfigurationException if already set, or the name is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder superuser(String user) {
        requireUnset(this.superuser, "postgresql.authentication.superuser");
        Objects.requireNonNull(user, "postgresql.authentication.superuser.username");
        require(ROLE.matcher(user).matches(), "postgresql.authentication.superuser",
                "the user name must be a lower-case identifier (letters, digits, '_'), got '" + user + "'");
        this.superuser = new PgUser(user, "");
        return self();
    }

    /**
     * The role standbys stream and clone with (required); created at bootstrap with REPLICATION.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder replicationUser(String user, String password) {
        requireUnset(this.replicationUser, "postgresql.authentication.replication");
        this.replicationUser = user("postgresql.authentication.replication", user, password);
        return self();
    }

    /**
     * One of libpq's TLS connection keys for the connections pgha makes as one of its roles: Patroni's
     * {@code postgresql.authentication.<role>.<key>}. {@code role} is {@code superuser} (pgha's own
     * connections to its server and to peers, the source check before pg_rewind when no rewind role is
     * set), {@code replication} (a standby's {@code primary_conninfo}, pg_basebackup) or {@code rewind}
     * (pg_rewind's source; without a rewind role pg_rewind logs in as the superuser with its keys).
     * {@code key} is one of {@code sslmode} ({@code disable}, {@code allow}, {@code prefer} (libpq's
     * default), {@code require}, {@code verify-ca}, {@code verify-full}), {@code sslrootcert} (a PEM
     * file of CA certificates, or {@code system}), {@code sslcert} and {@code sslkey} (the client's PEM
     * certificate and key: PKCS#8, encrypted PKCS#8, PKCS#1 RSA or SEC1 EC), {@code sslpassword} (the
     * key's passphrase, never written into a connection string or an argument), {@code sslcrl} (a PEM
     * file of revocation lists), {@code sslcrldir} (a directory of them) and {@code sslnegotiation}
     * ({@code postgres} or {@code direct}, PostgreSQL 17), {@code gssencmode} and {@code channel_binding}
     * ({@code disable}, {@code prefer} (libpq's default) or {@code require}; {@code channel_binding=require}
     * needs TLS and a SCRAM login, so it refuses a server that would take the password without binding it
     * to the TLS connection). Files must be readable here and, for
     * {@code primary_conninfo}, pg_basebackup and pg_rewind, by the server's user. Checked at once;
     * the combination ({@code sslcert} with {@code sslkey}, a root certificate for {@code verify-*})
     * at {@link #build()}.
     *
     * @throws ConfigurationException naming {@code postgresql.authentication.<role>.<key>}, for an
     *                                unknown role or key, a bad value, an unreadable file, or a second call
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder ssl(String role, String key, String value) {
        Objects.requireNonNull(role, "postgresql.authentication role");
        Objects.requireNonNull(key, "postgresql.authentication." + role + " key");
        String setting = "postgresql.authentication." + role;
        Objects.requireNonNull(value, setting + "." + key);
        require(List.of("superuser", "replication", "rewind").contains(role), setting,
                "expected superuser, replication or rewind");
        Map<String, String> keys = ssl.computeIfAbsent(role, r -> new LinkedHashMap<>());
        requireUnset(keys.get(key), setting + "." + key);
        keys.put(key, PgSsl.check(setting, key, value));
        return self();
    }

    /**
     * A non-superuser role for pg_rewind, created at bootstrap with the grants it needs. Default: pg_rewind uses the superuser.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder rewindUser(String user, String password) {
        requireUnset(this.rewindUser, "postgresql.authentication.rewind");
        this.rewindUser = user("postgresql.authentication.rewind", user, password);
        return self();
    }

    /**
     * initdb's {@code --encoding}; default UTF8.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder encoding(String encoding) {
        requireUnset(this.encoding, "bootstrap.initdb.encoding");
        Objects.requireNonNull(encoding, "bootstrap.initdb.encoding");
        require(encoding.matches("[A-Za-z0-9_-]+"), "bootstrap.initdb.encoding", "is not an encoding name: '" + encoding + "'");
        this.encoding = encoding;
        return self();
    }

    /**
     * initdb's {@code --locale}, e.g. {@code C.UTF-8}; default: the C locale.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder locale(String locale) {
        requireUnset(this.locale, "bootstrap.initdb.locale");
        Objects.requireNonNull(locale, "bootstrap.initdb.locale");
        require(locale.matches("[A-Za-z0-9_.@-]+"), "bootstrap.initdb.locale", "is not a locale name: '" + locale + "'");
        this.locale = locale;
        return self();
    }

    /**
     * initdb's {@code --data-checksums}; default off ({@code wal_log_hints} is on either way, for pg_rewind).
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     */
    public PgController.Builder dataChecksums(boolean on) {
        requireUnset(this.dataChecksums, "bootstrap.initdb.data-checksums");
        this.dataChecksums = on;
        return self();
    }

    /**
     * This member's own {@code pg_hba.conf} lines (Patroni's local {@code postgresql.pg_hba}): they
     * win over the cluster's dynamic {@code pg_hba}. Default: none of its own.
     *
     * @throws ConfigurationException if already set, empty, or a line is null or holds a line break
     * @throws NullPointerException   if the list is null
     */
    public PgController.Builder hba(List<String> lines) {
        requireUnset(this.hba, "postgresql.pg_hba");
        this.hba = lines("postgresql.pg_hba", lines);
        return self();
    }

    /**
     * The {@code pg_hba.conf} lines used until the cluster's dynamic configuration sets
     * {@code postgresql.pg_hba} (Patroni's {@code bootstrap.pg_hba}). Default: scram-sha-256 over TCP
     * for everyone, peer locally.
     *
     * @throws ConfigurationException if already set, empty, or a line is null or holds a line break
     * @throws NullPointerException   if the list is null
     */
    public PgController.Builder bootstrapHba(List<String> lines) {
        requireUnset(this.bootstrapHba, "bootstrap.pg_hba");
        this.bootstrapHba = lines("bootstrap.pg_hba", lines);
        return self();
    }

    /**
     * Where pgha writes the pass file that the server's replication connections and pg_rewind use
     * (Patroni's {@code postgresql.pgpass}). Default: {@code pgpass} in the work directory. Never
     * inside the data directory, so copies of the data carry no password.
     *
     * @throws ConfigurationException if already set
     * @throws NullPointerException   if the path is null
     */
    public PgController.Builder passFile(Path file) {
        requireUnset(this.passFile, "postgresql.pgpass");
        this.passFile = Objects.requireNonNull(file, "postgresql.pgpass").toAbsolutePath().normalize();
        return self();
    }

    /**
     * How a replica's data is created, tried in order until one succeeds (Patroni's
     * {@code create_replica_methods}); default pg_basebackup alone. A custom method that fails is
     * logged and the next one tried: end the list with {@link ReplicaMethod#basebackup()} to fall
     * back to a copy from the source.
     *
     * @throws ConfigurationException if already set, empty, or a method name repeats
     * @throws NullPointerException   if the list or an entry is null
     */
    public PgController.Builder replicaMethods(List<ReplicaMethod> methods) {
        requireUnset(this.replicaMethods, "postgresql.create_replica_methods");
        Objects.requireNonNull(methods, "postgresql.create_replica_methods");
        require(!methods.isEmpty(), "postgresql.create_replica_methods", "needs at least one method");
        require(methods.stream().map(ReplicaMethod::name).distinct().count() == methods.size(),
                "postgresql.create_replica_methods", "names a method twice");
        this.replicaMethods = List.copyOf(methods);
        return self();
    }

    /**
     * Makes a new cluster with this command instead of initdb (Patroni's {@code bootstrap.method}),
     * e.g. a restore from a backup.
     *
     * @throws ConfigurationException if already set
     * @throws NullPointerException   if null
     */
    public PgController.Builder bootstrapMethod(BootstrapMethod method) {
        requireUnset(this.bootstrapMethod, "bootstrap.method");
        this.bootstrapMethod = Objects.requireNonNull(method, "bootstrap.method");
        return self();
    }

    /**
     * Runs this command after a new cluster's first start, with the superuser's connection string as
     * its last argument (Patroni's {@code bootstrap.post_bootstrap}); its failure fails the bootstrap.
     *
     * @throws ConfigurationException if already set or empty
     * @throws NullPointerException   if null
     */
    public PgController.Builder postBootstrap(List<String> command) {
        requireUnset(this.postBootstrap, "bootstrap.post_bootstrap");
        Objects.requireNonNull(command, "bootstrap.post_bootstrap");
        require(!command.isEmpty(), "bootstrap.post_bootstrap", "must name a command");
        this.postBootstrap = List.copyOf(command);
        return self();
    }

    /**
     * The cluster's name (Patroni's {@code scope}), passed to custom replica methods as
     * {@code --scope}.
     *
     * @throws ConfigurationException if already set or blank
     * @throws NullPointerException   if null
     */
    public PgController.Builder scope(String scope) {
        requireUnset(this.scope, "scope");
        Objects.requireNonNull(scope, "scope");
        require(!scope.isBlank() && scope.indexOf('\n') < 0, "scope", "must be a non-blank single line");
        this.scope = scope;
        return self();
    }

    /**
     * This member's own recovery settings (Patroni's local {@code postgresql.recovery_conf}):
     * {@code restore_command}, {@code archive_cleanup_command}, {@code recovery_end_command},
     * {@code recovery_min_apply_delay}; each wins over the cluster's dynamic one.
     *
     * @throws ConfigurationException if already set, or a key is not one of those or a value holds a line break
     * @throws NullPointerException   if the map is null
     */
    public PgController.Builder recoveryConf(Map<String, String> settings) {
        requireUnset(this.recoveryConf, "postgresql.recovery_conf");
        Objects.requireNonNull(settings, "postgresql.recovery_conf");
        settings.forEach((k, v) -> {
            require(ManagedFiles.RECOVERY_SETTINGS.contains(k), "postgresql.recovery_conf." + k,
                    "not a recovery setting pgha takes (" + new java.util.TreeSet<>(ManagedFiles.RECOVERY_SETTINGS) + ")");
            require(v != null && v.indexOf('\n') < 0 && v.indexOf('\r') < 0, "postgresql.recovery_conf." + k,
                    "the value cannot be null or contain a line break");
        });
        this.recoveryConf = Map.copyOf(settings);
        return self();
    }

    /**
     * This member's own {@code pg_ident.conf} lines (Patroni's local {@code postgresql.pg_ident}):
     * they win over the cluster's dynamic {@code pg_ident}. Default: the file is left as it is unless
     * the cluster sets one.
     *
     * @throws ConfigurationException if already set, empty, or a line is null or holds a line break
     * @throws NullPointerException   if the list is null
     */
    public PgController.Builder ident(List<String> lines) {
        requireUnset(this.ident, "postgresql.pg_ident");
        this.ident = lines("postgresql.pg_ident", lines);
        return self();
    }

    private static List<String> lines(String setting, List<String> lines) {
        Objects.requireNonNull(lines, setting);
        require(!lines.isEmpty(), setting, "needs at least one line");
        for (String l : lines) {
            require(l != null && l.indexOf('\n') < 0 && l.indexOf('\r') < 0, setting, "lines cannot be null or contain line breaks");
        }
        return List.copyOf(lines);
    }

    /**
     * A server setting written to pgha's managed file after its defaults, so it wins (e.g.
     * {@code shared_buffers}, or a larger {@code wal_keep_size}). Settings pgha controls itself
     * (port, listen_addresses, primary_conninfo, synchronous_standby_names, ...) are refused.
     *
     * @throws ConfigurationException if already set for this name, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder parameter(String name, String value) {
        Objects.requireNonNull(name, "postgresql.parameters");
        Objects.requireNonNull(value, "postgresql.parameters");
        require(PARAM.matcher(name).matches(), "postgresql.parameters", "not a setting name: '" + name + "'");
        require(!ServerParameters.OWNED.contains(name), "postgresql.parameters", "'" + name + "' is managed by pgha; use the builder method for it");
        require(value.indexOf('\n') < 0 && value.indexOf('\r') < 0, "postgresql.parameters", "the value of '" + name + "' cannot contain line breaks");
        require(!parameters.containsKey(name), "postgresql.parameters", "parameter '" + name + "' was already set");
        parameters.put(name, value);
        return self();
    }

    /**
     * Stream through a physical slot named after the member, created on the upstream before following; default on.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     */
    public PgController.Builder useReplicationSlots(boolean on) {
        requireUnset(this.useReplicationSlots, "postgresql.use_slots");
        this.useReplicationSlots = on;
        return self();
    }

    /**
     * When pg_rewind fails, wipe the data directory and clone from the source instead (Patroni's option); default off.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     */
    public PgController.Builder removeDataDirectoryOnRewindFailure(boolean on) {
        requireUnset(this.removeDataDirectoryOnRewindFailure, "postgresql.remove_data_directory_on_rewind_failure");
        this.removeDataDirectoryOnRewindFailure = on;
        return self();
    }

    /**
     * Whether initdb, pg_basebackup and pg_rewind fsync the files they write; default on. Turn it
     * off only for throwaway clusters (tests): a machine crash can then corrupt the copy.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     */
    public PgController.Builder syncDataFiles(boolean on) {
        requireUnset(this.syncDataFiles, "postgresql.sync_data_files");
        this.syncDataFiles = on;
        return self();
    }

    /**
     * JDBC connect (and login) timeout; default 2 s.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder connectTimeout(Duration d) {
        requireUnset(this.connectTimeout, "postgresql.connect_timeout");
        this.connectTimeout = positive(d, "postgresql.connect_timeout");
        return self();
    }

    /**
     * {@code statement_timeout} of pgha's queries; default 5 s. observe() answers within connect + statement timeout + 2 s.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder statementTimeout(Duration d) {
        requireUnset(this.statementTimeout, "postgresql.statement_timeout");
        this.statementTimeout = positive(d, "postgresql.statement_timeout");
        return self();
    }

    /**
     * The bound for work with no timeout of its own (initdb, pg_basebackup, pg_rewind, CHECKPOINT); default 1 h.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder operationTimeout(Duration d) {
        requireUnset(this.operationTimeout, "postgresql.operation_timeout");
        this.operationTimeout = positive(d, "postgresql.operation_timeout");
        return self();
    }

    /**
     * How often the postmaster's pid is checked for an unexpected exit while the watch connection
     * is not up; default 250 ms. An exit is normally seen at once, without polling: pgha holds an
     * idle connection to its server whose backend exits with the postmaster. While that connection
     * is up the pid is checked only every 10 s (or this interval, if longer) as a fallback; while it
     * is not (the server is starting, shutting down or refuses the connection), at this interval.
     *
     * @throws ConfigurationException if already set, or the value is not allowed
     * @throws NullPointerException   if an argument is null
     */
    public PgController.Builder crashPollInterval(Duration d) {
        requireUnset(this.crashPollInterval, "postgresql.crash_poll_interval");
        this.crashPollInterval = positive(d, "postgresql.crash_poll_interval");
        require(d.toMillis() >= 10, "postgresql.crash_poll_interval", "must be at least 10 ms");
        return self();
    }

    /** Receives clone progress, postmaster exits, fence firings and promotions. */
    public PgController.Builder listener(PgListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return self();
    }

    /**
     * Checks the combination, locates the binaries and the server's user.
     *
     * @throws ConfigurationException   a required setting is missing or settings contradict each other
     * @throws BinaryNotFoundException   no usable PostgreSQL installation
     */
    public PgController build() {
        requireSet(name, "name");
        requireSet(dataDirectory, "postgresql.data_dir");
        requireSet(port, "postgresql.listen");
        requireSet(superuser, "postgresql.authentication.superuser");
        requireSet(replicationUser, "postgresql.authentication.replication");
        String listen = listenAddresses == null ? "127.0.0.1" : listenAddresses;
        boolean wildcard = List.of(listen.split(",")).stream().map(String::strip)
                .anyMatch(a -> a.equals("*") || a.equals("0.0.0.0") || a.equals("::"));
        if (connectHost == null && (wildcard || listen.contains(","))) {
            throw new ConfigurationException("postgresql.connect_address", "is required when postgresql.listen is '" + listen
                    + "': other members need one address to reach this server");
        }
        String connect = connectHost != null ? connectHost : listen;
        String local = wildcard || List.of(listen.split(",")).stream().map(String::strip)
                .anyMatch(a -> a.equals("127.0.0.1") || a.equals("localhost")) ? "127.0.0.1" : connect;
        superuser = withSsl(superuser, "superuser");
        replicationUser = withSsl(replicationUser, "replication");
        if (rewindUser != null) {
            rewindUser = withSsl(rewindUser, "rewind");
        } else if (ssl.containsKey("rewind")) {
            throw new ConfigurationException("postgresql.authentication.rewind", "has TLS keys but no rewind role: pg_rewind logs in"
                    + " as the superuser, with postgresql.authentication.superuser's keys");
        }
        checkSameRole(replicationUser, "postgresql.authentication.replication");
        if (rewindUser != null) {
            checkSameRole(rewindUser, "postgresql.authentication.rewind");
            if (rewindUser.name().equals(replicationUser.name()) && !rewindUser.password().equals(replicationUser.password())) {
                throw new ConfigurationException("postgresql.authentication.rewind", "rewind and replication are the same role '" + rewindUser.name()
                        + "' with different passwords");
            }
        }
        Path work = workDirectory != null ? workDirectory : dataDirectory.resolveSibling(dataDirectory.getFileName() + ".pgha");
        if (passFile != null && passFile.startsWith(dataDirectory)) {
            throw new ConfigurationException("postgresql.pgpass", passFile + " must not be inside the data directory: copies of"
                    + " the data would carry the passwords");
        }
        if (work.startsWith(dataDirectory)) {
            throw new ConfigurationException("postgresql.work_dir", work + " must not be inside the data directory: copies of the data would carry the pass file");
        }
        boolean overSocket = Boolean.TRUE.equals(useUnixSocket) || !superuser.hasPassword();
        String firstSocketDir = unixSocketDirectories == null ? "" : unixSocketDirectories.split(",")[0].strip();
        Optional<Path> socketDir = !overSocket ? Optional.empty()
                : Optional.of(Boolean.TRUE.equals(useUnixSocket) && !firstSocketDir.isEmpty() ? Path.of(firstSocketDir) : work);
        if (socketDir.isPresent()) {
            // sun_path holds 107 bytes and a NUL
            String socket = socketDir.get().resolve(".s.PGSQL." + port).toString();
            if (socket.getBytes(StandardCharsets.UTF_8).length > 107) {
                throw new ConfigurationException(socketDir.get().equals(work) ? "postgresql.work_dir" : "postgresql.parameters.unix_socket_directories",
                        "pgha reaches PostgreSQL over a Unix-domain socket in " + socketDir.get() + ", but " + socket
                        + " is longer than the 107 bytes a socket path may have: choose a shorter directory");
            }
        }
        Duration ct = connectTimeout != null ? connectTimeout : Duration.ofSeconds(2);
        Duration stt = statementTimeout != null ? statementTimeout : Duration.ofSeconds(5);

        int jvmUid = Proc.currentUid();
        Optional<String> runAs;
        OptionalInt uid = OptionalInt.empty();
        OptionalInt gid = OptionalInt.empty();
        String jvmUser = System.getProperty("user.name");
        if (jvmUid == 0) {
            String u = runAsUser != null ? runAsUser : "postgres";
            if (u.equals("root")) {
                throw new ConfigurationException("postgresql.run_as_user", "cannot be root: initdb and postgres refuse to run as root");
            }
            int[] ids = ids(u);
            runAs = Optional.of(u);
            uid = OptionalInt.of(ids[0]);
            gid = OptionalInt.of(ids[1]);
        } else {
            if (runAsUser != null && !runAsUser.equals(jvmUser)) {
                throw new ConfigurationException("postgresql.run_as_user", "'" + runAsUser + "' needs a JVM running as root (it runs as '" + jvmUser + "')");
            }
            runAs = Optional.empty();
        }
        Binaries bin = Binaries.locate(Optional.ofNullable(binDirectory));
        for (PgUser u : List.of(superuser, replicationUser, rewindUser == null ? superuser : rewindUser)) {
            if (u.ssl().get("sslnegotiation").filter("direct"::equals).isPresent() && bin.major() < 17) {
                throw new ConfigurationException(u.ssl().setting() + ".sslnegotiation", "direct needs PostgreSQL 17's libpq; "
                        + bin.dir() + " holds PostgreSQL " + bin.version());
            }
        }
        if (bin.major() > Binaries.MAX_TESTED_MAJOR) {
            LoggerFactory.getLogger(PgController.class).warn("PostgreSQL {} in {} is newer than pgha was tested with ({} to {})",
                    bin.version(), bin.dir(), Binaries.MIN_MAJOR, Binaries.MAX_TESTED_MAJOR);
        }
        PgConfig cfg = new PgConfig(name, dataDirectory, work, Optional.ofNullable(binDirectory), runAs, listen, port, connect, local,
                unixSocketDirectories != null ? unixSocketDirectories : "",
                superuser, replicationUser, Optional.ofNullable(rewindUser),
                encoding != null ? encoding : "UTF8", Optional.ofNullable(locale), Boolean.TRUE.equals(dataChecksums),
                bootstrapHba != null ? bootstrapHba : ManagedFiles.defaultHba(), parameters,
                useReplicationSlots == null || useReplicationSlots, Boolean.TRUE.equals(removeDataDirectoryOnRewindFailure),
                syncDataFiles == null || syncDataFiles,
                ct, stt, operationTimeout != null ? operationTimeout : Duration.ofHours(1),
                crashPollInterval != null ? crashPollInterval : Duration.ofMillis(250), bootstrapRoles, Optional.ofNullable(hba), Optional.ofNullable(ident), Optional.ofNullable(passFile), recoveryConf == null ? Map.of() : recoveryConf, replicaMethods == null ? List.of(ReplicaMethod.basebackup()) : replicaMethods, Optional.ofNullable(scope), Optional.ofNullable(bootstrapMethod), Optional.ofNullable(postBootstrap), jvmUser, socketDir);
        return new PgController(cfg, bin, uid, gid, listeners);
    }

    /** The member's own settings as set on this builder (for {@link PgController#reconfigure(PgController.Builder)}). */
    OwnSettings ownSettings() {
        return new OwnSettings(parameters, Optional.ofNullable(hba), Optional.ofNullable(ident), recoveryConf == null ? Map.of() : recoveryConf);
    }

    private void checkSameRole(PgUser u, String what) {
        if (u.name().equals(superuser.name()) && !superuser.hasPassword()) {
            throw new ConfigurationException(what, "is the superuser role '" + u.name() + "', which has no password here: pgha"
                    + " reaches it only over the local socket; choose another role");
        }
        if (u.name().equals(superuser.name()) && !u.password().equals(superuser.password())) {
            throw new ConfigurationException(what, "is the superuser role '" + u.name() + "' but with a different password");
        }
    }

    private static int[] ids(String user) {
        try {
            Process p = new ProcessBuilder("id", "-u", user).redirectErrorStream(true).start();
            String u = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            Process g = new ProcessBuilder("id", "-g", user).redirectErrorStream(true).start();
            String gg = new String(g.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor() != 0 || g.waitFor() != 0) {
                throw new ConfigurationException("postgresql.run_as_user", "'" + user + "' does not exist on this machine");
            }
            return new int[] {Integer.parseInt(u), Integer.parseInt(gg)};
        } catch (IOException | NumberFormatException e) {
            throw new ConfigurationException("postgresql.run_as_user", "cannot look up user '" + user + "': " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConfigurationException("postgresql.run_as_user", "interrupted while looking up user '" + user + "'");
        }
    }

    private PgUser withSsl(PgUser u, String role) {
        PgSsl s = new PgSsl("postgresql.authentication." + role, ssl.getOrDefault(role, Map.of()));
        s.checkCombination();
        return u.withSsl(s);
    }

    private static PgUser user(String what, String user, String password) {
        Objects.requireNonNull(user, what + ".username");
        Objects.requireNonNull(password, what + ".password");
        require(ROLE.matcher(user).matches(), what, "the user name must be a lower-case identifier (letters, digits, '_'), got '" + user + "'");
        require(!password.isEmpty(), what, "the password cannot be empty");
        require(password.indexOf('\n') < 0 && password.indexOf('\r') < 0 && password.indexOf('\0') < 0, what,
                "the password cannot contain line breaks or NUL");
        return new PgUser(user, password);
    }

    private static Duration positive(Duration d, String what) {
        Objects.requireNonNull(d, what);
        require(!d.isNegative() && !d.isZero(), what, "must be positive, got " + d);
        return d;
    }

    private static void require(boolean ok, String setting, String rule) {
        if (!ok) {
            throw new ConfigurationException(setting, rule);
        }
    }

    private static void requireUnset(Object current, String setting) {
        if (current != null) {
            throw new ConfigurationException(setting, "was already set");
        }
    }

    private static void requireSet(Object value, String setting) {
        if (value == null) {
            throw new ConfigurationException(setting, "is required");
        }
    }
}
