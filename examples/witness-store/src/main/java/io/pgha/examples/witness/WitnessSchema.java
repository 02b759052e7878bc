package io.pgha.examples.witness;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The tables in the witness database, and the SQL that works on them. Everything lives in one
 * schema (default {@code pgha}); the schema name is checked by the builder to be a plain lower-case
 * identifier, so it is written into the SQL text as it is.
 *
 * <pre>
 * leases  (id, scope, member, expires_at)     one row per member session's lease
 * keys    (scope, path, value, version, lease_id)
 *         path: "leader", "config", "members/n1", ... (relative to the cluster, as ClusterKey.path())
 *         value: the exact UTF-8 bytes the engine handed over (bytea)
 *         version: from the sequence "revision", moved by every write
 *         lease_id: null for versioned keys; the lease for the leader key and member entries
 *                   (ON DELETE CASCADE: a lease deleted takes its keys with it)
 * </pre>
 *
 * A lease-bound key is visible only while its lease's {@code expires_at} lies after the reading
 * statement's {@code statement_timestamp()}: the witness database's clock is the only clock that
 * judges a lease. Triggers send a notification on the channel {@code <schema>_changes} for every
 * changed key ({@code k/<scope>/<path>}) and every deleted lease ({@code l/<scope>/<id>}).
 */
final class WitnessSchema {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WitnessSchema.class);
    /** One advisory lock key for "creating the schema", so that two members starting together do not collide. */
    private static final long DDL_LOCK = 0x7067686177746E73L; // "pghawtns"

    final String schema;
    final String channel;

    // ------------------------------------------------------------------ statements
    final String nextRevision;
    final String renewLease;
    final String newLease;
    final String reapExpired;
    final String read;
    final String leader;
    final String leaderForUpdate;
    final String leaseAlive;
    final String insertLeader;
    final String rebindLeader;
    final String releaseLeader;
    final String writeStatus;
    final String writeMember;
    final String insertIfAbsent;
    final String updateIfVersion;
    final String deleteIfVersion;
    final String deleteCluster;
    final String deleteLease;
    final String nextExpiry;

    WitnessSchema(String schema) {
        this.schema = schema;
        this.channel = schema + "_changes";
        String s = schema + ".";
        // a lease-bound key counts only while its lease is alive, judged by the witness clock
        String alive = "(k.lease_id IS NULL OR EXISTS (SELECT 1 FROM " + s + "leases l WHERE l.id = k.lease_id"
                + " AND l.expires_at > statement_timestamp()))";
        nextRevision = "SELECT nextval('" + s + "revision')";
        // statement_timestamp(): when the witness received this statement, which is after the member sent it
        renewLease = "UPDATE " + s + "leases SET expires_at = statement_timestamp() + ? * interval '1 millisecond'"
                + " WHERE id = ? AND expires_at > statement_timestamp()";
        newLease = "INSERT INTO " + s + "leases (scope, member, expires_at)"
                + " VALUES (?, ?, statement_timestamp() + ? * interval '1 millisecond') RETURNING id";
        // SKIP LOCKED: a lease being renewed right now is not waited for (it is not expired after all), so reaping never deadlocks
        reapExpired = "DELETE FROM " + s + "leases WHERE id IN (SELECT id FROM " + s + "leases WHERE scope = ANY (?)"
                + " AND expires_at <= statement_timestamp() FOR UPDATE SKIP LOCKED)";
        read = "SELECT k.path, k.value, k.version, (SELECT last_value FROM " + s + "revision) FROM " + s + "keys k"
                + " WHERE k.scope = ? AND " + alive
                + " UNION ALL SELECT NULL, NULL, NULL, (SELECT last_value FROM " + s + "revision)";
        // the leader key: read plainly, then its lease locked (and read in its newest version), then the key locked;
        // the same order as a renewal (own lease, then key), so that two members never wait for each other
        leader = "SELECT value, lease_id FROM " + s + "keys WHERE scope = ? AND path = 'leader'";
        leaderForUpdate = leader + " FOR UPDATE";
        leaseAlive = "SELECT expires_at > statement_timestamp() FROM " + s + "leases WHERE id = ? FOR SHARE";
        // create-if-absent through the primary key
        insertLeader = "INSERT INTO " + s + "keys (scope, path, value, version, lease_id) VALUES (?, 'leader', ?, ?, ?)"
                + " ON CONFLICT (scope, path) DO NOTHING";
        // a key whose lease expired counts as absent: taken over (or rebound to our newer lease) with the row locked
        rebindLeader = "UPDATE " + s + "keys SET value = ?, lease_id = ?, version = ? WHERE scope = ? AND path = 'leader'";
        releaseLeader = "DELETE FROM " + s + "keys k WHERE k.scope = ? AND k.path = 'leader' AND k.value = ? AND " + alive;
        writeStatus = "INSERT INTO " + s + "keys (scope, path, value, version) VALUES (?, 'status', ?, ?)"
                + " ON CONFLICT (scope, path) DO UPDATE SET value = excluded.value, version = excluded.version"
                + " WHERE keys.value IS DISTINCT FROM excluded.value";
        writeMember = "INSERT INTO " + s + "keys (scope, path, value, version, lease_id) VALUES (?, ?, ?, ?, ?)"
                + " ON CONFLICT (scope, path) DO UPDATE SET value = excluded.value, version = excluded.version,"
                + " lease_id = excluded.lease_id"
                + " WHERE keys.value IS DISTINCT FROM excluded.value OR keys.lease_id IS DISTINCT FROM excluded.lease_id";
        insertIfAbsent = "INSERT INTO " + s + "keys (scope, path, value, version) VALUES (?, ?, ?, ?)"
                + " ON CONFLICT (scope, path) DO NOTHING";
        updateIfVersion = "UPDATE " + s + "keys SET value = ?, version = ? WHERE scope = ? AND path = ? AND version = ?";
        deleteIfVersion = "DELETE FROM " + s + "keys WHERE scope = ? AND path = ? AND version = ?";
        deleteCluster = "DELETE FROM " + s + "keys WHERE scope = ?";
        deleteLease = "DELETE FROM " + s + "leases WHERE id = ?";
        nextExpiry = "SELECT (EXTRACT(EPOCH FROM (min(expires_at) - statement_timestamp())) * 1000)::bigint FROM " + s + "leases"
                + " WHERE scope = ANY (?)";
    }

    /** Creates the schema unless it is there already (its last object, the trigger on leases, exists). */
    void ensure(Connection c) throws SQLException {
        if (!exists(c)) {
            create(c);
        }
    }

    private boolean exists(Connection c) throws SQLException {
        try (java.sql.PreparedStatement st = c.prepareStatement("SELECT 1 FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid"
                + " JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = ? AND r.relname = 'leases'"
                + " AND t.tgname = 'lease_deleted'")) {
            st.setString(1, schema);
            try (java.sql.ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    /**
     * Creates what is missing (schema, sequence, tables, trigger function and triggers), under an
     * advisory lock, in one transaction. Idempotent; the connection must be in auto-commit mode.
     */
    void create(Connection c) throws SQLException {
        String s = schema + ".";
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SELECT pg_advisory_xact_lock(" + DDL_LOCK + ")");
            if (exists(c)) { // another member created it while this one waited for the lock
                c.commit();
                return;
            }
            LOG.info("creating the witness schema '{}' (tables leases and keys) in the witness database", schema);
            st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
            st.execute("CREATE SEQUENCE IF NOT EXISTS " + s + "revision");
            st.execute("CREATE TABLE IF NOT EXISTS " + s + "leases ("
                    + " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                    + " scope text NOT NULL,"
                    + " member text NOT NULL,"
                    + " expires_at timestamptz NOT NULL)");
            st.execute("CREATE INDEX IF NOT EXISTS leases_scope_expiry ON " + s + "leases (scope, expires_at)");
            st.execute("CREATE TABLE IF NOT EXISTS " + s + "keys ("
                    + " scope text NOT NULL,"
                    + " path text NOT NULL,"
                    + " value bytea NOT NULL,"
                    + " version bigint NOT NULL,"
                    + " lease_id bigint REFERENCES " + s + "leases (id) ON DELETE CASCADE,"
                    + " PRIMARY KEY (scope, path))");
            st.execute("CREATE INDEX IF NOT EXISTS keys_lease ON " + s + "keys (lease_id)");
            st.execute("CREATE OR REPLACE FUNCTION " + s + "notify_key() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                    + " IF TG_OP = 'DELETE' THEN PERFORM pg_notify('" + channel + "', 'k/' || OLD.scope || '/' || OLD.path);"
                    + " ELSE PERFORM pg_notify('" + channel + "', 'k/' || NEW.scope || '/' || NEW.path); END IF;"
                    + " RETURN NULL; END $$");
            st.execute("CREATE OR REPLACE FUNCTION " + s + "notify_lease() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                    + " PERFORM pg_notify('" + channel + "', 'l/' || OLD.scope || '/' || OLD.id); RETURN NULL; END $$");
            st.execute("CREATE OR REPLACE TRIGGER keys_changed AFTER INSERT OR UPDATE OR DELETE ON " + s + "keys"
                    + " FOR EACH ROW EXECUTE FUNCTION " + s + "notify_key()");
            st.execute("CREATE OR REPLACE TRIGGER lease_deleted AFTER DELETE ON " + s + "leases"
                    + " FOR EACH ROW EXECUTE FUNCTION " + s + "notify_lease()");
            c.commit();
        } catch (SQLException | RuntimeException e) {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // the connection is probably gone; the caller maps the first failure
            }
            throw e;
        } finally {
            try {
                c.setAutoCommit(true);
            } catch (SQLException ignored) {
                // as above
            }
        }
    }
}
