package io.pgha.agent.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.pattern.ThrowableProxyConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ConfigurationException;
import io.pgha.agent.config.LogSection;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Patroni's {@code log.type: json}: one JSON object a line, with the attributes {@code log.format}
 * lists under the keys it gives, and {@code log.static_fields}.
 */
final class JsonLines extends LayoutBase<ILoggingEvent> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ATTRIBUTES = Set.of("asctime", "created", "msecs", "levelname", "levelno", "message", "name",
            "module", "threadName", "thread", "process", "filename", "funcName", "lineno");
    private static final long PID = ProcessHandle.current().pid();

    private final List<LogSection.Field> fields;
    private final Map<String, String> staticFields;
    private final DateTimeFormatter dates;
    private final Level tracebackLevel;
    private final ThrowableProxyConverter traces = new ThrowableProxyConverter();

    JsonLines(List<LogSection.Field> fields, Map<String, String> staticFields, String datePattern, Level tracebackLevel) {
        for (LogSection.Field f : fields) {
            if (!ATTRIBUTES.contains(f.attribute())) {
                throw new ConfigurationException("log.format", "the attribute " + f.attribute() + " is not supported by pgha (supported: "
                        + String.join(", ", new java.util.TreeSet<>(ATTRIBUTES)) + ")");
            }
        }
        this.fields = List.copyOf(fields);
        this.staticFields = Map.copyOf(staticFields);
        this.dates = DateTimeFormatter.ofPattern(datePattern).withZone(ZoneId.systemDefault());
        this.tracebackLevel = tracebackLevel;
    }

    @Override
    public void start() {
        traces.start();
        super.start();
    }

    @Override
    public String doLayout(ILoggingEvent e) {
        ObjectNode o = JSON.createObjectNode();
        Instant at = Instant.ofEpochMilli(e.getTimeStamp());
        for (LogSection.Field f : fields) {
            switch (f.attribute()) {
                case "asctime" -> o.put(f.key(), dates.format(at));
                case "created" -> o.put(f.key(), e.getTimeStamp() / 1000.0);
                case "msecs" -> o.put(f.key(), e.getTimeStamp() % 1000);
                case "levelname" -> o.put(f.key(), Converters.pythonLevel(e.getLevel()));
                case "levelno" -> o.put(f.key(), levelNumber(e.getLevel()));
                case "message" -> o.put(f.key(), e.getFormattedMessage());
                case "name" -> o.put(f.key(), e.getLoggerName());
                case "module" -> o.put(f.key(), e.getLoggerName().substring(e.getLoggerName().lastIndexOf('.') + 1));
                case "threadName", "thread" -> o.put(f.key(), e.getThreadName());
                case "process" -> o.put(f.key(), PID);
                case "filename", "funcName", "lineno" -> caller(o, f, e);
                default -> throw new IllegalStateException(f.attribute());
            }
        }
        staticFields.forEach(o::put);
        if (e.getThrowableProxy() != null && e.getLevel().isGreaterOrEqual(tracebackLevel)) {
            o.put("exc_info", traces.convert(e).strip());
        }
        try {
            return JSON.writeValueAsString(o) + CoreConstants.LINE_SEPARATOR;
        } catch (JsonProcessingException ex) {
            return "{\"message\":\"unprintable log record\"}" + CoreConstants.LINE_SEPARATOR;
        }
    }

    private static void caller(ObjectNode o, LogSection.Field f, ILoggingEvent e) {
        StackTraceElement[] cd = e.getCallerData();
        if (cd == null || cd.length == 0) {
            o.putNull(f.key());
            return;
        }
        switch (f.attribute()) {
            case "filename" -> o.put(f.key(), cd[0].getFileName());
            case "funcName" -> o.put(f.key(), cd[0].getMethodName());
            default -> o.put(f.key(), cd[0].getLineNumber());
        }
    }

    private static int levelNumber(Level l) {
        return switch (l.toInt()) {
            case Level.ERROR_INT -> 40;
            case Level.WARN_INT -> 30;
            case Level.INFO_INT -> 20;
            default -> 10;
        };
    }
}
