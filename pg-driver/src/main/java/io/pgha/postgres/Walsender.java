package io.pgha.postgres;

import io.pgha.spi.Lsn;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Commands of the streaming replication protocol, sent over a physical replication connection
 * ({@code replication=true}, simple query protocol) - the same questions Patroni asks before a
 * rewind, answered by the walsender without needing SQL access or superuser rights.
 */
final class Walsender {
    private Walsender() {
    }

    /** {@code IDENTIFY_SYSTEM}: on a standby, the timeline is the one it replays on. */
    record Identity(String systemId, int timeline, Lsn xlogPos) {
    }

    static Identity identifySystem(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            if (!rs.next()) {
                throw new SQLException("IDENTIFY_SYSTEM returned no row");
            }
            return new Identity(rs.getString(1), rs.getInt(2), Lsn.parse(rs.getString(3)));
        }
    }

    /** {@code TIMELINE_HISTORY tli}: the history file of a timeline above 1. */
    static TimelineHistory timelineHistory(Connection c, int timeline) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("TIMELINE_HISTORY " + timeline)) {
            if (!rs.next()) {
                throw new SQLException("TIMELINE_HISTORY " + timeline + " returned no row");
            }
            Object content = rs.getObject(2);
            String text;
            if (content instanceof byte[] b) {
                text = new String(b, StandardCharsets.UTF_8);
            } else {
                text = rs.getString(2);
                if (text != null && text.startsWith("\\x")) {
                    text = new String(hex(text.substring(2)), StandardCharsets.UTF_8); // bytea in hex output
                }
            }
            return TimelineHistory.parse(text == null ? "" : text);
        }
    }

    /**
     * Creates a physical slot that reserves WAL at once. Returns {@code false} when it already
     * exists (SQLSTATE 42710), which is what a follower re-joining its upstream expects.
     */
    static boolean createPhysicalSlot(Connection c, String slot) throws SQLException {
        if (!slot.matches("[a-z0-9_]{1,63}")) {
            throw new IllegalArgumentException("not a valid slot name: " + slot);
        }
        try (Statement st = c.createStatement()) {
            st.execute("CREATE_REPLICATION_SLOT " + slot + " PHYSICAL RESERVE_WAL");
            return true;
        } catch (SQLException e) {
            if ("42710".equals(e.getSQLState())) {
                return false;
            }
            throw e;
        }
    }

    private static byte[] hex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }
}
