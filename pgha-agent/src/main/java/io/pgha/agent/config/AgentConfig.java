package io.pgha.agent.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ConfigurationException;
import io.pgha.DynamicConfigCheck;
import io.pgha.MemberTags;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A node's configuration read from a YAML file in Patroni's format ({@code patroni.yml}): the keys
 * pgha supports are typed here, every key it does not support is listed by name in
 * {@link #unsupported()}, and a missing required key or a bad value fails with one
 * {@link ConfigurationException} naming the key, and where it was set ({@code file:line:column} or the
 * {@code PATRONI_*} variable) when it was.
 *
 * <p>In {@code restapi}, {@code ctl}, {@code postgresql.authentication} (and its {@code superuser},
 * {@code replication}, {@code rewind}) and the store sections ({@code etcd3}, {@code etcd}, {@code zookeeper},
 * {@code consul}) a key Patroni does not know fails ({@code "restapi.certfil: unknown key (did you mean
 * restapi.certfile?)"}): a misspelt security setting must not leave the node open. A key Patroni knows there and
 * pgha does not implement is listed in {@link #unsupported()}, with a warning in {@link #warnings()} where ignoring
 * it protects less than the file asks ({@code restapi.allowlist}, {@code sslmode}, {@code zookeeper.set_acls}).
 *
 * <p>{@code pghactl} reads the same file with {@link #parseForCtl} / {@link #readForCtl}, which need only the store
 * and the REST API client settings ({@link CtlConfig}).
 */
public record AgentConfig(String scope, String namespace, String name, Optional<RestApi> restapi, DcsConfig dcs,
                          Bootstrap bootstrap, Postgresql postgresql, MemberTags tags, List<String> unsupported,
                          List<String> warnings, Watchdog watchdog, LogSection log) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public AgentConfig {
        Objects.requireNonNull(scope);
        Objects.requireNonNull(name);
        Objects.requireNonNull(log);
        unsupported = List.copyOf(unsupported);
        warnings = List.copyOf(warnings);
    }

    /**
     * The {@code watchdog} section, Patroni's defaults when it is absent: mode {@code automatic}
     * ({@code off}, {@code automatic}, {@code required}), device {@code /dev/watchdog}, safety margin
     * 5 s ({@code -1}: half the ttl).
     */
    public record Watchdog(io.pgha.WatchdogMode mode, Path device, int safetyMargin) {
        public static final Watchdog DEFAULT = new Watchdog(io.pgha.WatchdogMode.AUTOMATIC, Path.of("/dev/watchdog"), 5);
    }

    /** The {@code restapi} section. */
    public record RestApi(HostPort listen, Optional<HostPort> connectAddress, Optional<String> username, Optional<Secret> password,
                          Optional<Path> certfile, Optional<Path> keyfile, Optional<Path> cafile, Optional<String> verifyClient,
                          List<String> allowlist, boolean allowlistIncludeMembers, Optional<Integer> threadPoolSize,
                          Optional<Secret> keyfilePassword) {
        public RestApi {
            allowlist = List.copyOf(allowlist);
        }
    }

    /**
     * {@code bootstrap.method} with its section ({@code bootstrap.<name>}): the command that makes a
     * new cluster instead of initdb, and how the restored copy first recovers ({@code recovery_conf},
     * {@code keep_existing_recovery_conf}).
     */
    public record BootstrapMethodConfig(String name, String command, boolean noParams, Map<String, String> recoveryConf,
                                        boolean keepExistingRecoveryConf) {
        public BootstrapMethodConfig {
            recoveryConf = Map.copyOf(recoveryConf);
        }
    }

    /** Where the store is: one of Patroni's DCS sections. */
    public sealed interface DcsConfig {
        /** {@code etcd3:} or {@code etcd:} (pgha speaks the v3 API to both). */
        record Etcd(List<String> endpoints, Optional<String> username, Optional<Secret> password, Optional<Path> cacert,
                    Optional<Path> cert, Optional<Path> key) implements DcsConfig {
        }

        /**
         * {@code zookeeper:}. With {@code use_ssl}, {@code cacert} (PEM) verifies the servers and
         * {@code cert} / {@code key} (PEM; the key PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted) are the client certificate; {@code verify: false}
         * turns off host name verification only.
         */
        /**
         * {@code zookeeper:}. {@code setAcls}: Patroni's {@code set_acls}, x509 principal to permissions
         * ({@code CREATE}, {@code READ}, {@code WRITE}, {@code DELETE}, {@code ADMIN}, {@code ALL});
         * {@code digestAuth}: the {@code digest} credentials of {@code auth_data} ({@code user:password}).
         */
        record ZooKeeper(List<String> hosts, boolean useSsl, Optional<Path> cacert, Optional<Path> cert, Optional<Path> key,
                         boolean verify, Map<String, List<String>> setAcls, Optional<Secret> digestAuth,
                         Optional<Secret> keyPassword) implements DcsConfig {
            public ZooKeeper {
                setAcls = Map.copyOf(setAcls);
            }

            public ZooKeeper(List<String> hosts, boolean useSsl, Optional<Path> cacert, Optional<Path> cert, Optional<Path> key,
                             boolean verify) {
                this(hosts, useSsl, cacert, cert, key, verify, Map.of(), Optional.empty(), Optional.empty());
            }
        }

        /** {@code consul:}. */
        record Consul(String url, Optional<Secret> token, String consistency, Optional<Path> cacert, Optional<Path> cert,
                      Optional<Path> key, boolean registerService) implements DcsConfig {
        }
    }

    /**
     * The {@code bootstrap} section.
     *
     * @param dcs    the initial dynamic configuration, written to the {@code config} key by the node that bootstraps
     * @param initdb initdb options as command-line flags ({@code --encoding=UTF8}, {@code --data-checksums})
     */
    public record Bootstrap(ObjectNode dcs, List<String> initdb, List<String> pgHba, Map<String, User> users,
                            Optional<BootstrapMethodConfig> method, Optional<String> postBootstrap) {
        public Bootstrap(ObjectNode dcs, List<String> initdb, List<String> pgHba, Map<String, User> users) {
            this(dcs, initdb, pgHba, users, Optional.empty(), Optional.empty());
        }

        public Bootstrap {
            initdb = List.copyOf(initdb);
            pgHba = List.copyOf(pgHba);
            users = Map.copyOf(users);
        }
    }

    /** A user created at bootstrap ({@code bootstrap.users}). */
    public record User(String name, Secret password, List<String> options) {
        public User {
            options = List.copyOf(options);
        }
    }

    /**
     * A login with its password, and the libpq TLS keys of its connections (Patroni's
     * {@code sslmode}, {@code sslrootcert}, {@code sslcert}, {@code sslkey}, {@code sslcrl},
     * {@code sslcrldir}, {@code sslnegotiation}, {@code gssencmode}, {@code channel_binding}; {@code sslpassword}
     * apart, as a secret).
     */
    public record Credentials(String username, Optional<Secret> password, Map<String, String> ssl, Optional<Secret> sslPassword) {
        public Credentials {
            ssl = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(ssl));
        }

        public Credentials(String username, Optional<Secret> password) {
            this(username, password, Map.of(), Optional.empty());
        }
    }

    /**
     * What {@code pghactl} needs from a {@code patroni.yml} ({@link #parseForCtl}, {@link #readForCtl}): which
     * cluster, where its store is, and how to call the members' REST APIs. Nothing about a node ({@code name},
     * {@code postgresql}, {@code bootstrap}, {@code tags}) is needed or checked.
     *
     * @param scope     {@code scope}, the cluster; empty when the file names none (the CLI then needs the cluster
     *                  as an argument)
     * @param namespace {@code namespace} (default {@code /service}), the store's key prefix, starting with {@code /}
     * @param dcs       the one store section: {@code etcd3}, {@code etcd}, {@code zookeeper} or {@code consul}
     * @param restTls   how to check the members' REST APIs over https, and the client certificate to present
     * @param restAuth  the basic-auth login for unsafe REST requests (POST, PUT, PATCH, DELETE), if the file has one
     * @param warnings  things to tell the user, one line each (a store found under {@code bootstrap.dcs}, a client
     *                  certificate the REST APIs ask for and the file lacks)
     */
    public record CtlConfig(Optional<String> scope, String namespace, DcsConfig dcs, RestTls restTls,
                            Optional<BasicAuth> restAuth, List<String> warnings) {
        public CtlConfig {
            Objects.requireNonNull(scope);
            Objects.requireNonNull(namespace);
            Objects.requireNonNull(dcs);
            Objects.requireNonNull(restTls);
            Objects.requireNonNull(restAuth);
            warnings = List.copyOf(warnings);
        }

        /**
         * TLS towards the members' REST APIs ({@code https} member URLs), from the {@code ctl} section.
         *
         * @param insecure        {@code ctl.insecure} (default false): do not verify the REST APIs' certificates.
         *                        Patroni, when {@code certfile} is also set, still verifies the chain and skips only
         *                        the host name check
         * @param cacert          the CA certificates (PEM) that verify the REST APIs: {@code ctl.cacert}, else
         *                        {@code restapi.cafile} as in Patroni; empty: the JVM's default trust store
         * @param certfile        {@code ctl.certfile}: the client certificate (PEM) to present, for REST APIs with
         *                        {@code restapi.verify_client}
         * @param keyfile         {@code ctl.keyfile}: its private key (PEM); empty: the key is in {@code certfile}
         * @param keyfilePassword {@code ctl.keyfile_password}: the password of an encrypted {@code keyfile}
         */
        public record RestTls(boolean insecure, Optional<Path> cacert, Optional<Path> certfile, Optional<Path> keyfile,
                              Optional<Secret> keyfilePassword) {
            /** Verify against the JVM's trust store, no client certificate. */
            public static final RestTls DEFAULT = new RestTls(false, Optional.empty(), Optional.empty(), Optional.empty(),
                    Optional.empty());
        }

        /**
         * A basic-auth login for the REST APIs: {@code ctl.authentication}, else {@code restapi.authentication} (as
         * in Patroni; each also accepted in the older spelling {@code auth: 'username:password'}).
         */
        public record BasicAuth(String username, Secret password) {
            public BasicAuth {
                Objects.requireNonNull(username);
                Objects.requireNonNull(password);
            }
        }
    }

    /** The {@code postgresql} section. */
    public record Postgresql(HostPort listen, HostPort connectAddress, Path dataDir, Optional<Path> binDir,
                             Optional<Credentials> superuser, Credentials replication, Optional<Credentials> rewind,
                             Map<String, String> parameters, Optional<Path> pgpass, List<String> pgHba,
                             boolean removeDataDirectoryOnRewindFailure, List<String> pgIdent, Map<String, String> recoveryConf,
                             Map<String, String> callbacks, List<ReplicaMethodConfig> createReplicaMethods,
                             boolean useUnixSocket) {
        public Postgresql {
            parameters = Map.copyOf(parameters);
            pgHba = List.copyOf(pgHba);
            pgIdent = List.copyOf(pgIdent);
            recoveryConf = Map.copyOf(recoveryConf);
            callbacks = Map.copyOf(callbacks);
            createReplicaMethods = List.copyOf(createReplicaMethods);
        }
    }

    /**
     * One of {@code postgresql.create_replica_methods} with its section ({@code postgresql.<name>}):
     * {@code command}, {@code keep_data}, {@code no_params}, {@code no_leader} (or its older name {@code no_master}),
 * and the rest as the method's options
     * (for {@code basebackup}, pg_basebackup's long options).
     */
    public record ReplicaMethodConfig(String name, Optional<String> command, boolean keepData, boolean noParams, boolean noLeader,
                                      Map<String, String> options) {
        public ReplicaMethodConfig {
            options = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(options));
        }
    }

    public static AgentConfig read(Path file) {
        return read(file, System.getenv());
    }

    /** Reads the file, then applies Patroni's environment overrides ({@code PATRONI_NAME}, ...) from {@code env}. */
    public static AgentConfig read(Path file, Map<String, String> env) {
        return parse(text(file), file.toString(), env);
    }

    /**
     * Reads the file for {@code pghactl}, then applies Patroni's environment overrides ({@code PATRONI_SCOPE},
     * {@code PATRONI_CTL_INSECURE}, {@code PATRONI_ETCD3_HOSTS}, ...) from {@code env}.
     *
     * @throws ConfigurationException if the file cannot be read or its content is refused, see {@link #parseForCtl}
     */
    public static CtlConfig readForCtl(Path file, Map<String, String> env) {
        return parseForCtl(text(file), file.toString(), env);
    }

    /** {@link #parseForCtl(String, String, Map)} without environment overrides. */
    public static CtlConfig parseForCtl(String yaml, String source) {
        return parseForCtl(yaml, source, Map.of());
    }

    /**
     * Reads what {@code pghactl} needs from a {@code patroni.yml}: {@code scope} (optional), {@code namespace}, the
     * one store section, {@code ctl}, and from {@code restapi} its login and {@code cafile}. Other sections are not
     * looked at, so a file with only a store section is enough.
     *
     * @param source names the document in messages (the file's path)
     * @throws ConfigurationException naming the key (and {@code file:line:column}) when the YAML is malformed, no
     *                                or more than one store is configured, a key is unknown in {@code ctl},
     *                                {@code restapi} or the store section, or a value is bad ({@code ctl.keyfile}
     *                                without {@code ctl.certfile}, an {@code authentication} without a password)
     */
    public static CtlConfig parseForCtl(String yaml, String source, Map<String, String> env) {
        YamlDocument doc = YamlDocument.parse(yaml, source).applyEnvironment(env);
        try {
            return new Parser(new YamlNode("", doc.root())).parseForCtl();
        } catch (ConfigurationException e) {
            throw doc.located(e);
        }
    }

    private static String text(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigurationException("config", file + " does not exist");
        } catch (IOException e) {
            throw new ConfigurationException("config", "cannot read " + file + ": " + e.getMessage());
        }
    }

    public static AgentConfig parse(String yaml, String source) {
        return parse(yaml, source, Map.of());
    }

    /**
     * Parses a document and applies the environment overrides in {@code env}.
     *
     * @throws ConfigurationException naming the key, and where it was set, for malformed YAML
     *                                ({@code config: patroni.yml:3:7: not valid YAML: ...}), a missing required key,
     *                                a value of the wrong type or out of range, or a key Patroni does not know in a
     *                                section pgha checks strictly
     */
    public static AgentConfig parse(String yaml, String source, Map<String, String> env) {
        YamlDocument doc = YamlDocument.parse(yaml, source).applyEnvironment(env);
        try {
            return new Parser(new YamlNode("", doc.root())).parse();
        } catch (ConfigurationException e) {
            throw doc.located(e);
        }
    }

    private static final class Parser {
        private final YamlNode root;
        private final List<String> warnings = new ArrayList<>();
        /** Nodes outside the root's tree (a store under bootstrap.dcs) whose unread keys are unsupported too. */
        private final List<YamlNode> detached = new ArrayList<>();
        private Map<String, Object> bootstrapDcs = Map.of();

        Parser(YamlNode root) {
            this.root = root;
        }

        AgentConfig parse() {
            String scope = root.string("scope");
            String name = root.string("name");
            String namespace = namespace();
            Optional<RestApi> restapi = root.optObject("restapi").map(this::restapi);
            root.optObject("ctl").ifPresent(this::ctlForAgent);
            Bootstrap bootstrap = root.optObject("bootstrap").map(this::bootstrap)
                    .orElse(new Bootstrap(JSON.createObjectNode(), List.of(), List.of(), Map.of()));
            DcsConfig dcs = dcs(root).or(() -> legacyDcsInBootstrap(bootstrap)).orElseThrow(Parser::noStore);
            Postgresql pg = postgresql(root.optObject("postgresql")
                    .orElseThrow(() -> new ConfigurationException("postgresql", "is required")), bootstrap);
            MemberTags tags = root.optObject("tags").map(this::tags).orElse(MemberTags.DEFAULT);
            Watchdog watchdog = root.optObject("watchdog").map(this::watchdog).orElse(Watchdog.DEFAULT);
            LogSection log = root.optObject("log").map(this::log).orElse(LogSection.DEFAULT);
            for (String known : List.of("citus", "kubernetes", "raft", "exhibitor")) {
                root.touch(known);
                if (root.has(known)) {
                    warnings.add(known + ": not supported by pgha, ignored");
                }
            }
            Set<String> unsupported = new LinkedHashSet<>(root.unread());
            detached.forEach(n -> unsupported.addAll(n.unread()));
            for (String w : warnings) {
                if (w.endsWith("not supported by pgha, ignored")) {
                    unsupported.add(w.substring(0, w.indexOf(':')));
                }
            }
            for (String key : unsupported) {
                PatroniKeys.consequenceOfIgnoring(key).ifPresent(c -> warnings.add(key + ": not supported by pgha, ignored: " + c));
            }
            return new AgentConfig(scope, namespace, name, restapi, dcs, bootstrap, pg, tags, List.copyOf(unsupported), warnings,
                    watchdog, log);
        }

        CtlConfig parseForCtl() {
            Optional<String> scope = root.optString("scope").filter(s -> !s.isBlank());
            String namespace = namespace();
            Optional<YamlNode> restapi = root.optObject("restapi");
            restapi.ifPresent(r -> r.requireKnownKeys(PatroniKeys.RESTAPI));
            Optional<CtlConfig.BasicAuth> restLogin = restapi.flatMap(this::login);
            Optional<String> verifyClient = restapi.flatMap(this::verifyClient);
            Optional<YamlNode> ctl = root.optObject("ctl");
            ctl.ifPresent(c -> c.requireKnownKeys(PatroniKeys.CTL));
            CtlConfig.RestTls tls = restTls(ctl, restapi);
            Optional<CtlConfig.BasicAuth> ctlLogin = ctl.flatMap(this::login);
            DcsConfig dcs = dcs(root)
                    .or(() -> root.optObject("bootstrap").flatMap(b -> b.optObject("dcs")).flatMap(d -> legacyStore(d.rawMap())))
                    .orElseThrow(Parser::noStore);
            verifyClient.filter(v -> !v.equals("none") && tls.certfile().isEmpty()).ifPresent(v -> warnings.add(
                    "restapi.verify_client: is " + v + ", so the REST APIs want a client certificate"
                            + (v.equals("optional") ? " for unsafe requests" : "") + "; set ctl.certfile (and ctl.keyfile)"));
            // pghactl writes to the store too: what ignoring a store key leaves open concerns it as well
            List<String> ignored = new ArrayList<>(root.unread());
            detached.forEach(n -> ignored.addAll(n.unread()));
            for (String key : ignored) {
                if (PatroniKeys.STORES.stream().anyMatch(s -> key.startsWith(s + ".") || key.startsWith("bootstrap.dcs." + s + "."))) {
                    PatroniKeys.consequenceOfIgnoring(key).ifPresent(c -> warnings.add(key + ": not supported by pgha, ignored: " + c));
                }
            }
            return new CtlConfig(scope, namespace, dcs, tls, ctlLogin.or(() -> restLogin), warnings);
        }

        private static ConfigurationException noStore() {
            return new ConfigurationException("etcd3", "no store configured: add an etcd3 (or etcd, zookeeper, consul) section");
        }

        private String namespace() {
            String namespace = root.optString("namespace").filter(s -> !s.isBlank()).orElse("/service");
            return namespace.startsWith("/") ? namespace : "/" + namespace;
        }

        private RestApi restapi(YamlNode n) {
            n.requireKnownKeys(PatroniKeys.RESTAPI);
            HostPort listen = HostPort.parse(n.key("listen"), n.string("listen"), 8008);
            Optional<HostPort> connect = n.optString("connect_address").map(v -> HostPort.parse(n.key("connect_address"), v, listen.port()));
            Optional<CtlConfig.BasicAuth> login = login(n);
            Optional<String> verify = verifyClient(n);
            Optional<Path> cert = n.optString("certfile").map(Path::of);
            Optional<Path> key = n.optString("keyfile").map(Path::of);
            if (key.isPresent() && cert.isEmpty()) {
                throw new ConfigurationException(n.key("keyfile"), "needs restapi.certfile too");
            }
            Optional<Secret> keyPassword = n.optSecret("keyfile_password").filter(p -> !p.isEmpty());
            if (keyPassword.isPresent() && cert.isEmpty()) {
                throw new ConfigurationException(n.key("keyfile_password"), "needs restapi.certfile too");
            }
            List<String> allowlist = n.stringList("allowlist");
            boolean includeMembers = n.optBool("allowlist_include_members").orElse(false);
            Optional<Integer> threads = n.optString("thread_pool_size").map(v -> {
                try {
                    return Integer.parseInt(v.trim());
                } catch (NumberFormatException e) {
                    throw new ConfigurationException(n.key("thread_pool_size"), "expected a whole number, got '" + v + "'");
                }
            });
            return new RestApi(listen, connect, login.map(CtlConfig.BasicAuth::username), login.map(CtlConfig.BasicAuth::password),
                    cert, key, n.optString("cafile").map(Path::of), verify, allowlist, includeMembers, threads, keyPassword);
        }

        private Optional<String> verifyClient(YamlNode restapi) {
            Optional<String> verify = restapi.optString("verify_client");
            verify.ifPresent(v -> {
                if (!List.of("none", "optional", "required").contains(v)) {
                    throw new ConfigurationException(restapi.key("verify_client"), "must be none, optional or required, got '" + v + "'");
                }
            });
            return verify;
        }

        /**
         * The basic-auth login of {@code restapi} or {@code ctl}: {@code authentication: {username, password}}, or
         * the older {@code auth: 'username:password'} that Patroni still reads; {@code authentication} wins.
         */
        private Optional<CtlConfig.BasicAuth> login(YamlNode section) {
            Optional<YamlNode> auth = section.optObject("authentication");
            Optional<String> legacy = section.optString("auth");
            if (auth.isPresent()) {
                YamlNode a = auth.get();
                a.requireKnownKeys(PatroniKeys.LOGIN);
                Optional<String> user = a.optString("username").filter(u -> !u.isBlank());
                Optional<Secret> password = a.optSecret("password");
                if (user.isEmpty() || password.isEmpty()) {
                    throw new ConfigurationException(section.key("authentication"), "needs both username and password");
                }
                legacy.ifPresent(x -> warnings.add(section.key("auth") + ": ignored, " + section.key("authentication") + " is set"));
                return Optional.of(new CtlConfig.BasicAuth(user.get(), password.get()));
            }
            if (legacy.isPresent()) {
                int colon = legacy.get().indexOf(':');
                if (colon <= 0) {
                    // never echo the value: it holds a password
                    throw new ConfigurationException(section.key("auth"), "expected 'username:password' (or use "
                            + section.key("authentication") + " with username and password)");
                }
                return Optional.of(new CtlConfig.BasicAuth(legacy.get().substring(0, colon), new Secret(legacy.get().substring(colon + 1))));
            }
            return Optional.empty();
        }

        /** The {@code ctl} section: TLS towards the REST APIs, falling back to {@code restapi.cafile} for the CA. */
        private CtlConfig.RestTls restTls(Optional<YamlNode> ctl, Optional<YamlNode> restapi) {
            boolean insecure = ctl.flatMap(c -> c.optBool("insecure")).orElse(false);
            Optional<Path> cacert = ctl.flatMap(c -> c.optPath("cacert"));
            Optional<Path> certfile = ctl.flatMap(c -> c.optPath("certfile"));
            Optional<Path> keyfile = ctl.flatMap(c -> c.optPath("keyfile"));
            Optional<Secret> keyfilePassword = ctl.flatMap(c -> c.optSecret("keyfile_password")).filter(p -> !p.isEmpty());
            if (keyfile.isPresent() && certfile.isEmpty()) {
                throw new ConfigurationException("ctl.keyfile", "needs ctl.certfile too (the client certificate this key belongs to)");
            }
            if (keyfilePassword.isPresent() && certfile.isEmpty()) {
                throw new ConfigurationException("ctl.keyfile_password", "needs ctl.certfile too (Patroni uses the key only with a client certificate)");
            }
            Optional<Path> ca = cacert.or(() -> restapi.flatMap(r -> r.optPath("cafile")));
            return new CtlConfig.RestTls(insecure, ca, certfile, keyfile, keyfilePassword);
        }

        /** The agent does not use {@code ctl} (pghactl does), but a file it starts from has a valid one. */
        private void ctlForAgent(YamlNode ctl) {
            ctl.requireKnownKeys(PatroniKeys.CTL);
            CtlConfig.RestTls tls = restTls(Optional.of(ctl), Optional.empty());
            login(ctl);
            if (tls.certfile().isPresent()) {
                warnings.add("ctl.certfile: used by pghactl only; the agent calls its peers' REST APIs without a client "
                        + "certificate (Patroni presents this one)");
            }
        }

        private Optional<DcsConfig> dcs(YamlNode n) {
            List<DcsConfig> found = new ArrayList<>();
            for (String section : PatroniKeys.STORES) {
                n.optObject(section).ifPresent(s -> {
                    s.requireKnownKeys(PatroniKeys.store(section));
                    found.add(switch (section) {
                        case "zookeeper" -> zookeeper(s);
                        case "consul" -> consul(s);
                        default -> etcd(s);
                    });
                });
            }
            if (found.size() > 1) {
                throw new ConfigurationException("etcd3", "more than one store is configured; keep exactly one of etcd3, etcd, zookeeper, consul");
            }
            return found.stream().findFirst();
        }

        private DcsConfig etcd(YamlNode e) {
            String protocol = e.optString("protocol").orElse("http");
            if (!protocol.equals("http") && !protocol.equals("https")) {
                throw new ConfigurationException(e.key("protocol"), "must be http or https, got '" + protocol + "'");
            }
            List<String> hosts = new ArrayList<>(e.stringList("hosts"));
            e.optString("host").ifPresent(hosts::add);
            e.optString("url").ifPresent(hosts::add);
            if (hosts.isEmpty()) {
                for (String other : List.of("srv", "proxy")) {
                    if (e.has(other)) {
                        throw new ConfigurationException(e.key(other), "not supported by pgha; list the etcd endpoints in " + e.key("hosts"));
                    }
                }
                throw new ConfigurationException(e.key("hosts"), "is required (or host, url)");
            }
            List<String> endpoints = new ArrayList<>();
            for (String h : hosts) {
                String url;
                if (h.contains("://")) {
                    url = h;
                } else {
                    HostPort hp = HostPort.parse(e.key("hosts"), h, 2379);
                    url = protocol + "://" + hp.host() + ":" + hp.port();
                }
                if (endpoints.contains(url)) {
                    warnings.add(e.key("hosts") + ": " + url + " is listed more than once; using it once");
                } else {
                    endpoints.add(url);
                }
            }
            Optional<String> user = e.optString("username");
            Optional<Secret> pw = e.optSecret("password");
            if (user.isPresent() != pw.isPresent()) {
                throw new ConfigurationException(e.key("username"), "needs both username and password");
            }
            return new DcsConfig.Etcd(endpoints, user, pw, e.optString("cacert").map(Path::of), e.optString("cert").map(Path::of),
                    e.optString("key").map(Path::of));
        }

        private DcsConfig zookeeper(YamlNode z) {
            List<String> hosts = z.stringList("hosts");
            if (hosts.isEmpty()) {
                throw new ConfigurationException(z.key("hosts"), "is required");
            }
            boolean ssl = z.optBool("use_ssl").orElse(false);
            Optional<Path> cacert = z.optString("cacert").map(Path::of);
            Optional<Path> cert = z.optString("cert").map(Path::of);
            Optional<Path> key = z.optString("key").map(Path::of);
            boolean verify = z.optBool("verify").orElse(true);
            Optional<Secret> keyPassword = z.optSecret("key_password").filter(p -> !p.isEmpty());
            if (keyPassword.isPresent() && key.isEmpty()) {
                throw new ConfigurationException(z.key("key_password"), "needs zookeeper.cert and zookeeper.key (it is the key's passphrase)");
            }
            if (!ssl && (cacert.isPresent() || cert.isPresent() || key.isPresent())) {
                throw new ConfigurationException(z.key("use_ssl"), "must be true when cacert, cert or key is set");
            }
            if (ssl && cacert.isEmpty()) {
                throw new ConfigurationException(z.key("cacert"), "is required with use_ssl (the CA that signed the servers' certificates)");
            }
            if (cert.isPresent() != key.isPresent()) {
                throw new ConfigurationException(z.key(cert.isPresent() ? "key" : "cert"), "cert and key go together");
            }
            Map<String, List<String>> acls = new LinkedHashMap<>();
            z.optObject("set_acls").ifPresent(a -> a.rawMap().keySet().forEach(principal -> {
                a.touch(principal);
                List<String> perms = a.stringList(principal).stream().map(x -> x.toUpperCase(java.util.Locale.ROOT)).toList();
                for (String perm : perms) {
                    if (!List.of("CREATE", "READ", "WRITE", "DELETE", "ADMIN", "ALL").contains(perm)) {
                        throw new ConfigurationException(a.key(principal), "unknown permission '" + perm
                                + "' (CREATE, READ, WRITE, DELETE, ADMIN or ALL)");
                    }
                }
                acls.put(principal, perms);
            }));
            Optional<Secret> digest = Optional.empty();
            Optional<YamlNode> auth = z.optObject("auth_data");
            if (auth.isPresent()) {
                for (String scheme : auth.get().rawMap().keySet()) {
                    if (!scheme.equals("digest")) {
                        throw new ConfigurationException(auth.get().key(scheme), "only the digest scheme is supported by pgha"
                                + " (x509 comes from use_ssl with cert and key)");
                    }
                }
                digest = auth.get().optSecret("digest");
                digest.ifPresent(d -> {
                    if (d.revealString().indexOf(':') <= 0) {
                        throw new ConfigurationException(auth.get().key("digest"), "must be user:password");
                    }
                });
            }
            return new DcsConfig.ZooKeeper(hosts, ssl, cacert, cert, key, verify, acls, digest, keyPassword);
        }

        private DcsConfig consul(YamlNode c) {
            String scheme = c.optString("scheme").orElse("http");
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new ConfigurationException(c.key("scheme"), "must be http or https, got '" + scheme + "'");
            }
            Optional<Long> port = c.optLong("port");
            port.ifPresent(p -> {
                if (p <= 0 || p > 65535) {
                    throw new ConfigurationException(c.key("port"), "must be between 1 and 65535, got " + p);
                }
            });
            Optional<String> explicitUrl = c.optString("url");
            if (explicitUrl.isPresent() && port.isPresent()) {
                warnings.add(c.key("port") + ": ignored, " + c.key("url") + " gives the port");
            }
            String url = explicitUrl.orElseGet(() -> {
                HostPort hp = HostPort.parse(c.key("host"), c.optString("host").orElse("127.0.0.1:8500"), 8500);
                // Patroni: an explicit port wins over the one in host
                return scheme + "://" + hp.host() + ":" + port.map(Long::intValue).orElse(hp.port());
            });
            String consistency = c.optString("consistency").orElse("default");
            if (!List.of("default", "consistent", "stale").contains(consistency)) {
                throw new ConfigurationException(c.key("consistency"), "must be default, consistent or stale, got '" + consistency + "'");
            }
            return new DcsConfig.Consul(url, c.optSecret("token"), consistency, c.optString("cacert").map(Path::of),
                    c.optString("cert").map(Path::of), c.optString("key").map(Path::of), c.optBool("register_service").orElse(false));
        }

        /** The seed's patroni.yml puts etcd under bootstrap.dcs; Patroni would not find it there, pgha accepts it with a warning. */
        private Optional<DcsConfig> legacyDcsInBootstrap(Bootstrap b) {
            Optional<DcsConfig> d = legacyStore(bootstrapDcs);
            PatroniKeys.STORES.forEach(b.dcs()::remove);
            return d;
        }

        /** The first store section in {@code bootstrap.dcs}, checked like one at the top level. */
        private Optional<DcsConfig> legacyStore(Map<String, Object> dcs) {
            for (String section : PatroniKeys.STORES) {
                if (dcs.get(section) instanceof Map<?, ?> m) {
                    YamlNode wrapper = new YamlNode("bootstrap.dcs", Map.of(section, m));
                    Optional<DcsConfig> d = dcs(wrapper);
                    detached.add(wrapper);
                    warnings.add("bootstrap.dcs." + section + ": the store belongs at the top level of the file (Patroni reads it there); using it");
                    return d;
                }
            }
            return Optional.empty();
        }

        private Bootstrap bootstrap(YamlNode b) {
            ObjectNode dcs = b.optObject("dcs").map(d -> {
                d.rawMap().keySet().forEach(d::touch);
                bootstrapDcs = d.rawMap();
                return (ObjectNode) JSON.valueToTree(d.rawMap());
            }).orElse(JSON.createObjectNode());
            validateDynamic(dcs);
            List<String> initdb = new ArrayList<>();
            for (Object o : b.list("initdb")) {
                if (o instanceof Map<?, ?> m) {
                    m.forEach((k, v) -> initdb.add("--" + k + "=" + v));
                } else if (o != null) {
                    initdb.add("--" + o);
                }
            }
            List<String> hba = b.stringList("pg_hba");
            Map<String, User> users = new LinkedHashMap<>();
            b.optObject("users").ifPresent(u -> {
                for (String userName : u.rawMap().keySet()) {
                    YamlNode un = u.optObject(userName).orElseThrow(() -> new ConfigurationException(u.key(userName), "expected a mapping"));
                    Secret pw = un.optSecret("password").orElseThrow(() -> new ConfigurationException(un.key("password"), "is required"));
                    users.put(userName, new User(userName, pw, un.stringList("options")));
                }
            });
            Optional<BootstrapMethodConfig> method = b.optString("method").filter(m -> !m.equals("initdb")).map(m -> {
                YamlNode section = b.optObject(m).orElseThrow(() -> new ConfigurationException(b.key(m),
                        "the section of bootstrap method '" + m + "' with its command is required"));
                String command = section.optString("command").orElseThrow(() ->
                        new ConfigurationException(section.key("command"), "is required"));
                boolean noParams = section.optBool("no_params").orElse(false);
                Map<String, String> recovery = scalars(section.optObject("recovery_conf"));
                boolean keep = section.optBool("keep_existing_recovery_conf").orElse(false);
                return new BootstrapMethodConfig(m, command, noParams, recovery, keep);
            });
            Optional<String> post = b.optString("post_bootstrap");
            Optional<String> postInit = b.optString("post_init");
            if (post.isPresent() && postInit.isPresent()) {
                warnings.add(b.key("post_init") + ": ignored, " + b.key("post_bootstrap") + " is set (Patroni's older name)");
            }
            return new Bootstrap(dcs, initdb, hba, users, method, post.or(() -> postInit));
        }

        private void validateDynamic(ObjectNode dcs) {
            DynamicConfigCheck.notActedOn(dcs.toString()).forEach(w -> warnings.add("bootstrap.dcs." + w));
            List<String> problems = DynamicConfigCheck.problems(dcs.toString());
            if (!problems.isEmpty()) {
                String first = problems.get(0);
                int colon = first.indexOf(':');
                throw new ConfigurationException("bootstrap.dcs." + first.substring(0, colon), first.substring(colon + 1).trim());
            }
        }

        private Postgresql postgresql(YamlNode p, Bootstrap b) {
            HostPort listen = HostPort.parse(p.key("listen"), p.string("listen"), 5432);
            HostPort connect = p.optString("connect_address").map(v -> HostPort.parse(p.key("connect_address"), v, listen.port()))
                    .orElseGet(() -> {
                        if (listen.hosts().contains("0.0.0.0") || listen.hosts().contains("::") || listen.hosts().contains("*")) {
                            throw new ConfigurationException(p.key("connect_address"), "is required when postgresql.listen is a wildcard address");
                        }
                        return new HostPort(List.of(listen.host()), listen.port());
                    });
            Path dataDir = Path.of(p.string("data_dir"));
            Optional<Path> binDir = p.optString("bin_dir").filter(s -> !s.isBlank()).map(Path::of);
            Optional<YamlNode> auth = p.optObject("authentication");
            auth.ifPresent(a -> a.requireKnownKeys(PatroniKeys.PG_AUTHENTICATION));
            Optional<Credentials> superuser = auth.flatMap(a -> a.optObject("superuser")).map(this::credentials);
            Optional<Credentials> replication = auth.flatMap(a -> a.optObject("replication")).map(this::credentials);
            Optional<Credentials> rewind = auth.flatMap(a -> a.optObject("rewind")).map(this::credentials);
            if (replication.isEmpty()) {
                Optional<User> repl = b.users().values().stream().filter(u -> u.options().contains("replication")).findFirst();
                if (repl.isEmpty()) {
                    throw new ConfigurationException("postgresql.authentication.replication",
                            "is required (or a bootstrap user with the replication option)");
                }
                warnings.add("postgresql.authentication.replication: not set; using bootstrap user '" + repl.get().name() + "'");
                replication = Optional.of(new Credentials(repl.get().name(), Optional.of(repl.get().password())));
            }
            Map<String, String> params = new LinkedHashMap<>();
            p.optObject("parameters").ifPresent(pp -> pp.rawMap().forEach((k, v) -> {
                pp.touch(k);
                params.put(k, String.valueOf(v));
            }));
            Optional<Path> pgpass = p.optString("pgpass").map(Path::of);
            List<String> hba = p.stringList("pg_hba");
            boolean removeOnFailure = p.optBool("remove_data_directory_on_rewind_failure").orElse(false);
            boolean useUnixSocket = p.optBool("use_unix_socket").orElse(false);
            List<String> ident = p.stringList("pg_ident");
            Map<String, String> recovery = scalars(p.optObject("recovery_conf"));
            Map<String, String> callbacks = scalars(p.optObject("callbacks"));
            for (String cb : callbacks.keySet()) {
                if (!List.of("on_start", "on_stop", "on_restart", "on_reload", "on_role_change").contains(cb)) {
                    throw new ConfigurationException(p.key("callbacks") + "." + cb,
                            "unknown callback (on_start, on_stop, on_restart, on_reload or on_role_change)");
                }
            }
            List<ReplicaMethodConfig> methods = new ArrayList<>();
            for (String m : p.stringList("create_replica_methods")) {
                methods.add(replicaMethod(p, m));
            }
            if (methods.isEmpty() && p.has("basebackup")) {
                methods.add(replicaMethod(p, "basebackup")); // Patroni's default method, with its options
            }
            p.optBool("use_pg_rewind").ifPresent(v -> warnings.add(
                    "postgresql.use_pg_rewind: set it in bootstrap.dcs.postgresql (a dynamic setting); read from there"));
            return new Postgresql(listen, connect, dataDir, binDir, superuser, replication.get(), rewind, params, pgpass, hba,
                    removeOnFailure, ident, recovery, callbacks, methods, useUnixSocket);
        }

        /** A mapping of scalars (numbers and booleans as Patroni writes them into settings). */
        private static Map<String, String> scalars(Optional<YamlNode> section) {
            Map<String, String> out = new LinkedHashMap<>();
            section.ifPresent(s -> s.rawMap().forEach((k, v) -> {
                s.touch(k);
                if (v instanceof Map || v instanceof List) {
                    throw new ConfigurationException(s.key(k), "expected a single value");
                }
                out.put(k, v == null ? "" : v instanceof Boolean bv ? (bv ? "on" : "off") : String.valueOf(v));
            }));
            return out;
        }

        /** {@code postgresql.<name>}: a method's section, as Patroni reads it ({@code basebackup} may be a list). */
        private ReplicaMethodConfig replicaMethod(YamlNode p, String name) {
            Map<String, String> options = new LinkedHashMap<>();
            Object raw = p.rawMap().get(name);
            p.touch(name);
            if (name.equals("basebackup")) {
                if (raw instanceof List<?> list) {
                    for (Object o : list) {
                        if (o instanceof Map<?, ?> m && m.size() == 1) {
                            m.forEach((k, v) -> options.put(String.valueOf(k), String.valueOf(v)));
                        } else if (o instanceof String str) {
                            options.put(str, "");
                        } else {
                            throw new ConfigurationException(p.key(name), "expected options (name or name: value), got " + o);
                        }
                    }
                } else if (raw instanceof Map<?, ?> m) {
                    m.forEach((k, v) -> options.put(String.valueOf(k), String.valueOf(v)));
                } else if (raw != null) {
                    throw new ConfigurationException(p.key(name), "expected a mapping or a list of options");
                }
                return new ReplicaMethodConfig(name, Optional.empty(), false, false, false, options);
            }
            if (!(raw instanceof Map<?, ?> m)) {
                throw new ConfigurationException(p.key(name), "the section of replica method '" + name + "' with its command is required");
            }
            Optional<String> command = Optional.empty();
            boolean keepData = false;
            boolean noParams = false;
            boolean noLeader = false;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String k = String.valueOf(e.getKey());
                String v = String.valueOf(e.getValue());
                switch (k) {
                    case "command" -> command = Optional.of(v);
                    case "keep_data" -> keepData = truthy(v);
                    case "no_params" -> noParams = truthy(v);
                    case "no_leader", "no_master" -> noLeader = truthy(v);
                    default -> options.put(k, v);
                }
            }
            if (command.isEmpty()) {
                throw new ConfigurationException(p.key(name) + ".command", "is required for the replica method '" + name + "'");
            }
            return new ReplicaMethodConfig(name, command, keepData, noParams, noLeader, options);
        }

        private static boolean truthy(String v) {
            return List.of("true", "on", "yes", "1").contains(v.trim().toLowerCase(java.util.Locale.ROOT));
        }

        private Credentials credentials(YamlNode c) {
            c.requireKnownKeys(PatroniKeys.PG_USER);
            Map<String, String> ssl = new LinkedHashMap<>();
            for (String k : List.of("sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslcrldir", "sslnegotiation",
                    "gssencmode", "channel_binding")) {
                c.optString(k).filter(v -> !v.isBlank()).ifPresent(v -> ssl.put(k, v));
            }
            return new Credentials(c.string("username"), c.optSecret("password"), ssl, c.optSecret("sslpassword"));
        }

        /** Patroni's {@code log} section; a value pgha cannot honour is an error naming its key. */
        private LogSection log(YamlNode l) {
            LogSection d = LogSection.DEFAULT;
            LogSection.Type type = l.optString("type").map(t -> switch (t.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "plain" -> LogSection.Type.PLAIN;
                case "json" -> LogSection.Type.JSON;
                default -> throw new ConfigurationException(l.key("type"), "expected plain or json, got '" + t + "'");
            }).orElse(d.type());
            LogSection.Level level = l.optString("level").map(v -> logLevel(l.key("level"), v)).orElse(d.level());
            LogSection.Level traceback = l.optString("traceback_level").map(v -> logLevel(l.key("traceback_level"), v))
                    .orElse(d.tracebackLevel());
            List<LogSection.Field> format = logFormat(l, type);
            Optional<String> dateformat = l.optString("dateformat").filter(f -> !f.isBlank());
            Map<String, String> statics = new LinkedHashMap<>();
            l.optObject("static_fields").ifPresent(f -> List.copyOf(f.rawMap().keySet())
                    .forEach(k -> statics.put(k, f.optString(k).orElse(""))));
            if (!statics.isEmpty() && type != LogSection.Type.JSON) {
                warnings.add(l.key("static_fields") + ": only used with log.type json, ignored");
            }
            long queue = l.optLong("max_queue_size").orElse((long) d.maxQueueSize());
            if (queue < 1 || queue > 1_000_000) {
                throw new ConfigurationException(l.key("max_queue_size"), "must be between 1 and 1000000, got " + queue);
            }
            Optional<Path> dir = l.optString("dir").filter(v -> !v.isBlank()).map(Path::of);
            Optional<Integer> mode = l.optString("mode").filter(v -> !v.isBlank()).map(v -> {
                try {
                    int m = Integer.parseInt(v.trim(), 8);
                    if (m < 0 || m > 0777) {
                        throw new NumberFormatException();
                    }
                    return m;
                } catch (NumberFormatException e) {
                    throw new ConfigurationException(l.key("mode"), "expected octal file permissions such as 0640, got '" + v + "'");
                }
            });
            long fileNum = l.optLong("file_num").orElse((long) d.fileNum());
            if (fileNum < 1 || fileNum > 1000) {
                throw new ConfigurationException(l.key("file_num"), "must be between 1 and 1000, got " + fileNum);
            }
            long fileSize = l.optLong("file_size").orElse(d.fileSize());
            if (fileSize < 1024) {
                throw new ConfigurationException(l.key("file_size"), "must be at least 1024 bytes, got " + fileSize);
            }
            Map<String, LogSection.Level> loggers = new LinkedHashMap<>();
            l.optObject("loggers").ifPresent(lg -> List.copyOf(lg.rawMap().keySet())
                    .forEach(k -> loggers.put(k, logLevel(lg.key(k), lg.optString(k).orElse("")))));
            // pgha never repeats an unchanged decision at INFO (it is logged at DEBUG), with or without this key
            l.optBool("deduplicate_heartbeat_logs");
            return new LogSection(type, level, traceback, format, dateformat, statics, (int) queue, dir, mode, (int) fileNum, fileSize,
                    loggers);
        }

        private static LogSection.Level logLevel(String key, String value) {
            String v = value.trim().toUpperCase(java.util.Locale.ROOT);
            return switch (v) {
                case "DEBUG", "NOTSET" -> LogSection.Level.DEBUG;
                case "INFO" -> LogSection.Level.INFO;
                case "WARNING", "WARN" -> LogSection.Level.WARNING;
                case "ERROR" -> LogSection.Level.ERROR;
                case "CRITICAL", "FATAL" -> LogSection.Level.CRITICAL;
                default -> throw new ConfigurationException(key, "expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got '" + value + "'");
            };
        }

        /** Plain: one format string. Json: a string or a list of attributes, each a name or {attribute: key}. */
        private static List<LogSection.Field> logFormat(YamlNode l, LogSection.Type type) {
            Object raw = l.rawMap().get("format");
            l.touch("format");
            if (raw == null) {
                return type == LogSection.Type.PLAIN ? LogSection.DEFAULT.format()
                        : List.of(new LogSection.Field("asctime", "asctime"), new LogSection.Field("levelname", "levelname"),
                                new LogSection.Field("message", "message"));
            }
            if (type == LogSection.Type.PLAIN) {
                if (raw instanceof Map || raw instanceof List) {
                    throw new ConfigurationException(l.key("format"), "expected a format string with log.type plain");
                }
                return List.of(new LogSection.Field(String.valueOf(raw), String.valueOf(raw)));
            }
            List<LogSection.Field> fields = new ArrayList<>();
            if (raw instanceof List<?> items) {
                for (Object item : items) {
                    if (item instanceof Map<?, ?> m) {
                        m.forEach((k, v) -> fields.add(new LogSection.Field(String.valueOf(k), String.valueOf(v))));
                    } else {
                        fields.add(new LogSection.Field(String.valueOf(item), String.valueOf(item)));
                    }
                }
            } else if (raw instanceof Map) {
                throw new ConfigurationException(l.key("format"), "expected a list of attributes or a format string with log.type json");
            } else {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("%\\((\\w+)\\)").matcher(String.valueOf(raw));
                while (m.find()) {
                    fields.add(new LogSection.Field(m.group(1), m.group(1)));
                }
            }
            if (fields.isEmpty()) {
                throw new ConfigurationException(l.key("format"), "names no attribute");
            }
            return fields;
        }

        /** Patroni's {@code watchdog}: its mode words ({@code require}, {@code auto}, {@code disable}, {@code false}, ...). */
        private Watchdog watchdog(YamlNode w) {
            Object raw = w.rawMap().get("mode");
            String mode = raw == null ? "automatic" : String.valueOf(raw).trim().toLowerCase(java.util.Locale.ROOT);
            w.touch("mode");
            io.pgha.WatchdogMode m = switch (mode) {
                case "require", "required" -> io.pgha.WatchdogMode.REQUIRED;
                case "auto", "automatic" -> io.pgha.WatchdogMode.AUTOMATIC;
                case "off", "disable", "disabled", "false" -> io.pgha.WatchdogMode.OFF;
                default -> throw new ConfigurationException(w.key("mode"), "expected off, automatic or required, got '" + mode + "'");
            };
            Path device = w.optString("device").map(Path::of).orElse(Watchdog.DEFAULT.device());
            long margin = w.optLong("safety_margin").orElse(5L);
            if (margin < -1) {
                throw new ConfigurationException(w.key("safety_margin"), "must be -1 (half the ttl) or more, got " + margin);
            }
            return new Watchdog(m, device, (int) margin);
        }

        private MemberTags tags(YamlNode t) {
            MemberTags tags = MemberTags.DEFAULT;
            for (String k : List.copyOf(t.rawMap().keySet())) {
                switch (k) {
                    case "nofailover" -> tags = tags.withNofailover(t.optBool(k).orElse(false));
                    case "failover_priority" -> {
                        long v = t.optLong(k).orElse(1L);
                        if (v < 0) {
                            throw new ConfigurationException(t.key(k), "must be >= 0, got " + v);
                        }
                        tags = tags.withFailoverPriority((int) v);
                    }
                    case "nosync" -> tags = tags.withNosync(t.optBool(k).orElse(false));
                    case "noloadbalance" -> tags = tags.withNoloadbalance(t.optBool(k).orElse(false));
                    case "clonefrom" -> tags = tags.withClonefrom(t.optBool(k).orElse(false));
                    case "replicatefrom" -> tags = tags.withReplicatefrom(t.optString(k).orElse(null));
                    default -> tags = tags.withCustom(k, t.optString(k).orElse(""));
                }
            }
            if (tags.nofailover() && tags.failoverPriority() > 1) {
                warnings.add("tags: nofailover and failover_priority conflict; nofailover wins");
            }
            return tags;
        }
    }
}
