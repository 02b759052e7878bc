package io.pgha.postgres;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The PostgreSQL programs of one installation and its version. Looked up from the configured
 * folder, else {@code pg_config --bindir}, else the newest {@code /usr/lib/postgresql/<major>/bin}
 * (Debian's and Ubuntu's layout, where several majors live side by side).
 */
record Binaries(Path dir, int major, int versionNum, String version) {
    static final List<String> REQUIRED = List.of("initdb", "pg_ctl", "postgres", "pg_basebackup", "pg_rewind",
            "pg_controldata", "pg_waldump");
    static final int MIN_MAJOR = 13;
    static final int MAX_TESTED_MAJOR = 17;
    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)(?:\\.(\\d+))?");

    Path path(String program) {
        return dir.resolve(program);
    }

    static Binaries locate(Optional<Path> configured) {
        List<String> looked = new ArrayList<>();
        if (configured.isPresent()) {
            Path d = configured.get();
            List<String> missing = missing(d);
            if (!missing.isEmpty()) {
                throw new BinaryNotFoundException("PostgreSQL programs missing in the configured bin directory " + d + ": "
                        + String.join(", ", missing) + " (it must hold " + String.join(", ", REQUIRED) + ")");
            }
            return inspect(d);
        }
        Optional<Path> fromPgConfig = pgConfigBindir();
        if (fromPgConfig.isPresent()) {
            if (missing(fromPgConfig.get()).isEmpty()) {
                return inspect(fromPgConfig.get());
            }
            looked.add(fromPgConfig.get() + " (from pg_config --bindir; missing " + String.join(", ", missing(fromPgConfig.get())) + ")");
        } else {
            looked.add("pg_config --bindir (no pg_config on PATH)");
        }
        Path debian = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(debian)) {
            try (Stream<Path> s = Files.list(debian)) {
                List<Path> majors = s.filter(p -> p.getFileName().toString().matches("\\d+(\\.\\d+)?"))
                        .sorted(Comparator.comparingDouble((Path p) -> Double.parseDouble(p.getFileName().toString())).reversed())
                        .toList();
                for (Path m : majors) {
                    Path bin = m.resolve("bin");
                    if (missing(bin).isEmpty()) {
                        return inspect(bin);
                    }
                    looked.add(bin + " (missing " + String.join(", ", missing(bin)) + ")");
                }
            } catch (IOException e) {
                looked.add(debian + " (unreadable: " + e.getMessage() + ")");
            }
        } else {
            looked.add(debian + "/<major>/bin (no such folder)");
        }
        throw new BinaryNotFoundException("no PostgreSQL installation found; looked at " + String.join("; ", looked)
                + ". Set binDirectory(...) to the folder holding " + String.join(", ", REQUIRED));
    }

    private static List<String> missing(Path dir) {
        List<String> out = new ArrayList<>();
        for (String p : REQUIRED) {
            if (!Files.isExecutable(dir.resolve(p))) {
                out.add(p);
            }
        }
        return out;
    }

    private static Optional<Path> pgConfigBindir() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String d : path.split(":")) {
            Path pc = Path.of(d.isEmpty() ? "." : d, "pg_config");
            if (Files.isExecutable(pc)) {
                return run(List.of(pc.toString(), "--bindir")).map(String::strip).filter(s -> !s.isEmpty()).map(Path::of);
            }
        }
        return Optional.empty();
    }

    /** Reads the version from {@code postgres --version} (allowed as root, unlike starting a server). */
    static Binaries inspect(Path dir) {
        String out = run(List.of(dir.resolve("postgres").toString(), "--version"))
                .orElseThrow(() -> new BinaryNotFoundException("cannot run " + dir.resolve("postgres") + " --version"));
        Matcher m = VERSION.matcher(out);
        if (!m.find()) {
            throw new BinaryNotFoundException("cannot read the version from '" + out.strip() + "' (" + dir + ")");
        }
        int major = Integer.parseInt(m.group(1));
        int minor = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
        if (major < MIN_MAJOR) {
            throw new BinaryNotFoundException("PostgreSQL " + major + "." + minor + " in " + dir + " is not supported (pgha needs "
                    + MIN_MAJOR + " or newer)");
        }
        return new Binaries(dir, major, major * 10000 + minor, major + "." + minor);
    }

    private static Optional<String> run(List<String> argv) {
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return Optional.empty();
            }
            return Optional.of(new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
