package io.pgha;

import io.pgha.spi.Watchdog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A Linux watchdog device ({@code /dev/watchdog}), as Patroni drives it: opening the device arms
 * it, each write of a byte keeps it alive, and writing {@code V} before closing disarms it (the
 * "magic close"). The timeout is set with util-linux's {@code wdctl --settimeout} (the JDK cannot
 * issue the ioctl); a device that refuses it is refused here, since a timeout longer than the
 * lease would let a frozen primary outlive it.
 *
 * <p>Thread-safe. Closing disarms it.
 */
public final class DeviceWatchdog implements Watchdog {
    private final Path device;
    private final List<String> setTimeout;
    private java.io.OutputStream open;

    private DeviceWatchdog(Path device, List<String> setTimeout) {
        this.device = device;
        this.setTimeout = List.copyOf(setTimeout);
    }

    /** {@code device} with its timeout set by {@code wdctl --settimeout <seconds> <device>}. */
    public static DeviceWatchdog of(Path device) {
        Objects.requireNonNull(device, "watchdog.device");
        return new DeviceWatchdog(device, List.of("wdctl", "--settimeout"));
    }

    /**
     * {@code device} with its timeout set by {@code command <seconds> <device>} instead of wdctl (a
     * test's stand-in for a kernel device, or a site's own tool).
     */
    public static DeviceWatchdog of(Path device, List<String> command) {
        Objects.requireNonNull(device, "watchdog.device");
        if (command.isEmpty()) {
            throw new ConfigurationException("watchdog", "the command that sets the timeout cannot be empty");
        }
        return new DeviceWatchdog(device, command);
    }

    public Path device() {
        return device;
    }

    @Override
    public synchronized void activate(Duration timeout) {
        if (open != null) {
            return;
        }
        long seconds = Math.max(1, timeout.toSeconds());
        try {
            // never created: a missing device is missing, not a new file
            open = Files.newOutputStream(device, java.nio.file.StandardOpenOption.WRITE);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new WatchdogException("cannot open the watchdog device " + device + ": no such device");
        } catch (IOException e) {
            throw new WatchdogException("cannot open the watchdog device " + device + ": " + e.getMessage());
        }
        List<String> argv = new ArrayList<>(setTimeout);
        argv.add(Long.toString(seconds));
        argv.add(device.toString());
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            boolean done = p.waitFor(10, TimeUnit.SECONDS);
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
            if (!done || p.exitValue() != 0) {
                p.destroyForcibly();
                disable();
                throw new WatchdogException("the watchdog device " + device + " did not take a timeout of " + seconds + " s ("
                        + String.join(" ", argv) + ": " + (done ? "exit " + p.exitValue() : "no answer in 10 s")
                        + (out.isEmpty() ? "" : ", " + out) + ")");
            }
        } catch (IOException e) {
            disable();
            throw new WatchdogException("cannot set the timeout of the watchdog device " + device + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            disable();
            throw new WatchdogException("interrupted while arming the watchdog device " + device);
        }
        keepalive();
    }

    @Override
    public synchronized void keepalive() {
        if (open == null) {
            return;
        }
        try {
            open.write('1');
            open.flush();
        } catch (IOException e) {
            throw new WatchdogException("cannot keep the watchdog device " + device + " alive: " + e.getMessage());
        }
    }

    @Override
    public synchronized void disable() {
        if (open == null) {
            return;
        }
        try {
            open.write('V');
            open.flush();
        } catch (IOException e) {
            // closing below still ends our use of it; a device with nowayout keeps counting regardless
        } finally {
            try {
                open.close();
            } catch (IOException e) {
                // nothing more to do
            }
            open = null;
        }
    }

    @Override
    public synchronized boolean isActive() {
        return open != null;
    }

    @Override
    public boolean isUsable() {
        return Files.isWritable(device);
    }

    @Override
    public void close() {
        disable();
    }

    @Override
    public String toString() {
        return "DeviceWatchdog[" + device + "]";
    }
}
