package io.pgha.examples.witness;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The example is written as a user would write a store: on pgha's public packages only. Checked
 * twice, in the sources (every {@code io.pgha...} name they mention) and in the compiled classes
 * (every {@code io/pgha/...} type their constant pools refer to), so that neither an import nor a
 * fully qualified name nor an inlined reference slips through.
 */
class NoInternalApiTest {
    /** What the store's own code may use of pgha: the public API, the SPI and its helpers, and itself. */
    private static final Set<String> MAIN_MAY_USE = Set.of("io.pgha", "io.pgha.spi", "io.pgha.spi.support", "io.pgha.examples.witness");
    private static final Pattern SOURCE_NAME = Pattern.compile("\\bio\\.pgha(\\.[a-z][a-z0-9_]*)*");
    private static final Pattern CLASS_REF = Pattern.compile("io/pgha/([a-z0-9_]+/)*");

    @Test
    void theStoresSourcesNameOnlyPublicPackages() throws IOException {
        Set<String> used = new TreeSet<>();
        for (Path f : files(Path.of("src", "main", "java"), ".java")) {
            Matcher m = SOURCE_NAME.matcher(Files.readString(f, StandardCharsets.UTF_8));
            while (m.find()) {
                used.add(m.group());
            }
        }
        assertThat(used).as("io.pgha packages named in src/main/java").isNotEmpty().isSubsetOf(MAIN_MAY_USE);
    }

    @Test
    void theStoresClassesReferToOnlyPublicPackages() throws IOException, URISyntaxException {
        Path classes = Path.of(WitnessDcs.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Set<String> used = new TreeSet<>();
        List<Path> compiled = files(classes, ".class");
        assertThat(compiled).as("compiled classes in " + classes).isNotEmpty();
        for (Path f : compiled) {
            Matcher m = CLASS_REF.matcher(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1));
            while (m.find()) {
                String pkg = m.group();
                used.add(pkg.substring(0, pkg.length() - 1).replace('/', '.'));
            }
        }
        assertThat(used).as("io.pgha packages the compiled store refers to").isNotEmpty().isSubsetOf(MAIN_MAY_USE);
    }

    @Test
    void noSourceOfTheModuleMentionsTheInternalPackages() throws IOException {
        for (Path f : files(Path.of("src"), ".java")) {
            assertThat(Files.readString(f, StandardCharsets.UTF_8)).as(f.toString()).doesNotContain("io.pgha" + ".internal");
        }
    }

    private static List<Path> files(Path root, String suffix) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.toString().endsWith(suffix)).sorted().toList();
        }
    }
}
