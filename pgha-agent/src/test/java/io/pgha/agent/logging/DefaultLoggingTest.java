package io.pgha.agent.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class DefaultLoggingTest {
    @Test
    void beforeTheConfigurationIsReadInfoLinesGoToStandardErrorInPatronisFormatAndTheStoreClientsOnlyWarn() {
        LoggerContext ctx = new LoggerContext();

        DefaultLogging d = new DefaultLogging();
        d.setContext(ctx);
        assertThat(d.configure(ctx)).isEqualTo(Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);

        ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getLevel()).isEqualTo(Level.INFO);
        ConsoleAppender<ILoggingEvent> stderr = (ConsoleAppender<ILoggingEvent>) root.getAppender("STDERR");
        assertThat(stderr.getTarget()).isEqualTo("System.err");
        assertThat(stderr.isStarted()).isTrue();
        assertThat(((PatternLayoutEncoder) stderr.getEncoder()).getPattern()).isEqualTo("%d{\"yyyy-MM-dd HH:mm:ss,SSS\"} %level: %msg%n");
        for (String quiet : new String[] {"io.grpc", "io.netty", "io.vertx", "io.etcd", "org.apache.zookeeper"}) {
            assertThat(ctx.getLogger(quiet).getEffectiveLevel()).as(quiet).isEqualTo(Level.WARN);
        }
        assertThat(ctx.getLogger("io.pgha.HaNode").getEffectiveLevel()).isEqualTo(Level.INFO);
    }

    @Test
    void theAgentsLogbackIsConfiguredInCodeWithoutAnXmlFile() {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        assertThat(DefaultLoggingTest.class.getClassLoader().getResource("logback.xml")).isNull();
        assertThat(ctx.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("STDERR")).isInstanceOf(ConsoleAppender.class);
    }
}
