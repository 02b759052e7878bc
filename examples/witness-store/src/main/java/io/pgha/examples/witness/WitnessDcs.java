package io.pgha.examples.witness;

import io.pgha.ConfigurationException;
import io.pgha.spi.Dcs;
import io.pgha.spi.DcsSession;
import io.pgha.spi.SessionSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * A {@link Dcs} kept in a table of a separate PostgreSQL database, the "witness": for shops that
 * run a management database rather than etcd, ZooKeeper or Consul. Written as a user of pgha would
 * write a store, on the public SPI only ({@code io.pgha}, {@code io.pgha.spi},
 * {@code io.pgha.spi.support}) and pgjdbc.
 *
 * <pre>{@code
 * try (WitnessDcs witness = WitnessDcs.builder()
 *         .jdbcUrl("jdbc:postgresql://witness.example.net:5432/ha")
 *         .credentials("pgha", System.getenv("WITNESS_PASSWORD"))
 *         .schema("pgha")
 *         .build()) {
 *     HaNode node = HaNode.builder().dcs(witness)...build().start();
 * }
 * }</pre>
 *
 * <ul>
 *   <li><b>Leases</b> are rows with an expiry set and judged by the witness database's clock
 *       ({@code statement_timestamp()}), never the members' clocks; a key bound to an expired lease
 *       is invisible and counts as absent. The lease guarantee is the full ttl: see
 *       {@link WitnessSession} for why that is honest.</li>
 *   <li><b>Compare-and-set</b> compares a {@code version} column; <b>create-if-absent</b> is an
 *       {@code INSERT ... ON CONFLICT} on the primary key.</li>
 *   <li><b>The watch</b> is {@code LISTEN/NOTIFY} on one dedicated connection (triggers notify),
 *       and the watch thread deletes expired leases when they expire, which notifies too; after a
 *       reconnect every watch hears an unknown change, and the engine catches up with a read.</li>
 *   <li><b>Connections</b>: one for the watch and a tiny pool (default 2) for calls, each call
 *       bounded by the session's {@code retry_timeout} (see {@link WitnessCalls}). An unreachable
 *       witness never blocks a caller; its calls fail with
 *       {@link io.pgha.spi.DcsUnreachableException} within that bound.</li>
 *   <li><b>The schema</b> ({@link Builder#schema}, default {@code pgha}) is created on first use
 *       ({@code CREATE ... IF NOT EXISTS}, under an advisory lock), unless it exists already; see
 *       {@link WitnessSchema} for the tables. The database user then needs {@code CREATE} on the
 *       database once, and afterwards only rights on that schema.</li>
 * </ul>
 *
 * <p><b>The trade-off</b>: the witness database is a single point of failure for failover, not
 * for the running primary. See the module's README.
 */
public final class WitnessDcs implements Dcs {
    private final WitnessSettings settings;
    private final WitnessSchema schema;
    private final WitnessCalls calls;
    private final WitnessWatcher watcher;
    private final List<WitnessSession> open = new ArrayList<>();
    private boolean closed;

    private WitnessDcs(WitnessSettings settings) {
        this.settings = settings;
        this.schema = new WitnessSchema(settings.schema());
        this.calls = new WitnessCalls(settings, schema);
        this.watcher = new WitnessWatcher(settings, schema);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Opens a session; sends nothing (a member's lease row is created by its first lease-bound call).
     *
     * @throws IllegalStateException if this {@code WitnessDcs} is closed
     */
    @Override
    public DcsSession open(SessionSpec spec) {
        Objects.requireNonNull(spec, "spec");
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("this WitnessDcs is closed");
            }
            WitnessSession s = new WitnessSession(spec, calls, schema, watcher, this::forget);
            open.add(s);
            return s;
        }
    }

    private synchronized void forget(WitnessSession s) {
        open.remove(s);
    }

    /** Closes every open session (deleting their leases), then the watch and the connections. */
    @Override
    public void close() {
        List<WitnessSession> sessions;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            sessions = new ArrayList<>(open);
        }
        try {
            sessions.forEach(WitnessSession::close);
        } finally {
            watcher.close();
            calls.close();
        }
    }

    @Override
    public String toString() {
        return "WitnessDcs[" + settings.jdbcUrl() + ", schema " + settings.schema() + "]";
    }

    // ============================================================================================

    /**
     * Builds a {@link WitnessDcs}. Each setter may be called once and checks its own argument at
     * once; {@link #build()} checks the combination. Errors are {@link ConfigurationException}s
     * naming the setting ({@code witness.<snake_case>}); none contains the password.
     */
    public static final class Builder {
        private static final Pattern SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,47}");

        private String jdbcUrl;
        private String user;
        private String password;
        private String schema;
        private Integer poolSize;

        private Builder() {
        }

        /**
         * The witness database, as a pgjdbc URL: {@code jdbc:postgresql://host[:port]/database}, with
         * any pgjdbc options (TLS: {@code ?sslmode=verify-full&sslrootcert=...}; several hosts with
         * {@code targetServerType=primary} if the witness has a standby of its own). The password
         * does not belong in it: use {@link #credentials}.
         *
         * @throws ConfigurationException ({@code witness.jdbc_url}) if it was already set, is not a
         *                                pgjdbc URL, or carries a password
         * @throws NullPointerException   if {@code url} is null
         */
        public Builder jdbcUrl(String url) {
            requireUnset("witness.jdbc_url", this.jdbcUrl);
            Objects.requireNonNull(url, "witness.jdbc_url");
            if (!url.startsWith("jdbc:postgresql:")) {
                throw new ConfigurationException("witness.jdbc_url", "must start with jdbc:postgresql:");
            }
            Properties parsed = org.postgresql.Driver.parseURL(url, null);
            if (parsed == null) {
                // the URL is not echoed: it might carry a secret after all
                throw new ConfigurationException("witness.jdbc_url", "is not a URL pgjdbc accepts");
            }
            if (parsed.getProperty("password") != null || url.toLowerCase(Locale.ROOT).contains("password=")) {
                throw new ConfigurationException("witness.jdbc_url", "must not carry the password; give it to credentials(user, password)");
            }
            this.jdbcUrl = url;
            return this;
        }

        /**
         * The database user and its password (SCRAM or md5, as the witness's {@code pg_hba.conf}
         * says). The password is sent only to the database, never logged nor put in a message.
         *
         * @throws ConfigurationException ({@code witness.username}) if the credentials were already
         *                                set or the user name is empty or contains control characters
         * @throws NullPointerException   if either argument is null
         */
        public Builder credentials(String user, String password) {
            requireUnset("witness.username", this.user);
            Objects.requireNonNull(user, "witness.username");
            Objects.requireNonNull(password, "witness.password");
            if (user.isEmpty() || user.chars().anyMatch(Character::isISOControl)) {
                throw new ConfigurationException("witness.username", "must be non-empty without control characters");
            }
            this.user = user;
            this.password = password;
            return this;
        }

        /**
         * The schema the tables live in (default {@code pgha}): a lower-case identifier, at most 48
         * characters. Its notification channel is {@code <schema>_changes}. Clusters of different
         * scopes share one schema; two schemas are two separate stores.
         *
         * @throws ConfigurationException ({@code witness.schema}) if it was already set or is not a
         *                                lower-case identifier ({@code [a-z_][a-z0-9_]*})
         * @throws NullPointerException   if {@code schema} is null
         */
        public Builder schema(String schema) {
            requireUnset("witness.schema", this.schema);
            Objects.requireNonNull(schema, "witness.schema");
            if (!SCHEMA.matcher(schema).matches() || schema.startsWith("pg_")) {
                throw new ConfigurationException("witness.schema", "must be a lower-case identifier ([a-z_][a-z0-9_]*, at most 48,"
                        + " not pg_...), got '" + schema + "'");
            }
            this.schema = schema;
            return this;
        }

        /**
         * Connections for calls (default 2; the watch has one more of its own). Calls block a
         * connection for at most retry_timeout.
         *
         * @throws ConfigurationException ({@code witness.pool_size}) if it was already set or is not
         *                                between 1 and 16
         */
        public Builder poolSize(int connections) {
            requireUnset("witness.pool_size", this.poolSize);
            if (connections < 1 || connections > 16) {
                throw new ConfigurationException("witness.pool_size", "must be between 1 and 16, got " + connections);
            }
            this.poolSize = connections;
            return this;
        }

        /**
         * Builds the {@link WitnessDcs}. Nothing is sent to the database yet.
         *
         * @throws ConfigurationException ({@code witness.jdbc_url}) if no URL was given;
         *                                ({@code witness.username}) if no credentials were given, or
         *                                the URL names a user as well
         */
        public WitnessDcs build() {
            if (jdbcUrl == null) {
                throw new ConfigurationException("witness.jdbc_url", "is required");
            }
            if (user == null) {
                throw new ConfigurationException("witness.username", "is required: give credentials(user, password)");
            }
            Properties parsed = org.postgresql.Driver.parseURL(jdbcUrl, null);
            if (parsed != null && parsed.getProperty("user") != null) {
                throw new ConfigurationException("witness.username", "given twice: in the URL and by credentials(); keep credentials()");
            }
            return new WitnessDcs(new WitnessSettings(jdbcUrl, user, password, schema != null ? schema : "pgha",
                    poolSize != null ? poolSize : 2));
        }

        private static void requireUnset(String setting, Object current) {
            if (current != null) {
                throw new ConfigurationException(setting, "was already set");
            }
        }

        @Override
        public String toString() {
            return "WitnessDcs.Builder[" + jdbcUrl + ", user " + user + ", password " + (password == null ? "none" : "****") + "]";
        }
    }
}
