package io.pgha.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.agent.Agent;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pgha CONFIG} with a configuration it refuses: exit code 2, one line naming the key or place, no stack trace. */
class AgentStartupConfigErrorTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String yaml) throws IOException {
        Path file = dir.resolve("patroni.yml");
        Files.writeString(file, yaml);
        return Agent.run(new String[] {file.toString()}, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void aYamlSyntaxErrorExitsWithTwoAndNamesTheFileLineAndColumn() throws IOException {
        int rc = run("scope: s\nname: n\nrestapi:\n  listen: 127.0.0.1:8008\n connect_address: 127.0.0.1:8008\n");
        assertThat(rc).isEqualTo(2);
        assertThat(err.toString()).startsWith("pgha: config: " + dir.resolve("patroni.yml") + ":5:2: not valid YAML: ");
        assertThat(err.toString().lines()).hasSize(1);
        assertThat(err.toString()).doesNotContain("\tat ").doesNotContain("Exception");
    }

    @Test
    void anUnknownKeyExitsWithTwoAndNamesTheKey() throws IOException {
        int rc = run("scope: s\nname: n\netcd3: {hosts: 127.0.0.1:2379}\nrestapi: {listen: 127.0.0.1:8008, keyfil: /k.pem}\n");
        assertThat(rc).isEqualTo(2);
        assertThat(err.toString()).isEqualTo("pgha: restapi.keyfil: unknown key (did you mean restapi.keyfile?) (at "
                + dir.resolve("patroni.yml") + ":4:35)" + System.lineSeparator());
    }

    @Test
    void aMissingFileExitsWithTwo() {
        int rc = Agent.run(new String[] {dir.resolve("missing.yml").toString()}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(rc).isEqualTo(2);
        assertThat(err.toString()).isEqualTo("pgha: config: " + dir.resolve("missing.yml") + " does not exist" + System.lineSeparator());
    }
}
