package io.pgha.postgres;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code postmaster.pid}: line 1 is the pid, line 8 (PostgreSQL 10+) the status the postmaster
 * publishes: {@code starting}, {@code ready}, {@code standby} or {@code stopping}.
 */
record PidFile(long pid, String status) {

    static Optional<PidFile> read(Path dataDir) {
        Path f = dataDir.resolve("postmaster.pid");
        try {
            String[] lines = Files.readString(f, StandardCharsets.UTF_8).split("\n");
            long pid = Long.parseLong(lines[0].strip());
            String status = lines.length >= 8 ? lines[7].strip() : "";
            return pid > 0 ? Optional.of(new PidFile(pid, status)) : Optional.empty();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            // half-written (the postmaster writes it in steps) or unreadable: treat as absent this time
            return Optional.empty();
        }
    }

    /** Accepting connections (as a primary or a hot standby). */
    boolean ready() {
        return "ready".equals(status) || "standby".equals(status);
    }
}
