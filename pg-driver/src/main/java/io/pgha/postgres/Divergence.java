package io.pgha.postgres;

import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.Lsn;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether local data can stream from an upstream as it is: the comparison Patroni makes before a
 * rewind, and the reading of pg_waldump's last words that tells where local WAL ends.
 */
final class Divergence {
    private static final Pattern LSN_TOKEN = Pattern.compile("\\b[0-9A-F]{1,8}/[0-9A-F]{1,8}\\b");

    private Divergence() {
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
