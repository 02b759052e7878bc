package io.pgha.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pgha.ConfigurationException;
import io.pgha.HaEvent;
import io.pgha.HaEvent.PostgresChange;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CallbacksTest {
    @TempDir
    Path dir;

    private Path script(String name, String body) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    private List<String> lines(Path file) throws Exception {
        return Files.exists(file) ? Files.readAllLines(file) : List.of();
    }

    @Test
    void eachChangeRunsItsCallbackWithPatronisArgumentsInOrder() throws Exception {
        Path log = dir.resolve("calls.log");
        Path cb = script("cb.sh", "echo \"$@\" >> " + log);
        try (Callbacks callbacks = new Callbacks("orders", Map.of("on_start", List.of(cb.toString()),
                "on_role_change", List.of(cb.toString(), "--verbose")), Duration.ofSeconds(30))) {
            callbacks.onEvent(new HaEvent.PostgresChanged("n1", PostgresChange.STARTED, "replica"));
            await().atMost(Duration.ofSeconds(10)).until(() -> lines(log).size() == 1);
            callbacks.onEvent(new HaEvent.PostgresChanged("n1", PostgresChange.ROLE_CHANGED, "primary"));
            callbacks.onEvent(new HaEvent.PostgresChanged("n1", PostgresChange.RESTARTED, "primary"));
            await().atMost(Duration.ofSeconds(10)).until(() -> lines(log).size() == 2);
        }
        assertThat(lines(log)).containsExactly("on_start replica orders", "--verbose on_role_change primary orders");
    }

    @Test
    void aCallbackStillRunningWhenTheNextIsDueIsTerminated() throws Exception {
        Path log = dir.resolve("calls.log");
        Path slow = script("slow.sh", "echo started-$1 >> " + log + "; sleep 30; echo finished-$1 >> " + log);
        try (Callbacks callbacks = new Callbacks("c", Map.of("on_start", List.of(slow.toString()),
                "on_role_change", List.of(script("fast.sh", "echo $1 >> " + log).toString())), Duration.ofSeconds(60))) {
            callbacks.onEvent(new HaEvent.PostgresChanged("n1", PostgresChange.STARTED, "replica"));
            await().atMost(Duration.ofSeconds(10)).until(() -> lines(log).contains("started-on_start"));
            callbacks.onEvent(new HaEvent.PostgresChanged("n1", PostgresChange.ROLE_CHANGED, "primary"));
            await().atMost(Duration.ofSeconds(10)).until(() -> lines(log).contains("on_role_change"));
        }
        assertThat(lines(log)).doesNotContain("finished-on_start");
    }

    @Test
    void aCallbackPastItsTimeoutIsKilledAndTheNextStillRuns() throws Exception {
        Path log = dir.resolve("calls.log");
        Path hangs = script("hangs.sh", "sleep 30; echo finished >> " + log);
        try (Callbacks callbacks = new Callbacks("c", Map.of("on_stop", List.of(hangs.toString()),
                "on_start", List.of(script("ok.sh", "echo $1 >> " + log).toString())), Duration.ofMillis(500))) {
            callbacks.onEvent(new HaEvent.PostgresChanged("n1", PostgresChange.STOPPED, "replica"));
            callbacks.onEvent(new HaEvent.PostgresChanged("n1", PostgresChange.STARTED, "replica"));
            await().atMost(Duration.ofSeconds(10)).until(() -> lines(log).contains("on_start"));
        }
        assertThat(lines(log)).containsExactly("on_start");
    }

    @Test
    void aCommandIsSplitAsTheShellWouldAndAnUnterminatedQuoteIsNamed() {
        assertThat(ShellWords.split("postgresql.callbacks.on_start", "/bin/cb 'two words' \"x\\\"y\" z\\ w"))
                .containsExactly("/bin/cb", "two words", "x\"y", "z w");
        assertThatThrownBy(() -> ShellWords.split("postgresql.callbacks.on_start", "/bin/cb 'open"))
                .isInstanceOf(ConfigurationException.class).hasMessageStartingWith("postgresql.callbacks.on_start:");
    }
}
