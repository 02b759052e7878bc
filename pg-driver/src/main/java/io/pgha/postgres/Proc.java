package io.pgha.postgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Linux process facts read from {@code /proc}. pgha cannot use {@link ProcessHandle#isAlive()} for
 * the postmaster: the postmaster is not our child, and a killed one stays a zombie until the init
 * process reaps it (seconds, on some machines), which {@code ProcessHandle} still counts as alive.
 */
final class Proc {
    private Proc() {
    }

    /** Running (or stopped by a signal), not a zombie, not gone. */
    static boolean isAlive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            int close = stat.lastIndexOf(')');
            if (close < 0 || close + 2 >= stat.length()) {
                return false;
            }
            char state = stat.charAt(close + 2);
            return state != 'Z' && state != 'X' && state != 'x';
        } catch (IOException e) {
            return false;
        }
    }

    /** The working directory of a live process, if we may read it. */
    static Optional<Path> cwd(long pid) {
        try {
            return Optional.of(Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "cwd")));
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether {@code pid} is a live process working in {@code dir}. Every PostgreSQL server process
     * changes into its data directory, so this tells our postmaster from an unrelated process that
     * reused a stale pid. If the cwd cannot be read (another user's process), liveness decides.
     */
    static boolean isAliveIn(long pid, Path dir) {
        if (!isAlive(pid)) {
            return false;
        }
        // unreadable (another user's process, when the JVM is not root): trust liveness alone
        return cwd(pid).map(dir::equals).orElse(true);
    }

    /** Live processes whose working directory is {@code dir}: the server processes of that data directory. */
    static List<Long> processesIn(Path dir) {
        List<Long> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc"))) {
            s.forEach(p -> {
                String n = p.getFileName().toString();
                if (!n.chars().allMatch(Character::isDigit)) {
                    return;
                }
                long pid = Long.parseLong(n);
                if (cwd(pid).map(dir::equals).orElse(false) && isAlive(pid)) {
                    out.add(pid);
                }
            });
        } catch (IOException e) {
            // no /proc: nothing we can learn
        }
        return out;
    }

    /** Sends a signal with kill(1); returns whether it was delivered. */
    static boolean signal(long pid, String signal) {
        try {
            Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The JVM's own uid (root is 0); -1 if {@code /proc} cannot tell. */
    static int currentUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException e) {
            return -1;
        }
    }

    /** Milliseconds since boot from {@code /proc/uptime}: the clock the fence helper measures its deadline on. */
    static long uptimeMillis() {
        try {
            String s = Files.readString(Path.of("/proc/uptime")).trim();
            String first = s.substring(0, s.indexOf(' '));
            int dot = first.indexOf('.');
            long secs = Long.parseLong(first.substring(0, dot));
            long cs = Long.parseLong(first.substring(dot + 1));
            return secs * 1000 + cs * 10;
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot read /proc/uptime", e);
        }
    }
}
