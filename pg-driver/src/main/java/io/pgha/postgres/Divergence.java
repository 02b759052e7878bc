package io.pgha.postgres;

import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.Lsn;
import io.pgha.spi.Upstream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Whether local data can stream from an upstream as it is: where the local WAL ends (asked of the
 * running server, or read with pg_controldata and pg_waldump from a stopped one), what the upstream
 * says of its timeline history, and the comparison Patroni makes before a rewind. The comparison
 * and the reading of pg_waldump's last words are pure functions, tested on their own.
 */
final class Divergence {
    // one logger name for the whole controller, as before it was split into parts: operators filter on it
    private static final Logger LOG = LoggerFactory.getLogger(PgController.class);
    private static final Pattern LSN_TOKEN = Pattern.compile("\\b[0-9A-F]{1,8}/[0-9A-F]{1,8}\\b");

    private final PgConfig cfg;
    private final Binaries bin;
    private final Commands cmds;
    private final Jdbc jdbc;
    private final DataDirectory dataDir;
    private final StateReader state;

    Divergence(PgConfig cfg, Binaries bin, Commands cmds, Jdbc jdbc, DataDirectory dataDir, StateReader state) {
        this.cfg = cfg;
        this.bin = bin;
        this.cmds = cmds;
        this.jdbc = jdbc;
        this.dataDir = dataDir;
        this.state = state;
    }

    /** Compares the local data with {@code upstream}'s timeline; a server of another cluster is refused. */
    DivergenceCheck check(Upstream upstream) {
        dataDir.requireInitialized();
        ConnUrl u = ConnUrl.parse(upstream.connectionUrl());
        LocalPosition local = localPosition();
        record Remote(Walsender.Identity id, Optional<TimelineHistory> history) {
        }
        Remote remote = jdbc.remote("divergence check against " + upstream.member(), u.host(), u.port(), cfg.replicationUser(), true,
                c -> {
                    Walsender.Identity id = Walsender.identifySystem(c);
                    Optional<TimelineHistory> h = id.timeline() > local.timeline() && id.timeline() > 1
                            ? Optional.of(Walsender.timelineHistory(c, id.timeline())) : Optional.empty();
                    return new Remote(id, h);
                });
        if (!remote.id().systemId().equals(local.systemId())) {
            throw new ServerStateException(cfg.name() + ": " + upstream.member() + " belongs to another cluster (system identifier "
                    + remote.id().systemId() + ", local " + local.systemId() + ")");
        }
        DivergenceCheck result = decide(local, remote.id().timeline(), remote.history());
        LOG.info("{}: local timeline {} at {}, {} on timeline {}: {}", cfg.name(), local.timeline(),
                local.lsn().map(Lsn::toString).orElse("?"), upstream.member(), remote.id().timeline(), result);
        return result;
    }

    private LocalPosition localPosition() {
        if (dataDir.livePostmaster().filter(PidFile::ready).isPresent()) {
            if (state.isInRecovery("pg_is_in_recovery")) {
                // the walsender answers with the replay timeline and the furthest WAL on it; the replication
                // role is the one pg_hba.conf surely admits for replication connections
                Walsender.Identity id = jdbc.remote("IDENTIFY_SYSTEM (local)", cfg.localHost(), cfg.port(), cfg.replicationUser(), true,
                        Walsender::identifySystem);
                return new LocalPosition(id.systemId(), id.timeline(), Optional.of(id.xlogPos()));
            }
            return jdbc.local("local WAL position", c -> {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                        SELECT (SELECT system_identifier::text FROM pg_control_system()),
                               ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int,
                               pg_current_wal_lsn()::text""")) {
                    rs.next();
                    return new LocalPosition(rs.getString(1), rs.getInt(2), Optional.of(Lsn.parse(rs.getString(3))));
                }
            });
        }
        ControlData cd = dataDir.controlData();
        if (cd.wasInRecovery() && !cd.minRecoveryEnd().isZero() && cd.minRecoveryEndTimeline() > 0) {
            // a standby replays what its pg_wal holds when it starts again, so count that WAL too
            Optional<Lsn> end = cd.minRecoveryEndTimeline() == cd.checkpointTimeline()
                    ? endOfWal(cd.checkpointTimeline(), cd.checkpointRedo()) : Optional.empty();
            Lsn lsn = end.map(e -> Lsn.max(e, cd.minRecoveryEnd())).orElse(cd.minRecoveryEnd());
            return new LocalPosition(cd.systemIdentifier(), cd.minRecoveryEndTimeline(), Optional.of(lsn));
        }
        // a stopped or crashed primary: everything after its last checkpoint's redo point counts
        return new LocalPosition(cd.systemIdentifier(), cd.checkpointTimeline(), endOfWal(cd.checkpointTimeline(), cd.checkpointRedo()));
    }

    /**
     * The end of valid WAL on {@code timeline} from {@code start}, read with pg_waldump. It is
     * bounded with {@code -e} by the last segment file present: pg_waldump waits 5 s for a missing
     * next segment otherwise (it retries the open ten times), which is common right at a segment end.
     */
    private Optional<Lsn> endOfWal(int timeline, Lsn start) {
        long segSize = walSegmentSize();
        Optional<Lsn> lastSegmentEnd = lastSegmentEnd(timeline, segSize);
        if (lastSegmentEnd.isEmpty() || lastSegmentEnd.get().compareTo(start) <= 0) {
            return Optional.of(start);
        }
        List<String> argv = new ArrayList<>(List.of(bin.path("pg_waldump").toString(),
                "-p", cfg.dataDirectory().resolve("pg_wal").toString(),
                "-t", Integer.toString(timeline), "-s", start.toString(), "-e", lastSegmentEnd.get().toString()));
        argv.add(bin.major() >= 15 ? "--quiet" : "--stats");
        Commands.Result r = cmds.run(Commands.Cmd.of(cfg.operationTimeout(), argv));
        if (r.ok()) {
            return lastSegmentEnd; // valid up to the end of the last segment file
        }
        Optional<Lsn> end = parseEndOfWal(r.stderr(), segSize);
        if (end.isEmpty()) {
            LOG.warn("{}: could not find the end of WAL with pg_waldump: {}", cfg.name(), r.tail());
        }
        return end;
    }

    /** The end of the newest complete-named WAL segment file of {@code timeline} in pg_wal. */
    private Optional<Lsn> lastSegmentEnd(int timeline, long segSize) {
        String prefix = String.format("%08X", timeline);
        try (Stream<Path> s = Files.list(cfg.dataDirectory().resolve("pg_wal"))) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.length() == 24 && n.startsWith(prefix) && n.matches("[0-9A-F]{24}"))
                    .max(String::compareTo)
                    .map(n -> segmentStart(n, segSize).plus(segSize));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private long walSegmentSize() {
        try {
            return dataDir.controlData().get("Bytes per WAL segment").map(Long::parseLong).orElse(16L * 1024 * 1024);
        } catch (RuntimeException e) {
            return 16L * 1024 * 1024;
        }
    }

    /** Local timeline and WAL position, as far as it could matter for streaming from another timeline. */
    record LocalPosition(String systemId, int timeline, Optional<Lsn> lsn) {
    }

    /**
     * Patroni's rule (rewind.py): same timeline - fine; local timeline newer - diverged; otherwise
     * find where the upstream's history left the local timeline and compare the local end of WAL
     * with that switchpoint. Past it, the local server wrote (or received) WAL the upstream never had.
     */
    static DivergenceCheck decide(LocalPosition local, int upstreamTimeline, Optional<TimelineHistory> history) {
        if (local.timeline() == upstreamTimeline) {
            return DivergenceCheck.NOT_DIVERGED;
        }
        if (local.timeline() > upstreamTimeline) {
            return DivergenceCheck.DIVERGED;
        }
        if (history.isEmpty()) {
            return DivergenceCheck.UNKNOWN;
        }
        for (TimelineHistory.Entry e : history.get().entries()) {
            if (e.parent() == local.timeline()) {
                return local.lsn().isPresent() && local.lsn().get().compareTo(e.switchpoint()) <= 0
                        ? DivergenceCheck.NOT_DIVERGED : DivergenceCheck.DIVERGED;
            }
            if (e.parent() > local.timeline()) {
                return DivergenceCheck.DIVERGED;
            }
        }
        return DivergenceCheck.DIVERGED;
    }

    private static final Pattern INVALID_LENGTH = Pattern.compile("invalid record length at ([0-9A-F]+/[0-9A-F]+)");
    private static final Pattern PREV_LINK = Pattern.compile("incorrect prev-link \\S+ at ([0-9A-F]+/[0-9A-F]+)");
    private static final Pattern LSN_WORD = Pattern.compile("LSN ([0-9A-F]+/[0-9A-F]+)");
    private static final Pattern SEGMENT_OFFSET = Pattern.compile("segment ([0-9A-F]{24}),? offset (\\d+)");
    private static final Pattern MISSING_FILE = Pattern.compile("could not find file \"([0-9A-F]{24})\"");

    /**
     * Reads where pg_waldump stopped from its final error ("error in WAL record at A: invalid record
     * length at B: ..." and its relatives across versions): B is where the next record would start,
     * which is the end of the WAL.
     */
    static Optional<Lsn> parseEndOfWal(String stderr, long segmentSize) {
        String last = "";
        for (String line : stderr.split("\n")) {
            if (line.contains("error")) {
                last = line;
            }
        }
        if (last.isEmpty()) {
            return Optional.empty();
        }
        int colon = last.indexOf("error in WAL record at ");
        String reason = colon >= 0 ? last.substring(last.indexOf(':', colon + "error in WAL record at ".length()) + 1) : last;
        for (Pattern p : List.of(INVALID_LENGTH, PREV_LINK, LSN_WORD)) {
            Matcher m = p.matcher(reason);
            if (m.find()) {
                return Optional.of(Lsn.parse(m.group(1)));
            }
        }
        Matcher m = SEGMENT_OFFSET.matcher(reason);
        if (m.find()) {
            return Optional.of(segmentStart(m.group(1), segmentSize).plus(Long.parseLong(m.group(2))));
        }
        m = MISSING_FILE.matcher(reason);
        if (m.find()) {
            return Optional.of(segmentStart(m.group(1), segmentSize));
        }
        Matcher any = LSN_TOKEN.matcher(reason);
        Lsn found = null;
        while (any.find()) {
            found = Lsn.parse(any.group());
        }
        return Optional.ofNullable(found);
    }

    static Lsn segmentStart(String walFileName, long segmentSize) {
        long log = Long.parseLong(walFileName.substring(8, 16), 16);
        long seg = Long.parseLong(walFileName.substring(16, 24), 16);
        return Lsn.of((log << 32) + seg * segmentSize);
    }
}
