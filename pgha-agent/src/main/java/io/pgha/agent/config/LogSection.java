package io.pgha.agent.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Patroni's {@code log} section: where the agent's log goes and how it looks. Absent keys take
 * Patroni's defaults.
 *
 * @param type          {@code plain} lines, or {@code json} objects (one per line)
 * @param level         the root level (Patroni's {@code INFO} by default)
 * @param tracebackLevel a stack trace is printed only with a record at this level or above (Patroni's {@code ERROR})
 * @param format        plain: a Python logging format ({@code %(asctime)s %(levelname)s: %(message)s});
 *                      json: the fields, each printed under its own name or the one given
 * @param dateformat    a Python {@code strftime} format for {@code asctime}, empty: Python's default
 * @param staticFields  json: fields added to every record
 * @param maxQueueSize  records waiting to be written before new ones are dropped (Patroni's 1000)
 * @param dir           a directory for {@code patroni.log} and its rotations; empty: standard error
 * @param mode          POSIX permissions of the log files (octal, e.g. {@code 0640}); empty: the umask's
 * @param fileNum       rotated files kept besides the current one (Patroni's 4)
 * @param fileSize      bytes after which the file rotates (Patroni's 25,000,000)
 * @param loggers       levels for single loggers (Java logger names, e.g. {@code io.pgha.dcs.etcd})
 */
public record LogSection(Type type, Level level, Level tracebackLevel, List<Field> format, Optional<String> dateformat,
                         Map<String, String> staticFields, int maxQueueSize, Optional<Path> dir, Optional<Integer> mode,
                         int fileNum, long fileSize, Map<String, Level> loggers) {
    /** Patroni's default format. */
    public static final String DEFAULT_FORMAT = "%(asctime)s %(levelname)s: %(message)s";

    /** Patroni's defaults: plain INFO lines on standard error. */
    public static final LogSection DEFAULT = new LogSection(Type.PLAIN, Level.INFO, Level.ERROR,
            List.of(new Field(DEFAULT_FORMAT, DEFAULT_FORMAT)), Optional.empty(), Map.of(), 1000, Optional.empty(), Optional.empty(),
            4, 25_000_000L, Map.of());

    public LogSection {
        Objects.requireNonNull(type);
        Objects.requireNonNull(level);
        Objects.requireNonNull(tracebackLevel);
        format = List.copyOf(format);
        Objects.requireNonNull(dateformat);
        staticFields = Map.copyOf(staticFields);
        Objects.requireNonNull(dir);
        Objects.requireNonNull(mode);
        loggers = Map.copyOf(loggers);
    }

    public enum Type { PLAIN, JSON }

    /** Python's levels, as Patroni names them. */
    public enum Level { DEBUG, INFO, WARNING, ERROR, CRITICAL }

    /**
     * One item of {@code format}. Plain: a single item whose {@code attribute} is the whole format
     * string. Json: a LogRecord attribute and the key it is printed under.
     */
    public record Field(String attribute, String key) {
        public Field {
            Objects.requireNonNull(attribute);
            Objects.requireNonNull(key);
        }
    }
}
