package io.pgha.agent.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ConfigurationException;
import io.pgha.DynamicConfigCheck;
import io.pgha.MemberTags;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * A node's configuration read from a YAML file in Patroni's format ({@code patroni.yml}): the keys
 * pgha supports are typed here, every key it does not support is listed by name in
 * {@link #unsupported()}, and a missing required key or a bad value fails with one
 * {@link ConfigurationException} naming the key.
 */
public record AgentConfig(String scope, String namespace, String name, Optional<RestApi> restapi, DcsConfig dcs,
                          Bootstrap bootstrap, Postgresql postgresql, MemberTags tags, List<String> unsupported,
                          List<String> warnings) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public AgentConfig {
        Objects.requireNonNull(scope);
        Objects.requireNonNull(name);
        unsupported = List.copyOf(unsupported);
        warnings = List.copyOf(warnings);
    }

    /** The {@code restapi} section. */
    public record RestApi(HostPort listen, Optional<HostPort> connectAddress, Optional<String> username, Optional<Secret> password,
                          Optional<Path> certfile, Optional<Path> keyfile, Optional<Path> cafile, Optional<String> verifyClient) {
    }

    /** Where the store is: one of Patroni's DCS sections. */
    public sealed interface DcsConfig {
        /** {@code etcd3:} or {@code etcd:} (pgha speaks the v3 API to both). */
        record Etcd(List<String> endpoints, Optional<String> username, Optional<Secret> password, Optional<Path> cacert,
                    Optional<Path> cert, Optional<Path> key) implements DcsConfig {
        }

        /**
         * {@code zookeeper:}. With {@code use_ssl}, {@code cacert} (PEM) verifies the servers and
         * {@code cert} / {@code key} (PEM, PKCS#8) are the client certificate; {@code verify: false}
         * turns off host name verification only.
         */
        record ZooKeeper(List<String> hosts, boolean useSsl, Optional<Path> cacert, Optional<Path> cert, Optional<Path> key,
                         boolean verify) implements DcsConfig {
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
    public record Bootstrap(ObjectNode dcs, List<String> initdb, List<String> pgHba, Map<String, User> users) {
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

    /** A login with its password. */
    public record Credentials(String username, Optional<Secret> password) {
    }

    /** The {@code postgresql} section. */
    public record Postgresql(HostPort listen, HostPort connectAddress, Path dataDir, Optional<Path> binDir,
                             Optional<Credentials> superuser, Credentials replication, Optional<Credentials> rewind,
                             Map<String, String> parameters, Optional<Path> pgpass, List<String> pgHba,
                             boolean removeDataDirectoryOnRewindFailure) {
        public Postgresql {
            parameters = Map.copyOf(parameters);
            pgHba = List.copyOf(pgHba);
        }
    }

    public static AgentConfig read(Path file) {
        return read(file, System.getenv());
    }

    /** Reads the file, then applies Patroni's environment overrides ({@code PATRONI_NAME}, ...) from {@code env}. */
    public static AgentConfig read(Path file, Map<String, String> env) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigurationException("config", "cannot read " + file + ": " + e.getMessage());
        }
        return parse(text, file.toString(), env);
    }

    public static AgentConfig parse(String yaml, String source) {
        return parse(yaml, source, Map.of());
    }

    /** Patroni's environment variables that override the file, and where they go. */
    private static final Map<String, String> ENV = Map.ofEntries(
            Map.entry("PATRONI_SCOPE", "scope"),
            Map.entry("PATRONI_NAME", "name"),
            Map.entry("PATRONI_NAMESPACE", "namespace"),
            Map.entry("PATRONI_RESTAPI_LISTEN", "restapi.listen"),
            Map.entry("PATRONI_RESTAPI_CONNECT_ADDRESS", "restapi.connect_address"),
            Map.entry("PATRONI_RESTAPI_USERNAME", "restapi.authentication.username"),
            Map.entry("PATRONI_RESTAPI_PASSWORD", "restapi.authentication.password"),
            Map.entry("PATRONI_POSTGRESQL_LISTEN", "postgresql.listen"),
            Map.entry("PATRONI_POSTGRESQL_CONNECT_ADDRESS", "postgresql.connect_address"),
            Map.entry("PATRONI_POSTGRESQL_DATA_DIR", "postgresql.data_dir"),
            Map.entry("PATRONI_POSTGRESQL_BIN_DIR", "postgresql.bin_dir"),
            Map.entry("PATRONI_POSTGRESQL_PGPASS", "postgresql.pgpass"),
            Map.entry("PATRONI_SUPERUSER_USERNAME", "postgresql.authentication.superuser.username"),
            Map.entry("PATRONI_SUPERUSER_PASSWORD", "postgresql.authentication.superuser.password"),
            Map.entry("PATRONI_REPLICATION_USERNAME", "postgresql.authentication.replication.username"),
            Map.entry("PATRONI_REPLICATION_PASSWORD", "postgresql.authentication.replication.password"),
            Map.entry("PATRONI_REWIND_USERNAME", "postgresql.authentication.rewind.username"),
            Map.entry("PATRONI_REWIND_PASSWORD", "postgresql.authentication.rewind.password"),
            Map.entry("PATRONI_ETCD3_HOSTS", "etcd3.hosts"),
            Map.entry("PATRONI_ETCD3_HOST", "etcd3.host"),
            Map.entry("PATRONI_ETCD_HOSTS", "etcd.hosts"),
            Map.entry("PATRONI_ETCD_HOST", "etcd.host"),
            Map.entry("PATRONI_ZOOKEEPER_HOSTS", "zookeeper.hosts"),
            Map.entry("PATRONI_CONSUL_HOST", "consul.host"),
            Map.entry("PATRONI_CONSUL_URL", "consul.url"),
            Map.entry("PATRONI_CONSUL_TOKEN", "consul.token"));

    @SuppressWarnings("unchecked")
    private static void applyEnv(Map<String, Object> doc, Map<String, String> env) {
        for (Map.Entry<String, String> e : ENV.entrySet()) {
            String value = env.get(e.getKey());
            if (value == null || value.isBlank()) {
                continue;
            }
            String[] path = e.getValue().split("\\.");
            Map<String, Object> node = doc;
            for (int i = 0; i < path.length - 1; i++) {
                Object next = node.get(path[i]);
                if (!(next instanceof Map)) {
                    next = new LinkedHashMap<String, Object>();
                    node.put(path[i], next);
                }
                node = (Map<String, Object>) next;
            }
            node.put(path[path.length - 1], value);
        }
    }

    /** Parses a document and applies the environment overrides in {@code env}. */
    @SuppressWarnings("unchecked")
    public static AgentConfig parse(String yaml, String source, Map<String, String> env) {
        Object doc;
        try {
            doc = new Load(LoadSettings.builder().setLabel(source).build()).loadFromString(yaml);
        } catch (YamlEngineException e) {
            String msg = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            throw new ConfigurationException("config", source + " is not valid YAML: " + msg);
        }
        if (!(doc instanceof Map<?, ?> m)) {
            throw new ConfigurationException("config", source + " must be a YAML mapping");
        }
        Map<String, Object> mutable = new LinkedHashMap<>((Map<String, Object>) m);
        applyEnv(mutable, env);
        return new Parser(new YamlNode("", mutable)).parse();
    }

    private static final class Parser {
        private final YamlNode root;
        private final List<String> warnings = new ArrayList<>();

        Parser(YamlNode root) {
            this.root = root;
        }

        AgentConfig parse() {
            String scope = root.string("scope");
            String name = root.string("name");
            String namespace = root.optString("namespace").orElse("/service");
            if (!namespace.startsWith("/")) {
                namespace = "/" + namespace;
            }
            Optional<RestApi> restapi = root.optObject("restapi").map(this::restapi);
            Bootstrap bootstrap = root.optObject("bootstrap").map(this::bootstrap)
                    .orElse(new Bootstrap(JSON.createObjectNode(), List.of(), List.of(), Map.of()));
            DcsConfig dcs = dcs(root).or(() -> legacyDcsInBootstrap(bootstrap))
                    .orElseThrow(() -> new ConfigurationException("etcd3", "no store configured: add an etcd3 (or etcd, zookeeper, consul) section"));
            Postgresql pg = postgresql(root.optObject("postgresql")
                    .orElseThrow(() -> new ConfigurationException("postgresql", "is required")), bootstrap);
            MemberTags tags = root.optObject("tags").map(this::tags).orElse(MemberTags.DEFAULT);
            for (String known : List.of("log", "watchdog", "ctl", "citus", "kubernetes", "raft", "exhibitor")) {
                root.touch(known);
                if (root.has(known)) {
                    warnings.add(known + ": not supported by pgha, ignored");
                }
            }
            List<String> unsupported = new ArrayList<>(root.unread());
            for (String w : warnings) {
                if (w.endsWith("not supported by pgha, ignored")) {
                    unsupported.add(w.substring(0, w.indexOf(':')));
                }
            }
            return new AgentConfig(scope, namespace, name, restapi, dcs, bootstrap, pg, tags, unsupported, warnings);
        }

        private RestApi restapi(YamlNode n) {
            HostPort listen = HostPort.parse(n.key("listen"), n.string("listen"), 8008);
            Optional<HostPort> connect = n.optString("connect_address").map(v -> HostPort.parse(n.key("connect_address"), v, listen.port()));
            Optional<YamlNode> auth = n.optObject("authentication");
            Optional<String> user = auth.flatMap(a -> a.optString("username"));
            Optional<Secret> password = auth.flatMap(a -> a.optSecret("password"));
            if (user.isPresent() != password.isPresent()) {
                throw new ConfigurationException(n.key("authentication"), "needs both username and password");
            }
            Optional<String> verify = n.optString("verify_client");
            verify.ifPresent(v -> {
                if (!List.of("none", "optional", "required").contains(v)) {
                    throw new ConfigurationException(n.key("verify_client"), "must be none, optional or required, got '" + v + "'");
                }
            });
            Optional<Path> cert = n.optString("certfile").map(Path::of);
            Optional<Path> key = n.optString("keyfile").map(Path::of);
            if (key.isPresent() && cert.isEmpty()) {
                throw new ConfigurationException(n.key("keyfile"), "needs restapi.certfile too");
            }
            return new RestApi(listen, connect, user, password, cert, key, n.optString("cafile").map(Path::of), verify);
        }

        private Optional<DcsConfig> dcs(YamlNode n) {
            List<DcsConfig> found = new ArrayList<>();
            for (String section : List.of("etcd3", "etcd")) {
                n.optObject(section).ifPresent(e -> found.add(etcd(e)));
            }
            n.optObject("zookeeper").ifPresent(z -> found.add(zookeeper(z)));
            n.optObject("consul").ifPresent(c -> found.add(consul(c)));
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
                throw new ConfigurationException(e.key("hosts"), "is required (or host)");
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
            if (z.optSecret("key_password").isPresent()) {
                throw new ConfigurationException(z.key("key_password"), "encrypted keys are not supported; give an unencrypted "
                        + "PKCS#8 key ('openssl pkcs8 -topk8 -nocrypt') readable only by the agent's user");
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
            return new DcsConfig.ZooKeeper(hosts, ssl, cacert, cert, key, verify);
        }

        private DcsConfig consul(YamlNode c) {
            String scheme = c.optString("scheme").orElse("http");
            String url = c.optString("url").orElseGet(() -> {
                HostPort hp = HostPort.parse(c.key("host"), c.optString("host").orElse("127.0.0.1:8500"), 8500);
                return scheme + "://" + hp.host() + ":" + hp.port();
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
            for (String section : List.of("etcd3", "etcd", "zookeeper", "consul")) {
                JsonNode n = b.dcs().get(section);
                if (n != null && n.isObject()) {
                    Map<?, ?> m = JSON.convertValue(n, Map.class);
                    YamlNode wrapper = new YamlNode("", Map.of(section, m));
                    Optional<DcsConfig> d = dcs(wrapper);
                    b.dcs().remove(section);
                    warnings.add("bootstrap.dcs." + section + ": the store belongs at the top level of the file (Patroni reads it there); using it");
                    return d;
                }
            }
            return Optional.empty();
        }

        private Bootstrap bootstrap(YamlNode b) {
            ObjectNode dcs = b.optObject("dcs").map(d -> {
                d.rawMap().keySet().forEach(d::touch);
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
            for (String ignored : List.of("method", "post_bootstrap", "post_init")) {
                if (b.has(ignored)) {
                    b.touch(ignored);
                    warnings.add("bootstrap." + ignored + ": not supported by pgha, ignored");
                }
            }
            return new Bootstrap(dcs, initdb, hba, users);
        }

        private void validateDynamic(ObjectNode dcs) {
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
            p.optBool("use_unix_socket");
            p.optBool("use_pg_rewind").ifPresent(v -> warnings.add(
                    "postgresql.use_pg_rewind: set it in bootstrap.dcs.postgresql (a dynamic setting); read from there"));
            return new Postgresql(listen, connect, dataDir, binDir, superuser, replication.get(), rewind, params, pgpass, hba,
                    removeOnFailure);
        }

        private Credentials credentials(YamlNode c) {
            return new Credentials(c.string("username"), c.optSecret("password"));
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
