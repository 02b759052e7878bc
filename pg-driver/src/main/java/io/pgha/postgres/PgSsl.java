package io.pgha.postgres;

import io.pgha.ConfigurationException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * libpq's connection-security keys for one of pgha's roles, as Patroni's
 * {@code postgresql.authentication.<role>.*} hold them: the TLS keys {@code sslmode}, {@code sslrootcert},
 * {@code sslcert}, {@code sslkey}, {@code sslpassword}, {@code sslcrl}, {@code sslcrldir},
 * {@code sslnegotiation}, and {@code gssencmode} (GSSAPI encryption) and {@code channel_binding}
 * (SCRAM channel binding to the TLS connection). pgha uses them on every connection it makes as that role: its own JDBC
 * connections ({@code io.pgha.internal.postgres.PgTlsSocketFactory}, libpq's rules over the same
 * PEM files), {@code primary_conninfo}, and pg_basebackup's and pg_rewind's source connections.
 * The key's passphrase ({@code sslpassword}) is never in a connection string, an argument or a
 * message: programs and the walreceiver read it from pgha's service file
 * ({@link ManagedFiles#serviceFile()}); {@link #toString()} hides it.
 *
 * @param setting the Patroni key of the role ({@code postgresql.authentication.replication}), for messages
 * @param keys    the keys as given, in order; {@code sslpassword} among them
 */
record PgSsl(String setting, Map<String, String> keys) {
    static final List<String> KEYS = List.of("sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir",
            "sslnegotiation", "gssencmode", "channel_binding");
    static final Set<String> MODES = Set.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");
    /** libpq's values of {@code gssencmode} and of {@code channel_binding} alike. */
    static final Set<String> DISABLE_PREFER_REQUIRE = Set.of("disable", "prefer", "require");
    static final PgSsl NONE = new PgSsl("postgresql.authentication", Map.of());

    PgSsl {
        keys = Collections.unmodifiableMap(new LinkedHashMap<>(keys));
    }

    /**
     * Checks one key's value as libpq would, and the file it names as pgha can: a clear error naming
     * {@code <setting>.<key>} at build time rather than a refused connection later.
     */
    static String check(String setting, String key, String value) {
        String where = setting + "." + key;
        if (!KEYS.contains(key)) {
            throw new ConfigurationException(where, "not a TLS connection key pgha knows (" + String.join(", ", KEYS) + ")");
        }
        if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0 || value.indexOf('\0') >= 0) {
            throw new ConfigurationException(where, "cannot contain line breaks or NUL");
        }
        switch (key) {
            case "sslmode" -> {
                if (!MODES.contains(value)) {
                    throw new ConfigurationException(where, "expected disable, allow, prefer, require, verify-ca or verify-full, got '"
                            + value + "'");
                }
            }
            case "sslnegotiation" -> {
                if (!value.equals("postgres") && !value.equals("direct")) {
                    throw new ConfigurationException(where, "expected postgres or direct, got '" + value + "'");
                }
            }
            case "gssencmode", "channel_binding" -> {
                if (!DISABLE_PREFER_REQUIRE.contains(value)) {
                    throw new ConfigurationException(where, "expected disable, prefer or require, got '" + value + "'");
                }
            }
            case "sslpassword" -> {
                if (value.isEmpty() || !value.strip().equals(value)) {
                    // libpq's service file, where pgha keeps it, trims what surrounds a value
                    throw new ConfigurationException(where, "cannot be empty or start or end with white space");
                }
            }
            case "sslcrldir" -> {
                if (!Files.isDirectory(Path.of(value))) {
                    throw new ConfigurationException(where, "not a directory: " + value);
                }
            }
            case "sslrootcert" -> {
                if (!value.equals("system")) {
                    io.pgha.spi.support.ReadableFiles.require(where, Path.of(value));
                }
            }
            default -> io.pgha.spi.support.ReadableFiles.require(where, Path.of(value));
        }
        return value;
    }

    /** The combination, as libpq would refuse it (or silently ignore it, where pgha refuses). */
    void checkCombination() {
        if (keys.containsKey("sslcert") != keys.containsKey("sslkey")) {
            throw new ConfigurationException(setting + (keys.containsKey("sslcert") ? ".sslkey" : ".sslcert"),
                    "a client certificate needs both sslcert and sslkey");
        }
        if (keys.containsKey("sslpassword") && !keys.containsKey("sslkey")) {
            throw new ConfigurationException(setting + ".sslpassword", "is the passphrase of sslkey, which is not set");
        }
        if (verifies() && !keys.containsKey("sslrootcert")) {
            // libpq would look for ~/.postgresql/root.crt of whichever user runs it: the JVM's or the server's
            throw new ConfigurationException(setting + ".sslrootcert", "is required with sslmode=" + mode()
                    + " (pgha does not fall back to ~/.postgresql/root.crt)");
        }
        if ("require".equals(keys.get("channel_binding")) && mode().equals("disable")) {
            // channel binding binds SCRAM to the TLS connection: without TLS libpq refuses every connection
            throw new ConfigurationException(setting + ".channel_binding", "require needs TLS, and sslmode is disable");
        }
        if ("direct".equals(keys.get("sslnegotiation")) && !List.of("require", "verify-ca", "verify-full").contains(mode())) {
            throw new ConfigurationException(setting + ".sslnegotiation", "direct needs sslmode require, verify-ca or verify-full (libpq's rule)");
        }
    }

    boolean configured() {
        return !keys.isEmpty();
    }

    /** libpq's default is {@code prefer}. */
    String mode() {
        return keys.getOrDefault("sslmode", "prefer");
    }

    boolean verifies() {
        return mode().equals("verify-ca") || mode().equals("verify-full");
    }

    Optional<String> get(String key) {
        return Optional.ofNullable(keys.get(key));
    }

    Optional<String> password() {
        return get("sslpassword");
    }

    /**
     * The keys for a libpq connection string, without {@code sslpassword} (that is in the service
     * file, named by {@code service=}); {@code sslnegotiation=postgres}, libpq's default, is left
     * out so that libpq before 17, which does not know the key, still reads the string.
     */
    String conninfo(Optional<String> service) {
        // in one fixed order, so the same keys always make the same primary_conninfo (no needless reload)
        StringBuilder sb = new StringBuilder();
        for (String k : KEYS) {
            String v = keys.get(k);
            if (v != null && !k.equals("sslpassword") && !(k.equals("sslnegotiation") && v.equals("postgres"))) {
                sb.append(' ').append(k).append('=').append(Gucs.conninfoValue(v));
            }
        }
        if (password().isPresent()) {
            sb.append(" service=").append(Gucs.conninfoValue(service.orElseThrow()));
        }
        return sb.toString();
    }

    /**
     * The same keys as a libpq URI's query ({@code ?sslmode=verify-full&sslrootcert=...}), for the
     * URL an operator's command is given; empty without keys.
     */
    String uriQuery(String service) {
        String conninfo = conninfo(Optional.of(service));
        if (conninfo.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        for (String k : KEYS) {
            String v = keys.get(k);
            if (v != null && !k.equals("sslpassword") && !(k.equals("sslnegotiation") && v.equals("postgres"))) {
                sb.append(sb.length() == 0 ? '?' : '&').append(k).append('=')
                        .append(java.net.URLEncoder.encode(v, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20"));
            }
        }
        if (password().isPresent()) {
            sb.append(sb.length() == 0 ? '?' : '&').append("service=").append(service);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        Map<String, String> shown = new LinkedHashMap<>(keys);
        shown.computeIfPresent("sslpassword", (k, v) -> Redactor.MASK);
        return setting + shown;
    }
}
