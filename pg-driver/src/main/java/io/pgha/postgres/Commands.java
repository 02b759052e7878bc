package io.pgha.postgres;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs PostgreSQL programs: as the server's user when the JVM is root ({@code runuser -u postgres --}),
 * with a clean environment (no inherited {@code PG*} variables, {@code LC_ALL=C} so the output can be
 * parsed, {@code PGPASSFILE} pointing at pgha's pass file so no password is ever an argument), a time
 * limit, and the output captured with passwords scrubbed.
 */
final class Commands {
    private static final Logger LOG = LoggerFactory.getLogger(Commands.class);
    private static final int KEEP_OUTPUT = 64 * 1024;

    /** What a program printed and how it exited. */
    record Result(String program, int exitCode, String stdout, String stderr) {
        boolean ok() {
            return exitCode == 0;
        }

        /** The last lines of stderr (or stdout when stderr is empty), for messages. */
        String tail() {
            String text = stderr.isBlank() ? stdout : stderr;
            String[] lines = text.strip().split("\n");
            int from = Math.max(0, lines.length - 6);
            return String.join(" | ", java.util.Arrays.asList(lines).subList(from, lines.length)).strip();
        }
    }

    /**
     * One program run.
     *
     * @param asServerUser run it as the server's user (every program that touches the data directory)
     * @param stdin        a file to read stdin from; {@code /dev/null} when empty
     * @param stderrLines  receives stderr line by line ({@code \r} also ends a line: pg_basebackup's progress)
     */
    record Cmd(List<String> argv, boolean asServerUser, Duration timeout, Optional<Path> stdin,
               Optional<Consumer<String>> stderrLines, Map<String, String> env) {
        Cmd {
            argv = List.copyOf(argv);
            env = Map.copyOf(env);
        }

        static Cmd of(Duration timeout, List<String> argv) {
            return new Cmd(argv, true, timeout, Optional.empty(), Optional.empty(), Map.of());
        }

        Cmd onStderr(Consumer<String> lines) {
            return new Cmd(argv, asServerUser, timeout, stdin, Optional.of(lines), env);
        }

        String program() {
            return Path.of(argv.get(0)).getFileName().toString();
        }
    }

    private final Optional<String> runAs;
    private final Path passFile;
    private final Path serviceFile;
    private final Redactor redactor;

    Commands(Optional<String> runAs, Path passFile, Path serviceFile, Redactor redactor) {
        this.serviceFile = serviceFile;
        this.runAs = runAs;
        this.passFile = passFile;
        this.redactor = redactor;
    }

    Optional<String> runAs() {
        return runAs;
    }

    /** Runs the command; a non-zero exit is returned, not thrown. Throws only on timeout or when it cannot start. */
    Result run(Cmd cmd) {
        List<String> argv = new ArrayList<>();
        if (cmd.asServerUser() && runAs.isPresent()) {
            argv.addAll(List.of("runuser", "-u", runAs.get(), "--"));
        }
        argv.addAll(cmd.argv());
        String shown = redactor.scrub(describe(argv));
        LOG.debug("running: {}", shown);
        ProcessBuilder pb = new ProcessBuilder(argv);
        Map<String, String> env = pb.environment();
        // nothing PostgreSQL-related leaks in from the JVM's environment (a PGPASSWORD, a PGPORT, a PGDATA)
        env.keySet().removeIf(k -> k.startsWith("PG") || k.startsWith("LC_") || k.equals("LANG") || k.equals("LANGUAGE"));
        env.put("LC_ALL", "C");
        env.put("PGPASSFILE", passFile.toString());
        // the passphrases of client keys (sslpassword), for connection strings that name service=pgha_<role>
        env.put("PGSERVICEFILE", serviceFile.toString());
        env.put("PGCONNECT_TIMEOUT", "10");
        env.putAll(cmd.env());
        pb.redirectInput(cmd.stdin().map(s -> ProcessBuilder.Redirect.from(s.toFile()))
                .orElse(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))));
        long started = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new BinaryNotFoundException("cannot run " + cmd.program() + ": " + redactor.scrub(e.getMessage()));
        }
        StringBuilder out = new StringBuilder();
        StringBuilder err = new StringBuilder();
        Thread to = drain(p.getInputStream(), out, null, cmd.program() + "-stdout");
        Thread te = drain(p.getErrorStream(), err, cmd.stderrLines().orElse(null), cmd.program() + "-stderr");
        try {
            if (!p.waitFor(cmd.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new PostgresTimeoutException(cmd.program() + " did not finish within " + cmd.timeout().toMillis() + " ms");
            }
            to.join(2000);
            te.join(2000);
        } catch (InterruptedException e) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new PostgresTimeoutException(cmd.program() + " was interrupted");
        }
        Result r;
        synchronized (out) {
            synchronized (err) {
                r = new Result(cmd.program(), p.exitValue(), redactor.scrub(out.toString()), redactor.scrub(err.toString()));
            }
        }
        LOG.debug("{} exited {} after {} ms", cmd.program(), r.exitCode(), (System.nanoTime() - started) / 1_000_000);
        return r;
    }

    /** Runs and throws {@link CommandFailedException} on a non-zero exit. */
    Result check(Cmd cmd) {
        Result r = run(cmd);
        if (!r.ok()) {
            throw failed(r);
        }
        return r;
    }

    static CommandFailedException failed(Result r) {
        return new CommandFailedException(r.program() + " failed (exit " + r.exitCode() + "): " + r.tail(), r.program(), r.exitCode());
    }

    private Thread drain(InputStream in, StringBuilder sink, Consumer<String> lines, String name) {
        Thread t = new Thread(() -> {
            try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
                StringBuilder line = new StringBuilder();
                char[] buf = new char[4096];
                int n;
                while ((n = r.read(buf)) >= 0) {
                    synchronized (sink) {
                        if (sink.length() < KEEP_OUTPUT) {
                            sink.append(buf, 0, Math.min(n, KEEP_OUTPUT - sink.length()));
                        }
                    }
                    if (lines != null) {
                        for (int i = 0; i < n; i++) {
                            char c = buf[i];
                            if (c == '\n' || c == '\r') {
                                if (line.length() > 0) {
                                    deliver(lines, line.toString());
                                    line.setLength(0);
                                }
                            } else {
                                line.append(c);
                            }
                        }
                    }
                }
                if (lines != null && line.length() > 0) {
                    deliver(lines, line.toString());
                }
            } catch (IOException e) {
                // the process went away; what we have is what it printed
            }
        }, "pgha-" + name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void deliver(Consumer<String> lines, String line) {
        try {
            lines.accept(redactor.scrub(line));
        } catch (RuntimeException e) {
            LOG.warn("output listener failed", e);
        }
    }

    /** A shell-like rendering of argv for logs. */
    static String describe(List<String> argv) {
        StringBuilder sb = new StringBuilder();
        for (String a : argv) {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            if (a.isEmpty() || a.chars().anyMatch(c -> " \t'\"\\$`".indexOf(c) >= 0)) {
                sb.append('\'').append(a.replace("'", "'\\''")).append('\'');
            } else {
                sb.append(a);
            }
        }
        return sb.toString();
    }
}
