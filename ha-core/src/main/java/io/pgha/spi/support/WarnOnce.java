package io.pgha.spi.support;

import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;

/**
 * Logs a warning once per subject: a foreign key or a corrupt value that every read meets must not
 * flood the log. Remembers at most a fixed number of subjects; past that, warnings are dropped
 * rather than memory growing without bound. Thread-safe.
 */
public final class WarnOnce {
    private final Logger log;
    private final int maxSubjects;
    private final Set<String> warned = ConcurrentHashMap.newKeySet();

    /**
     * @param log         where the warnings go
     * @param maxSubjects how many subjects to remember at the most
     */
    public WarnOnce(Logger log, int maxSubjects) {
        this.log = Objects.requireNonNull(log, "log");
        if (maxSubjects < 1) {
            throw new IllegalArgumentException("maxSubjects must be positive");
        }
        this.maxSubjects = maxSubjects;
    }

    /**
     * Logs {@code format} (slf4j's {@code {}} placeholders, filled from {@code args}) at WARN if
     * {@code subject} was not warned about before; returns whether it was logged.
     */
    public boolean warn(String subject, String format, Object... args) {
        Objects.requireNonNull(subject, "subject");
        if (warned.size() >= maxSubjects || !warned.add(subject)) {
            return false;
        }
        if (args.length == 0) {
            log.warn(format);
        } else {
            log.warn(format, args);
        }
        return true;
    }

    /** Forgets {@code subject}: the condition ended, and a later recurrence is worth a warning again. */
    public void clear(String subject) {
        warned.remove(Objects.requireNonNull(subject, "subject"));
    }
}
