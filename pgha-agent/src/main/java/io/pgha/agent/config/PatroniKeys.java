package io.pgha.agent.config;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The keys Patroni knows in the sections pgha checks strictly (Patroni 4.1: {@code docs/yaml_configuration.rst},
 * {@code patroni/validator.py}, and what {@code patroni/config.py}, {@code api.py} and {@code request.py} read).
 * A key outside these sets stops the agent; a key inside them that pgha does not implement is listed in
 * {@link AgentConfig#unsupported()}, with a warning saying what ignoring it leaves unprotected where that matters.
 */
final class PatroniKeys {
    private PatroniKeys() {
    }

    /**
     * {@code restapi}. {@code auth} ({@code 'username:password'}) is the older spelling of {@code authentication}
     * that Patroni's REST server still reads.
     */
    static final Set<String> RESTAPI = Set.of("listen", "connect_address", "authentication", "auth", "certfile", "keyfile",
            "keyfile_password", "cafile", "ciphers", "verify_client", "allowlist", "allowlist_include_members",
            "http_extra_headers", "https_extra_headers", "request_queue_size", "server_tokens", "thread_pool_size");

    /** {@code restapi.authentication} and {@code ctl.authentication}. */
    static final Set<String> LOGIN = Set.of("username", "password");

    /** {@code ctl} ({@code auth} as for {@code restapi}). */
    static final Set<String> CTL = Set.of("insecure", "cacert", "certfile", "keyfile", "keyfile_password", "authentication", "auth");

    /** {@code postgresql.authentication}. */
    static final Set<String> PG_AUTHENTICATION = Set.of("superuser", "replication", "rewind");

    /** {@code postgresql.authentication.superuser}, {@code .replication}, {@code .rewind}: libpq's connection keys. */
    static final Set<String> PG_USER = Set.of("username", "password", "sslmode", "sslkey", "sslpassword", "sslcert",
            "sslrootcert", "sslcrl", "sslcrldir", "sslnegotiation", "gssencmode", "channel_binding");

    /** {@code etcd3} and {@code etcd}. */
    static final Set<String> ETCD = Set.of("host", "hosts", "srv", "srv_suffix", "url", "proxy", "use_proxies", "protocol",
            "username", "password", "cacert", "cert", "key");

    static final Set<String> ZOOKEEPER = Set.of("hosts", "use_ssl", "cacert", "cert", "key", "key_password", "verify",
            "set_acls", "auth_data");

    static final Set<String> CONSUL = Set.of("host", "url", "port", "scheme", "token", "verify", "cacert", "cert", "key", "dc",
            "consistency", "checks", "register_service", "service_tags", "service_check_interval",
            "service_check_tls_server_name");

    /** The store sections pgha speaks, in the order it looks for them. */
    static final List<String> STORES = List.of("etcd3", "etcd", "zookeeper", "consul");

    static Set<String> store(String section) {
        return switch (section) {
            case "etcd3", "etcd" -> ETCD;
            case "zookeeper" -> ZOOKEEPER;
            case "consul" -> CONSUL;
            default -> throw new IllegalArgumentException(section);
        };
    }

    /**
     * Patroni's environment variables that set a key of a section pgha reads: {@code PATRONI_RESTAPI_CAFILE},
     * {@code PATRONI_CTL_INSECURE}, {@code PATRONI_SUPERUSER_PASSWORD}, {@code PATRONI_ETCD3_CACERT}, ... (from
     * {@code patroni/config.py _build_environment_configuration}), each with the dotted key it sets.
     */
    static final Map<String, String> ENVIRONMENT = environment();

    private static Map<String, String> environment() {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (String k : List.of("scope", "name", "namespace")) {
            m.put("PATRONI_" + k.toUpperCase(java.util.Locale.ROOT), k);
        }
        for (String k : List.of("listen", "connect_address", "certfile", "keyfile", "keyfile_password", "cafile", "ciphers",
                "verify_client", "http_extra_headers", "https_extra_headers", "allowlist", "allowlist_include_members",
                "request_queue_size", "server_tokens")) {
            m.put("PATRONI_RESTAPI_" + k.toUpperCase(java.util.Locale.ROOT), "restapi." + k);
        }
        for (String k : List.of("insecure", "cacert", "certfile", "keyfile", "keyfile_password")) {
            m.put("PATRONI_CTL_" + k.toUpperCase(java.util.Locale.ROOT), "ctl." + k);
        }
        for (String section : List.of("restapi", "ctl")) {
            for (String k : List.of("username", "password")) {
                m.put("PATRONI_" + section.toUpperCase(java.util.Locale.ROOT) + "_" + k.toUpperCase(java.util.Locale.ROOT),
                        section + ".authentication." + k);
            }
        }
        for (String k : List.of("listen", "connect_address", "data_dir", "bin_dir", "pgpass")) {
            m.put("PATRONI_POSTGRESQL_" + k.toUpperCase(java.util.Locale.ROOT), "postgresql." + k);
        }
        for (String user : PG_AUTHENTICATION) {
            for (String k : PG_USER) {
                m.put("PATRONI_" + user.toUpperCase(java.util.Locale.ROOT) + "_" + k.toUpperCase(java.util.Locale.ROOT),
                        "postgresql.authentication." + user + "." + k);
            }
        }
        // Patroni maps PATRONI_<SECTION>_<SUFFIX> for these suffixes onto any section; only a section's own keys here
        Set<String> suffixes = Set.of("host", "hosts", "port", "use_proxies", "protocol", "srv", "srv_suffix", "url", "proxy",
                "cacert", "cert", "key", "verify", "token", "checks", "dc", "consistency", "register_service",
                "service_check_interval", "service_check_tls_server_name", "service_tags", "key_password", "use_ssl",
                "set_acls", "auth_data");
        for (String section : STORES) {
            for (String k : store(section)) {
                if (suffixes.contains(k)) {
                    m.put("PATRONI_" + section.toUpperCase(java.util.Locale.ROOT) + "_" + k.toUpperCase(java.util.Locale.ROOT),
                            section + "." + k);
                }
            }
        }
        return Map.copyOf(m);
    }

    /**
     * What ignoring a key pgha does not implement leaves less protected than the file asks, for the warning; empty
     * for a key whose absence fails safe or does not matter for security.
     */
    static Optional<String> consequenceOfIgnoring(String dottedKey) {
        if (dottedKey.equals("restapi.ciphers")) {
            // Patroni's value is an OpenSSL cipher string; the JVM's suite names and defaults are another vocabulary
            return Optional.of("the REST API offers the JVM's default TLS cipher suites");
        }
        return Optional.empty();
    }
}
