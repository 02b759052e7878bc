package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.PghaException;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code pghactl edit-config [CLUSTER]}: changes the dynamic configuration as patronictl does. With
 * {@code --replace FILE} the file's YAML becomes the configuration, {@code --apply FILE} merges the
 * file's YAML into it ({@code null} deletes a key; {@code -} reads standard input), {@code -s} and
 * {@code -p} set single keys; with none of them {@code $EDITOR} opens the configuration. The result
 * is checked as a node reads it, the diff shown (unless {@code --quiet}), and after a confirmation
 * (unless {@code --force}) written: {@code -s}/{@code -p} alone as a {@code PATCH /config} to the
 * leader, everything else as a compare-and-set of the {@code config} key against the version read.
 */
@Command(name = "edit-config", mixinStandardHelpOptions = true, versionProvider = Ctl.Version.class,
        description = "Change the cluster's dynamic configuration: in $EDITOR, or with -s, -p, --apply, --replace.")
final class EditConfigCommand implements Callable<Integer> {
    @ParentCommand
    Ctl ctl;
    @Parameters(arity = "0..1", paramLabel = "CLUSTER")
    String cluster;
    @Option(names = {"-s", "--set"}, paramLabel = "KEY=VALUE",
            description = "set a key (dotted for nested ones; the value is read as YAML: 10, true, 'text'; 'null' deletes)")
    List<String> sets = new ArrayList<>();
    @Option(names = {"-p", "--pg"}, paramLabel = "NAME=VALUE", description = "set postgresql.parameters.NAME")
    List<String> pgSets = new ArrayList<>();
    @Option(names = "--apply", paramLabel = "FILE", description = "merge the YAML in FILE into the configuration ('-': standard input)")
    String applyFile;
    @Option(names = "--replace", paramLabel = "FILE", description = "replace the configuration with the YAML in FILE ('-': standard input)")
    String replaceFile;
    @Option(names = {"-q", "--quiet"}, description = "do not show the changes")
    boolean quiet;
    @Option(names = "--force", description = "do not ask for confirmation")
    boolean force;

    @Override
    public Integer call() {
        PrintWriter out = ctl.out();
        DcsSession s = ctl.session(cluster);
        try {
            ClusterState c = ctl.read(s, cluster);
            DcsEntry stored = c.configEntry()
                    .orElseThrow(() -> new PghaException("The config key does not exist in the cluster " + c.scope()));
            ObjectNode before = c.dynamicConfig();
            String beforeYaml = DynamicConfigEditing.toYaml(before);
            ObjectNode setsPatch = DynamicConfigEditing.setsPatch(sets, pgSets);
            boolean onlySets = applyFile == null && replaceFile == null && !setsPatch.isEmpty();

            ObjectNode after = before;
            String afterYaml = null;
            if (replaceFile != null) {
                after = DynamicConfigEditing.fromYaml(read(replaceFile), source(replaceFile));
            }
            if (applyFile != null) {
                after = DynamicConfigEditing.patched(after, DynamicConfigEditing.fromYaml(read(applyFile), source(applyFile)));
            }
            if (!setsPatch.isEmpty()) {
                after = DynamicConfigEditing.patched(after, setsPatch);
            }
            if (applyFile == null && replaceFile == null && setsPatch.isEmpty()) {
                afterYaml = edit(beforeYaml, c.scope());
                after = DynamicConfigEditing.fromYaml(afterYaml, "the edited configuration");
            }
            if (after.equals(before)) {
                if (!quiet) {
                    out.println("Not changed");
                }
                return 0;
            }
            DynamicConfigEditing.validate(after);
            if (!quiet) {
                out.print(DynamicConfigEditing.unifiedDiff(beforeYaml, afterYaml != null ? afterYaml : DynamicConfigEditing.toYaml(after)));
            }
            if (("-".equals(applyFile) || "-".equals(replaceFile)) && !force) {
                out.println("Use --force option to apply changes");
                return 0;
            }
            if (!ctl.prompt().confirm("Apply these changes?", force)) {
                out.println("Aborted");
                return 1;
            }
            if (onlySets) {
                DynamicConfigEditing.patch(ctl, s, c.view(), setsPatch);
            } else if (!DynamicConfigEditing.compareAndSet(s, after, stored.version())) {
                throw new PghaException("Config modification aborted due to concurrent changes");
            }
            out.println("Configuration changed");
            return 0;
        } finally {
            s.close();
            ctl.close();
        }
    }

    private String read(String file) {
        if (file.equals("-")) {
            return ctl.prompt().readAll();
        }
        try {
            return Files.readString(Path.of(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new PghaException("cannot read " + file + ": " + e.getMessage());
        }
    }

    private static String source(String file) {
        return file.equals("-") ? "standard input" : file;
    }

    /** Opens the configuration in {@code $EDITOR} (else {@code editor}, else {@code vi}) and returns what was saved. */
    private String edit(String text, String scope) {
        List<String> command = editorCommand();
        Path tmp = null;
        try {
            tmp = Files.createTempFile(scope.replace('/', '_') + "-config-", ".yaml");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            command.add(tmp.toString());
            int rc = new ProcessBuilder(command).inheritIO().start().waitFor();
            if (rc != 0) {
                throw new PghaException("Editor exited with return code " + rc);
            }
            return Files.readString(tmp, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new PghaException("cannot run the editor " + command.get(0) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PghaException("interrupted");
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    // a temporary file left behind
                }
            }
        }
    }

    private List<String> editorCommand() {
        String editor = ctl.environment.get("EDITOR");
        if (editor != null && !editor.isBlank()) {
            return new ArrayList<>(Arrays.asList(editor.strip().split("\\s+")));
        }
        for (String name : List.of("editor", "vi")) {
            Optional<Path> found = which(name);
            if (found.isPresent()) {
                return new ArrayList<>(List.of(found.get().toString()));
            }
        }
        throw new PghaException("EDITOR environment variable is not set. editor or vi are not available");
    }

    private Optional<Path> which(String name) {
        String path = ctl.environment.getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty()) {
                Path p = Path.of(dir, name);
                if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }
}
