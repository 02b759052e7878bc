package io.pgha.agent.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.pattern.ThrowableProxyConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.CoreConstants;

/** The pattern words Python's attributes need that logback lacks. */
final class Converters {
    private Converters() {
    }

    /** Python's level names: WARNING and CRITICAL where logback says WARN and ERROR. */
    static String pythonLevel(Level level) {
        return level == Level.WARN ? "WARNING" : level.toString();
    }

    /** {@code %(levelname)s}. */
    public static final class PythonLevel extends ClassicConverter {
        @Override
        public String convert(ILoggingEvent event) {
            return pythonLevel(event.getLevel());
        }
    }

    /** {@code %(process)d}. */
    public static final class Pid extends ClassicConverter {
        private final String pid = Long.toString(ProcessHandle.current().pid());

        @Override
        public String convert(ILoggingEvent event) {
            return pid;
        }
    }

    /**
     * Python prints a traceback on the lines after the message; Patroni only for records at
     * {@code log.traceback_level} or above. The threshold is the word's option
     * ({@code %pyTraceback{ERROR}}).
     */
    public static final class Traceback extends ThrowableProxyConverter {
        private Level threshold = Level.ERROR;

        @Override
        public void start() {
            String option = getFirstOption();
            if (option != null) {
                threshold = Level.toLevel(option, Level.ERROR);
            }
            super.start();
        }

        @Override
        public String convert(ILoggingEvent event) {
            if (event.getThrowableProxy() == null || !event.getLevel().isGreaterOrEqual(threshold)) {
                return "";
            }
            String trace = super.convert(event);
            if (trace.endsWith(CoreConstants.LINE_SEPARATOR)) {
                trace = trace.substring(0, trace.length() - CoreConstants.LINE_SEPARATOR.length());
            }
            return CoreConstants.LINE_SEPARATOR + trace;
        }
    }
}
