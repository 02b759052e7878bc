package io.pgha.postgres;

import java.time.Duration;

/** Something a {@link PgController} did or noticed, delivered to the {@link PgListener}s of its builder. */
public sealed interface PgEvent {

    /** The member name of the controller that emitted the event. */
    String member();

    /**
     * pg_basebackup reported progress while cloning.
     *
     * @param source  the member cloned from
     * @param doneKb  kilobytes copied so far
     * @param totalKb the estimated total (pg_basebackup's estimate; may grow)
     */
    record CloneProgress(String member, String source, long doneKb, long totalKb) implements PgEvent {
        /** Percent done, 0 to 100. */
        public int percent() {
            return totalKb <= 0 ? 0 : (int) Math.min(100, doneKb * 100 / totalKb);
        }
    }

    /**
     * The postmaster exited.
     *
     * @param expected {@code true} when this controller stopped it; {@code false} for a crash or an outside stop
     */
    record PostmasterExited(String member, long pid, boolean expected) implements PgEvent {
    }

    /** The write fence's deadline passed without being re-armed: the helper killed the postmaster. */
    record FenceFired(String member, long pid) implements PgEvent {
    }

    /** A standby was promoted. */
    record Promoted(String member, Duration took) implements PgEvent {
    }
}
