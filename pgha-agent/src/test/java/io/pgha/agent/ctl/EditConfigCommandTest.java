package io.pgha.agent.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgha.spi.ClusterKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** pghactl edit-config with --apply, --replace and the editor: what it writes, what it refuses, what it shows. */
class EditConfigCommandTest {
    private static final String CONFIG = "{\"ttl\":30,\"loop_wait\":10,\"postgresql\":{\"parameters\":{\"work_mem\":\"4MB\"}}}";
    private CtlFixture f;

    @BeforeEach
    void cluster() throws IOException {
        // no leader: nothing to ask over REST, the command writes to the store
        f = new CtlFixture("batman").key(ClusterKey.INITIALIZE, "1").key(ClusterKey.CONFIG, CONFIG);
    }

    @AfterEach
    void close() throws IOException {
        f.close();
    }

    private JsonNode stored() throws IOException {
        return Entries.JSON.readTree(f.value(ClusterKey.CONFIG).orElseThrow());
    }

    private Path file(String name, String text) throws IOException {
        return Files.writeString(f.dir.resolve(name), text);
    }

    @Test
    void applyMergesAYamlPatchFromAFileAndANullDeletesAKey() throws IOException {
        Path patch = file("patch.yml", "loop_wait: 5\nttl: null\npostgresql:\n  parameters:\n    max_connections: 200\n");
        CtlFixture.Run r = f.run("", "edit-config", "--apply", patch.toString(), "--force");
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(stored()).isEqualTo(Entries.JSON.readTree(
                "{\"loop_wait\":5,\"postgresql\":{\"parameters\":{\"work_mem\":\"4MB\",\"max_connections\":200}}}"));
        assertThat(r.out()).isEqualTo("""
                --- \n+++ \n@@ -1,5 +1,5 @@
                -ttl: 30
                -loop_wait: 10
                +loop_wait: 5
                 postgresql:
                   parameters:
                     work_mem: 4MB
                +    max_connections: 200
                Configuration changed
                """);
    }

    @Test
    void replaceMakesTheFileTheWholeConfiguration() throws IOException {
        Path replacement = file("new.yml", "ttl: 20\nretry_timeout: 8\n");
        CtlFixture.Run r = f.run("", "edit-config", "--replace", replacement.toString(), "--force", "--quiet");
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("Configuration changed\n");
        assertThat(stored()).isEqualTo(Entries.JSON.readTree("{\"ttl\":20,\"retry_timeout\":8}"));
    }

    @Test
    void aReplacementANodeCouldNotReadIsRefusedNamingTheKeyAndNothingIsWritten() throws IOException {
        Path replacement = file("bad.yml", "ttl: soon\nloop_wait: 10\n");
        CtlFixture.Run r = f.run("", "edit-config", "--replace", replacement.toString(), "--force");
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.err()).contains("invalid configuration").contains("ttl");
        assertThat(f.value(ClusterKey.CONFIG)).contains(CONFIG);
    }

    @Test
    void aPatchThatBreaksAValueIsRefusedToo() throws IOException {
        Path patch = file("bad.yml", "synchronous_node_count: many\n");
        CtlFixture.Run r = f.run("", "edit-config", "--apply", patch.toString(), "--force");
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.err()).contains("synchronous_node_count");
        assertThat(f.value(ClusterKey.CONFIG)).contains(CONFIG);
    }

    @Test
    void aPatchFromStandardInputIsOnlyShownWithoutForceAndWrittenWithIt() throws IOException {
        CtlFixture.Run shown = f.run("loop_wait: 3\n", "edit-config", "--apply", "-");
        assertThat(shown.rc()).isZero();
        assertThat(shown.out()).contains("+loop_wait: 3").endsWith("Use --force option to apply changes\n");
        assertThat(f.value(ClusterKey.CONFIG)).contains(CONFIG);

        CtlFixture.Run written = f.run("loop_wait: 3\n", "edit-config", "--apply", "-", "--force");
        assertThat(written.rc()).as(written.err()).isZero();
        assertThat(stored().path("loop_wait").asInt()).isEqualTo(3);
    }

    @Test
    void answeringNoToTheQuestionWritesNothing() throws IOException {
        Path patch = file("patch.yml", "loop_wait: 5\n");
        CtlFixture.Run r = f.run("n\n", "edit-config", "--apply", patch.toString());
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.out()).contains("Apply these changes? [y/N]: ").endsWith("Aborted\n");
        assertThat(f.value(ClusterKey.CONFIG)).contains(CONFIG);
        assertThat(f.run("y\n", "edit-config", "--apply", patch.toString()).out()).endsWith("Configuration changed\n");
        assertThat(stored().path("loop_wait").asInt()).isEqualTo(5);
    }

    @Test
    void aPatchThatChangesNothingSaysSo() throws IOException {
        Path patch = file("same.yml", "ttl: 30\n");
        assertThat(f.run("", "edit-config", "--apply", patch.toString(), "--force").out()).isEqualTo("Not changed\n");
    }

    @Test
    void withoutChangesOnTheCommandLineTheEditorOpensTheConfiguration() throws IOException {
        Path editor = file("fake-editor.sh", "#!/bin/sh\nsed -i 's/loop_wait: 10/loop_wait: 7/' \"$1\"\n");
        Files.setPosixFilePermissions(editor, PosixFilePermissions.fromString("rwx------"));
        f.env.put("EDITOR", editor.toString());
        CtlFixture.Run r = f.run("", "edit-config", "--force");
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(r.out()).contains("-loop_wait: 10\n+loop_wait: 7\n").endsWith("Configuration changed\n");
        assertThat(stored().path("loop_wait").asInt()).isEqualTo(7);
    }

    @Test
    void anEditorThatFailsChangesNothing() throws IOException {
        f.env.put("EDITOR", "false");
        CtlFixture.Run r = f.run("", "edit-config", "--force");
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.err()).contains("Editor exited with return code 1");
        assertThat(f.value(ClusterKey.CONFIG)).contains(CONFIG);
    }

    @Test
    void setAndPgStillPatchSingleKeysAndDottedSettingNamesStayWhole() throws IOException {
        CtlFixture.Run r = f.run("", "edit-config", "-s", "ttl=20", "-p", "auto_explain.log_min_duration=100", "--force");
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(stored().path("ttl").asInt()).isEqualTo(20);
        assertThat(stored().path("postgresql").path("parameters").path("auto_explain.log_min_duration").asInt()).isEqualTo(100);
    }

    @Test
    void aClusterWithoutAConfigurationKeyCannotBeEdited() throws IOException {
        try (CtlFixture g = new CtlFixture("robin").key(ClusterKey.INITIALIZE, "1")) {
            CtlFixture.Run r = g.run("", "edit-config", "-s", "ttl=20", "--force");
            assertThat(r.rc()).isEqualTo(1);
            assertThat(r.err()).contains("The config key does not exist in the cluster robin");
        }
    }
}
