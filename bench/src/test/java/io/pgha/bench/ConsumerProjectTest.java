package io.pgha.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * pgha as a user of the published artifacts gets it: {@code bench/consumer-test.sh} builds and installs
 * this checkout into a private local repository (never ~/.m2), checks what a deploy would publish
 * (sources, javadoc, Automatic-Module-Name; no examples, no bench), compiles a project of its own from
 * the README's BOM and snippet, compares its libraries with pgha's own, and runs the snippet against
 * real etcd and PostgreSQL. Skipped with {@code -Dpgha.consumer.skip=true}.
 */
class ConsumerProjectTest {
    @Test
    void aUserProjectWithTheBomAndTheReadmeSnippetBuildsResolvesPghasLibrariesAndRunsANode() throws IOException, InterruptedException {
        assumeFalse(Boolean.getBoolean("pgha.consumer.skip"), "pgha.consumer.skip");
        Path root = Path.of("").toAbsolutePath().getParent();
        Path script = root.resolve("bench/consumer-test.sh");
        assertThat(script).exists();
        Path log = Files.createDirectories(Path.of("target")).resolve("consumer-test.log");
        Process p = new ProcessBuilder("bash", script.toString()).directory(root.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(6, TimeUnit.MINUTES);
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(done).as("consumer-test.sh finished within 6 minutes:\n%s", out).isTrue();
        assertThat(p.exitValue()).as("consumer-test.sh exit code:\n%s", out).isZero();
        assertThat(out).contains("consumer-test: OK");
    }
}
