package io.pgha.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.PghaVersion;
import io.pgha.agent.ctl.Ctl;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** {@code pgha --version} and {@code pghactl --version} print the library's version (PghaVersion), not a copy of it. */
class VersionOptionTest {
    @Test
    void theAgentAndPghactlPrintPghaVersion() {
        assertThat(run(true, "--version")).isEqualTo("pgha " + PghaVersion.current() + "\n");
        assertThat(run(false, "--version")).isEqualTo("pghactl " + PghaVersion.current() + "\n");
        assertThat(PghaVersion.current()).doesNotContain("${").isNotEqualTo("0.0.0-unknown");
    }

    private static String run(boolean agent, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = agent ? Agent.run(args, new PrintWriter(out, true), new PrintWriter(err, true))
                : Ctl.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(code).as("exit code; err: %s", err).isZero();
        return out.toString();
    }
}
