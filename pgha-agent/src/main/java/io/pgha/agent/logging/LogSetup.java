package io.pgha.agent.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.jul.LevelChangePropagator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.AsyncAppenderBase;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy;
import ch.qos.logback.core.util.FileSize;
import io.pgha.ConfigurationException;
import io.pgha.agent.config.LogSection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * The agent's logging, set from Patroni's {@code log} section: logback behind SLF4J, with
 * java.util.logging (gRPC) and commons-logging (Apache HttpClient) bridged into it, written
 * through a bounded queue ({@code max_queue_size}) by one thread, to standard error or to
 * {@code <dir>/patroni.log} rotated at {@code file_size} into {@code file_num} older files.
 * Applying it again (a reload) replaces the whole configuration.
 */
public final class LogSetup {
    /** The clients under the stores log a lot at INFO: WARNING unless {@code log.loggers} says otherwise. */
    private static final Map<String, Level> QUIET = java.util.stream.Stream.concat(
                    DefaultLogging.QUIET.stream().filter(n -> !DefaultLogging.ERRORS_ONLY.contains(n)).map(n -> Map.entry(n, Level.WARN)),
                    DefaultLogging.ERRORS_ONLY.stream().map(n -> Map.entry(n, Level.ERROR)))
            .collect(java.util.stream.Collectors.toUnmodifiableMap(Map.Entry::getKey, Map.Entry::getValue));

    private LogSetup() {
    }

    /**
     * Configures logging as {@code section} says.
     *
     * @throws ConfigurationException naming the key when the log cannot be written as asked (a
     *                                directory that does not exist or cannot be written, a format
     *                                pgha cannot translate)
     */
    public static void apply(LogSection section) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return; // another SLF4J backend (an embedder's): it is configured its own way
        }
        section.dir().ifPresent(LogSetup::checkWritable);
        String datePattern = section.dateformat().map(PythonFormat::dateFormat).orElse(PythonFormat.DEFAULT_DATE);
        Level traceback = level(section.tracebackLevel());
        // translate before the reset: a refused format leaves the running configuration in place
        String pattern = section.type() == LogSection.Type.PLAIN
                ? PythonFormat.pattern(section.format().get(0).attribute(), datePattern, traceback.toString()) : null;
        JsonLines json = section.type() == LogSection.Type.JSON
                ? new JsonLines(section.format(), section.staticFields(), datePattern, traceback) : null;

        ctx.reset();
        LevelChangePropagator propagator = new LevelChangePropagator();
        propagator.setContext(ctx);
        propagator.setResetJUL(true);
        propagator.start();
        ctx.addListener(propagator);
        if (!SLF4JBridgeHandler.isInstalled()) {
            SLF4JBridgeHandler.removeHandlersForRootLogger();
            SLF4JBridgeHandler.install();
        }

        Encoder<ILoggingEvent> encoder;
        if (json != null) {
            LayoutWrappingEncoder<ILoggingEvent> e = new LayoutWrappingEncoder<>();
            json.setContext(ctx);
            json.start();
            e.setLayout(json);
            encoder = e;
        } else {
            @SuppressWarnings("unchecked")
            Map<String, String> rules = (Map<String, String>) ctx.getObject(CoreConstants.PATTERN_RULE_REGISTRY);
            Map<String, String> registry = rules == null ? new HashMap<>() : rules;
            registry.put("pyLevel", Converters.PythonLevel.class.getName());
            registry.put("pid", Converters.Pid.class.getName());
            registry.put("pyTraceback", Converters.Traceback.class.getName());
            ctx.putObject(CoreConstants.PATTERN_RULE_REGISTRY, registry);
            PatternLayoutEncoder e = new PatternLayoutEncoder();
            e.setPattern(pattern);
            encoder = e;
        }
        encoder.setContext(ctx);
        encoder.start();

        Appender<ILoggingEvent> sink = section.dir().isPresent() ? file(ctx, section, encoder) : console(ctx, encoder);
        // Patroni's two-step logging: records queue in memory and one thread writes them; a full queue drops new
        // records instead of blocking the HA loop on a slow disk or terminal
        AsyncAppenderBase<ILoggingEvent> async = new ch.qos.logback.classic.AsyncAppender();
        async.setContext(ctx);
        async.setName("queue");
        async.setQueueSize(section.maxQueueSize());
        async.setDiscardingThreshold(0);
        async.setNeverBlock(true);
        async.addAppender(sink);
        async.start();

        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(level(section.level()));
        root.addAppender(async);
        QUIET.forEach((name, l) -> ctx.getLogger(name).setLevel(l));
        section.loggers().forEach((name, l) -> ctx.getLogger(name).setLevel(level(l)));
    }

    static Level level(LogSection.Level l) {
        return switch (l) {
            case DEBUG -> Level.DEBUG;
            case INFO -> Level.INFO;
            case WARNING -> Level.WARN;
            case ERROR, CRITICAL -> Level.ERROR;
        };
    }

    private static Appender<ILoggingEvent> console(LoggerContext ctx, Encoder<ILoggingEvent> encoder) {
        ConsoleAppender<ILoggingEvent> a = new ConsoleAppender<>();
        a.setContext(ctx);
        a.setName("stderr");
        a.setTarget("System.err");
        a.setEncoder(encoder);
        a.start();
        return a;
    }

    private static Appender<ILoggingEvent> file(LoggerContext ctx, LogSection section, Encoder<ILoggingEvent> encoder) {
        Path dir = section.dir().orElseThrow();
        String file = dir.resolve("patroni.log").toString();
        RollingFileAppender<ILoggingEvent> a = new RollingFileAppender<>() {
            @Override
            public void rollover() {
                super.rollover();
                section.mode().ifPresent(m -> permissions(Path.of(file), m));
            }
        };
        a.setContext(ctx);
        a.setName("file");
        a.setFile(file);
        a.setEncoder(encoder);
        FixedWindowRollingPolicy rolling = new FixedWindowRollingPolicy();
        rolling.setContext(ctx);
        rolling.setParent(a);
        rolling.setFileNamePattern(file + ".%i");
        rolling.setMinIndex(1);
        rolling.setMaxIndex(section.fileNum());
        rolling.start();
        SizeBasedTriggeringPolicy<ILoggingEvent> trigger = new SizeBasedTriggeringPolicy<>();
        trigger.setContext(ctx);
        trigger.setMaxFileSize(new FileSize(section.fileSize()));
        // logback checks the size once a minute by default; Python's handler before each record, as Patroni's file_size means
        trigger.setCheckIncrement(ch.qos.logback.core.util.Duration.buildByMilliseconds(0));
        trigger.start();
        a.setRollingPolicy(rolling);
        a.setTriggeringPolicy(trigger);
        a.start();
        section.mode().ifPresent(m -> permissions(Path.of(file), m));
        return a;
    }

    private static void checkWritable(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ConfigurationException("log.dir", dir + " is not a directory (Patroni does not create it either)");
        }
        if (!Files.isWritable(dir)) {
            throw new ConfigurationException("log.dir", dir + " is not writable by this user");
        }
    }

    private static void permissions(Path file, int mode) {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
                PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
                PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                perms.add(order[bit]);
            }
        }
        try {
            Files.setPosixFilePermissions(file, perms);
        } catch (IOException | UnsupportedOperationException e) {
            LoggerFactory.getLogger(LogSetup.class).warn("log.mode: could not set {} on {}: {}", Integer.toOctalString(mode), file,
                    e.getMessage());
        }
    }
}
