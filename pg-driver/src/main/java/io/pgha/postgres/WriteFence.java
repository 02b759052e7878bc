package io.pgha.postgres;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;

/**
 * A write fence that does not depend on this JVM: a small bash process that, when a deadline passes
 * without being moved, asks the postmaster for a fast shutdown (every backend ends at once, so writes
 * stop, while the walsenders ship what was committed to the standbys) and SIGKILLs it and its
 * children 250 ms later if they are still there (so no stuck backend finishes a commit).
 *
 * <p>The JVM sends {@code arm <deadline>} (milliseconds on the {@code /proc/uptime} clock, measured
 * by the JVM when it sends, so a slow pipe cannot stretch the deadline) and {@code disarm} through
 * the helper's stdin. The helper waits with {@code read -t}, so:
 * <ul>
 *   <li>a frozen JVM (SIGSTOP, a long GC pause): the pipe stays open, no command comes, the read
 *       times out and the deadline fires;</li>
 *   <li>a JVM that is gone or closed the controller (EOF on stdin): nobody can move the deadline any
 *       more, yet the lease may still be held until then. An armed helper therefore keeps the
 *       deadline, fires, and exits; a disarmed one exits at once. A clean shutdown of the engine
 *       disarms first (it releases the lease), so the helper just exits.</li>
 * </ul>
 * Before killing, the helper checks that the pid in {@code postmaster.pid} is a live process
 * working in this data directory, so a stale pid file never makes it kill an unrelated process.
 */
final class WriteFence implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WriteFence.class);

    static final String SCRIPT = """
            set -u
            trap '' PIPE HUP INT
            pidfile=$1 datadir=$2
            armed=0 deadline=0 eof=0
            now_ms() { local up rest; read -r up rest < /proc/uptime; NOW=$(( 10#${up%.*} * 1000 + 10#${up#*.} * 10 )); }
            fire() {
              local pid='' kids='' real cwd i
              real=$(readlink -f -- "$datadir") || real=$datadir
              [[ -r $pidfile ]] && read -r pid < "$pidfile"
              if [[ $pid =~ ^[0-9]+$ ]] && cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) && [[ $cwd == "$real" ]]; then
                # a fast shutdown first: every backend ends now, so writes stop, while the walsenders
                # ship what was committed to the standbys; whatever is left after 250 ms is killed
                kill -INT "$pid" 2>/dev/null
                for ((i = 0; i < 25; i++)); do [[ -d /proc/$pid ]] || break; sleep 0.01; done
                kill -STOP "$pid" 2>/dev/null
                [[ -r /proc/$pid/task/$pid/children ]] && read -r kids < "/proc/$pid/task/$pid/children"
                kill -KILL $kids "$pid" 2>/dev/null
                echo "fired $pid"
              else
                echo "fired none"
              fi
            }
            echo ready
            while :; do
              if (( armed )); then
                now_ms
                left=$(( deadline - NOW ))
                if (( left <= 0 )); then fire; armed=0; continue; fi
                printf -v wait '%d.%03d' $(( left / 1000 )) $(( left % 1000 ))
                if (( eof )); then sleep "$wait"; continue; fi
                read -r -t "$wait" cmd arg; rc=$?
              else
                (( eof )) && exit 0
                read -r cmd arg; rc=$?
              fi
              (( rc > 128 )) && continue
              if (( rc != 0 )); then eof=1; continue; fi
              case $cmd in
                arm) if [[ $arg =~ ^[0-9]+$ ]]; then deadline=$arg; armed=1; echo "armed $arg"; fi ;;
                disarm) armed=0; echo disarmed ;;
              esac
            done
            """;

    private final Path pidFile;
    private final Path dataDir;
    private final LongConsumer onFired;
    private Process helper;
    private OutputStream stdin;
    private boolean closed;

    WriteFence(Path dataDir, LongConsumer onFired) {
        this.dataDir = dataDir;
        this.pidFile = dataDir.resolve("postmaster.pid");
        this.onFired = onFired;
    }

    /**
     * Arms the helper for {@code deadline} on {@code clock}. The helper keeps {@code /proc/uptime}'s
     * clock; the deadline is converted with the two clocks read back to back, uptime first (and
     * uptime truncated to its 10 ms resolution), so a pause between the readings, or a coarse
     * reading, only makes the fence fire earlier, never later.
     */
    synchronized boolean arm(long deadline, io.pgha.Ticker clock) {
        if (closed) {
            return false;
        }
        return arm(onUptimeClock(deadline, clock, Proc::uptimeMillis));
    }

    /**
     * {@code deadline} on {@code clock} as milliseconds of {@code uptime}: uptime is read first, so
     * whatever passes before {@code clock} is read (a pause) shortens what is left, never lengthens it.
     */
    static long onUptimeClock(long deadline, io.pgha.Ticker clock, java.util.function.LongSupplier uptime) {
        long uptimeNow = uptime.getAsLong();
        long clockNow = clock.read();
        return uptimeNow + Math.max(0, Math.floorDiv(deadline - clockNow, 1_000_000L));
    }

    /** Convenience for tests: armed for {@code within} from now. */
    synchronized boolean arm(Duration within) {
        return arm(System.nanoTime() + within.toNanos(), System::nanoTime);
    }

    private boolean arm(long deadline) {
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                ensureRunning();
                send("arm " + deadline);
                return true;
            } catch (IOException e) {
                LOG.warn("write fence helper unreachable ({}); starting a new one", e.getMessage());
                destroyHelper();
            }
        }
        return false;
    }

    synchronized void disarm() {
        if (helper == null || closed) {
            return;
        }
        try {
            send("disarm");
        } catch (IOException e) {
            // a dead helper cannot fire either
            destroyHelper();
        }
    }

    /** The helper's pid, for tests. */
    synchronized Optional<Long> helperPid() {
        return helper != null && helper.isAlive() ? Optional.of(helper.pid()) : Optional.empty();
    }

    /** Hands the deadline over: an armed helper still fires at its deadline, a disarmed one exits. */
    @Override
    public synchronized void close() {
        closed = true;
        if (stdin != null) {
            try {
                stdin.close();
            } catch (IOException e) {
                // the helper sees EOF either way
            }
        }
    }

    private void send(String line) throws IOException {
        stdin.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
        stdin.flush();
    }

    private void ensureRunning() throws IOException {
        if (helper != null && helper.isAlive()) {
            return;
        }
        // setsid: its own session, so a Ctrl-C or a signal to the JVM's process group does not take it down
        List<String> argv = List.of("setsid", "bash", "-c", SCRIPT, "pgha-fence", pidFile.toString(), dataDir.toString());
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
        String first = out.readLine();
        if (!"ready".equals(first)) {
            p.destroyForcibly();
            throw new IOException("the fence helper did not start (said: " + first + ")");
        }
        helper = p;
        stdin = p.getOutputStream();
        Thread reader = new Thread(() -> readReports(out), "pgha-fence-" + p.pid());
        reader.setDaemon(true);
        reader.start();
        LOG.debug("write fence helper started (pid {}) for {}", p.pid(), dataDir);
    }

    private void readReports(BufferedReader out) {
        try {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("fired ")) {
                    String what = line.substring(6).strip();
                    long pid = what.equals("none") ? 0 : Long.parseLong(what);
                    LOG.warn("write fence fired: the deadline passed without being re-armed; {}",
                            pid == 0 ? "no postmaster was running" : "killed postmaster " + pid + " and its children");
                    try {
                        onFired.accept(pid);
                    } catch (RuntimeException e) {
                        LOG.warn("fence callback failed", e);
                    }
                } else {
                    LOG.trace("fence helper: {}", line);
                }
            }
        } catch (IOException | RuntimeException e) {
            // the helper is gone
        }
    }

    private void destroyHelper() {
        if (helper != null) {
            helper.destroyForcibly();
            helper = null;
            stdin = null;
        }
    }
}
