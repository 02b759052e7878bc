package io.pgha.publishing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * pgha as its users get it from Maven Central, and its API contract. Each test runs a script of
 * {@code bench/} on a copy of this checkout, with private local repositories under /tmp (never
 * ~/.m2, which they only read). Skipped with {@code -Dpgha.publishing.skip=true}.
 */
class PublishingTest {
    /**
     * {@code bench/consumer-test.sh}: what a deploy publishes (sources, javadoc, Automatic-Module-Name;
     * never examples or bench), and a user's project made of the README's BOM block and snippet:
     * it builds with a converged dependency set, resolves the same libraries as pgha's own tests, and
     * runs a node against real etcd and PostgreSQL until it is primary.
     */
    @Test
    void aUserProjectWithTheBomAndTheReadmeSnippetBuildsResolvesPghasLibrariesAndRunsANode() throws Exception {
        run("bench/consumer-test.sh", "consumer-test: OK");
    }

    /**
     * {@code bench/api-baseline-check.sh}: against a locally installed 0.1.0, an unchanged API and an
     * internal change pass, a removed public method fails the build, and a baseline that does not
     * exist is skipped.
     */
    @Test
    void theApiBaselineFailsABreakingChangeAndOnlyThat() throws Exception {
        run("bench/api-baseline-check.sh", "api-baseline-check: OK");
    }

    private static void run(String script, String ok) throws IOException, InterruptedException {
        assumeFalse(Boolean.getBoolean("pgha.publishing.skip"), "pgha.publishing.skip");
        Path root = Path.of("").toAbsolutePath().getParent();
        assertThat(root.resolve(script)).exists();
        Path log = Files.createDirectories(Path.of("target")).resolve(Path.of(script).getFileName() + ".log");
        Process p = new ProcessBuilder("bash", root.resolve(script).toString()).directory(root.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(15, TimeUnit.MINUTES);
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(done).as("%s finished within 15 minutes:%n%s", script, out).isTrue();
        assertThat(p.exitValue()).as("%s exit code:%n%s", script, out).isZero();
        assertThat(out).contains(ok);
    }
}
