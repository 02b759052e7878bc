package io.pgha.postgres;

import io.pgha.spi.Lsn;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The parts of {@code pg_controldata}'s output pgha uses, parsed. {@link #raw()} keeps every line.
 *
 * @param systemIdentifier        "Database system identifier"
 * @param state                   "Database cluster state"
 * @param checkpoint              "Latest checkpoint location"
 * @param checkpointRedo          "Latest checkpoint's REDO location"
 * @param checkpointTimeline      "Latest checkpoint's TimeLineID"
 * @param minRecoveryEnd          "Minimum recovery ending location" ({@link Lsn#ZERO} when none)
 * @param minRecoveryEndTimeline  "Min recovery ending loc's timeline" ({@code 0} when none)
 * @param walLogHints             "wal_log_hints setting" is on
 * @param dataChecksums           "Data page checksum version" is not 0
 * @param raw                     every "label: value" line as printed
 */
public record ControlData(
        String systemIdentifier,
        ClusterState state,
        Lsn checkpoint,
        Lsn checkpointRedo,
        int checkpointTimeline,
        Lsn minRecoveryEnd,
        int minRecoveryEndTimeline,
        boolean walLogHints,
        boolean dataChecksums,
        Map<String, String> raw) {

    /** "Database cluster state" as pg_controldata prints it. */
    public enum ClusterState {
        STARTING_UP("starting up"),
        SHUT_DOWN("shut down"),
        SHUT_DOWN_IN_RECOVERY("shut down in recovery"),
        SHUTTING_DOWN("shutting down"),
        IN_CRASH_RECOVERY("in crash recovery"),
        IN_ARCHIVE_RECOVERY("in archive recovery"),
        IN_PRODUCTION("in production"),
        UNKNOWN("unrecognized status code");

        private final String text;

        ClusterState(String text) {
            this.text = text;
        }

        static ClusterState parse(String text) {
            for (ClusterState s : values()) {
                if (s.text.equals(text)) {
                    return s;
                }
            }
            return UNKNOWN;
        }

        /** The last shutdown wrote a shutdown checkpoint (or restartpoint): no crash recovery needed. */
        public boolean isCleanShutdown() {
            return this == SHUT_DOWN || this == SHUT_DOWN_IN_RECOVERY;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    public ControlData {
        Objects.requireNonNull(systemIdentifier, "systemIdentifier");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(checkpointRedo, "checkpointRedo");
        Objects.requireNonNull(minRecoveryEnd, "minRecoveryEnd");
        raw = Collections.unmodifiableMap(new LinkedHashMap<>(raw));
    }

    /** The data directory was last used by a standby (it stopped, or crashed, while in recovery). */
    public boolean wasInRecovery() {
        return state == ClusterState.SHUT_DOWN_IN_RECOVERY || state == ClusterState.IN_ARCHIVE_RECOVERY;
    }

    /** One raw value by its label, e.g. {@code "wal_level setting"}. */
    public Optional<String> get(String label) {
        return Optional.ofNullable(raw.get(label));
    }

    /**
     * Parses {@code pg_controldata} output (run with {@code LC_ALL=C}: the labels are translated otherwise).
     *
     * @throws DataDirectoryException when a label pgha needs is missing
     */
    public static ControlData parse(String output) {
        Map<String, String> raw = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            raw.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
        }
        return new ControlData(
                need(raw, "Database system identifier"),
                ClusterState.parse(need(raw, "Database cluster state")),
                lsn(raw, "Latest checkpoint location"),
                lsn(raw, "Latest checkpoint's REDO location"),
                integer(raw, "Latest checkpoint's TimeLineID"),
                lsn(raw, "Minimum recovery ending location"),
                integer(raw, "Min recovery ending loc's timeline"),
                "on".equals(raw.get("wal_log_hints setting")),
                !"0".equals(raw.getOrDefault("Data page checksum version", "0")),
                raw);
    }

    private static String need(Map<String, String> raw, String label) {
        String v = raw.get(label);
        if (v == null) {
            throw new DataDirectoryException("pg_controldata printed no '" + label + "' line");
        }
        return v;
    }

    private static Lsn lsn(Map<String, String> raw, String label) {
        try {
            return Lsn.parse(need(raw, label));
        } catch (RuntimeException e) {
            throw new DataDirectoryException("pg_controldata: '" + label + "' is not an LSN: " + raw.get(label), e);
        }
    }

    private static int integer(Map<String, String> raw, String label) {
        try {
            return Integer.parseInt(need(raw, label));
        } catch (NumberFormatException e) {
            throw new DataDirectoryException("pg_controldata: '" + label + "' is not a number: " + raw.get(label), e);
        }
    }
}
