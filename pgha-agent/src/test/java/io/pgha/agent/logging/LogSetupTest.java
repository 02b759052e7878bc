package io.pgha.agent.logging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgha.ConfigurationException;
import io.pgha.agent.config.LogSection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The agent's log, as Patroni's {@code log} section describes it, on logback. */
class LogSetupTest {
    private static final Logger LOG = LoggerFactory.getLogger("io.pgha.test.LogSetupTest");

    @TempDir
    Path dir;

    @AfterEach
    void backToTheDefault() {
        LogSetup.apply(LogSection.DEFAULT);
    }

    private static LogSection section(LogSection.Type type, String format, Optional<String> dateformat, Path dir, int fileNum,
                                      long fileSize, Map<String, LogSection.Level> loggers) {
        List<LogSection.Field> fields = type == LogSection.Type.PLAIN ? List.of(new LogSection.Field(format, format))
                : List.of(new LogSection.Field("asctime", "@timestamp"), new LogSection.Field("levelname", "level"),
                        new LogSection.Field("message", "message"));
        return new LogSection(type, LogSection.Level.INFO, LogSection.Level.ERROR, fields, dateformat,
                type == LogSection.Type.JSON ? Map.of("app", "patroni") : Map.of(), 1000, Optional.of(dir), Optional.of(0640), fileNum,
                fileSize, loggers);
    }

    private String logFile() throws IOException {
        return Files.readString(dir.resolve("patroni.log"));
    }

    @Test
    void patronisDefaultFormatWritesPythonsLevelNamesAndATracebackOnlyFromErrorOn() throws Exception {
        LogSetup.apply(section(LogSection.Type.PLAIN, LogSection.DEFAULT_FORMAT, Optional.empty(), dir, 4, 25_000_000L, Map.of()));

        LOG.warn("a warning", new IllegalStateException("not shown at WARNING"));
        LOG.error("an error", new IllegalStateException("shown at ERROR"));
        LOG.debug("not at INFO");

        await().atMost(Duration.ofSeconds(5)).until(() -> logFile().contains("an error"));
        String text = logFile();
        assertThat(text).containsPattern("(?m)^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3} WARNING: a warning$");
        assertThat(text).containsPattern("(?m)^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3} ERROR: an error$");
        assertThat(text).contains("java.lang.IllegalStateException: shown at ERROR").doesNotContain("not shown at WARNING")
                .doesNotContain("not at INFO");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("patroni.log")))).isEqualTo("rw-r-----");
    }

    @Test
    void aFormatWithOtherAttributesAndAStrftimeDateComeOutAsPythonWouldPrintThem() throws Exception {
        LogSetup.apply(section(LogSection.Type.PLAIN, "[%(levelname)-8s] %(name)s (%(threadName)s) 100%%: %(message)s",
                Optional.of("%d/%m/%Y %H:%M"), dir, 4, 25_000_000L, Map.of()));

        LOG.info("hello");

        await().atMost(Duration.ofSeconds(5)).until(() -> logFile().contains("hello"));
        assertThat(logFile().strip()).isEqualTo("[INFO    ] io.pgha.test.LogSetupTest (" + Thread.currentThread().getName() + ") 100%: hello");
    }

    @Test
    void theLogRotatesAtFileSizeAndKeepsFileNumOlderFiles() throws Exception {
        LogSetup.apply(section(LogSection.Type.PLAIN, LogSection.DEFAULT_FORMAT, Optional.empty(), dir, 2, 2048, Map.of()));

        for (int i = 0; i < 400; i++) {
            LOG.info("line {} {}", i, "x".repeat(80));
        }

        await().atMost(Duration.ofSeconds(10)).until(() -> logFile().contains("line 399 "));
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("patroni.log", "patroni.log.1", "patroni.log.2");
        }
        assertThat(Files.size(dir.resolve("patroni.log.1"))).isBetween(2048L, 4096L);
    }

    @Test
    void jsonLinesCarryTheListedAttributesUnderTheirKeysAndTheStaticFields() throws Exception {
        LogSetup.apply(section(LogSection.Type.JSON, null, Optional.empty(), dir, 4, 25_000_000L, Map.of()));

        LOG.warn("as json");

        await().atMost(Duration.ofSeconds(5)).until(() -> logFile().contains("as json"));
        JsonNode line = new ObjectMapper().readTree(logFile().strip());
        assertThat(line.get("level").asText()).isEqualTo("WARNING");
        assertThat(line.get("message").asText()).isEqualTo("as json");
        assertThat(line.get("app").asText()).isEqualTo("patroni");
        assertThat(line.get("@timestamp").asText()).matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3}");
    }

    @Test
    void javaUtilLoggingAndCommonsLoggingComeOutTheSameWayAndLoggersSetTheirOwnLevels() throws Exception {
        LogSetup.apply(section(LogSection.Type.PLAIN, LogSection.DEFAULT_FORMAT, Optional.empty(), dir, 4, 25_000_000L,
                Map.of("io.grpc", LogSection.Level.INFO, "io.pgha.test.quiet", LogSection.Level.ERROR)));

        java.util.logging.Logger.getLogger("io.grpc.internal.Something").info("from grpc through JUL");
        org.apache.commons.logging.LogFactory.getLog("org.apache.http.wire").warn("from httpclient through commons-logging");
        LoggerFactory.getLogger("io.pgha.test.quiet").warn("below its logger's level");
        LOG.info("last");

        await().atMost(Duration.ofSeconds(5)).until(() -> logFile().contains("last"));
        assertThat(logFile()).contains("INFO: from grpc through JUL", "WARNING: from httpclient through commons-logging")
                .doesNotContain("below its logger's level");
    }

    @Test
    void aLogDirectoryThatDoesNotExistOrAnUnknownAttributeIsRefusedNamingTheKey() {
        assertThatThrownBy(() -> LogSetup.apply(section(LogSection.Type.PLAIN, LogSection.DEFAULT_FORMAT, Optional.empty(),
                dir.resolve("missing"), 4, 25_000_000L, Map.of())))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("log.dir");
        assertThatThrownBy(() -> LogSetup.apply(section(LogSection.Type.PLAIN, "%(relativeCreated)d %(message)s", Optional.empty(),
                dir, 4, 25_000_000L, Map.of())))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("log.format").hasMessageContaining("relativeCreated");
        assertThatThrownBy(() -> LogSetup.apply(section(LogSection.Type.PLAIN, LogSection.DEFAULT_FORMAT, Optional.of("%Q"), dir, 4,
                25_000_000L, Map.of())))
                .isInstanceOf(ConfigurationException.class).hasMessageContaining("log.dateformat");
    }
}
