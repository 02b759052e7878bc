package io.pgha.agent.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.slf4j.Logger;

import java.util.List;

/**
 * The log until the agent has read its configuration (and pghactl's): Patroni's default, INFO lines
 * on standard error, the store clients' libraries at WARN; the agent then applies its log section
 * ({@link LogSetup}). Set in code rather than by a {@code logback.xml}: reading one brings logback's
 * XML configurator and the JDK's XML parser into memory (some 250 classes) for these few lines.
 *
 * <p>Found by logback's {@code ServiceLoader} lookup. An explicit {@code -Dlogback.configurationFile}
 * or a {@code logback-test.xml} on the class path (tests) is left to logback's own configurators.
 */
public final class DefaultLogging extends ContextAwareBase implements Configurator {
    /** The libraries below pgha that log at INFO more than an operator wants to read. */
    static final List<String> QUIET = List.of("io.grpc", "io.netty", "io.vertx", "io.etcd", "org.apache.zookeeper",
            "org.apache.curator", "org.apache.http");
    /**
     * Loggers that repeat a stack trace at WARN for every retry while ZooKeeper is unreachable (the store says it
     * once, with a count and its end): ERROR only.
     */
    static final List<String> ERRORS_ONLY = List.of("org.apache.zookeeper.ClientCnxn", "org.apache.curator");
    static final String PATTERN = "%d{\"yyyy-MM-dd HH:mm:ss,SSS\"} %level: %msg%n";

    @Override
    public ExecutionStatus configure(LoggerContext ctx) {
        if (System.getProperty("logback.configurationFile") != null
                || DefaultLogging.class.getClassLoader().getResource("logback-test.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(ctx);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(ctx);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        for (String name : QUIET) {
            ctx.getLogger(name).setLevel(Level.WARN);
        }
        for (String name : ERRORS_ONLY) {
            ctx.getLogger(name).setLevel(Level.ERROR);
        }
        ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.INFO);
        root.addAppender(stderr);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}
