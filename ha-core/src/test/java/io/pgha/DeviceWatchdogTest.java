package io.pgha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.spi.Watchdog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Linux watchdog protocol on a stand-in device file: open arms, each byte keeps alive, {@code V} then close disarms. */
class DeviceWatchdogTest {
    @TempDir
    Path dir;

    private Path script(String body) throws Exception {
        Path p = dir.resolve("settimeout.sh");
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    @Test
    void activationSetsTheTimeoutAndWritesAKeepaliveAndDisablingWritesTheMagicClose() throws Exception {
        Path device = Files.createFile(dir.resolve("watchdog"));
        Path timeout = dir.resolve("timeout");
        DeviceWatchdog w = DeviceWatchdog.of(device, List.of(script("echo \"$1 $2\" > " + timeout).toString()));

        w.activate(Duration.ofSeconds(25));
        w.keepalive();
        w.keepalive();
        assertThat(w.isActive()).isTrue();
        w.disable();
        w.keepalive();

        assertThat(Files.readString(timeout).strip()).isEqualTo("25 " + device);
        assertThat(Files.readString(device)).isEqualTo("111V");
        assertThat(w.isActive()).isFalse();
    }

    @Test
    void aDeviceThatRefusesTheTimeoutIsRefusedNamingItAndLeftDisarmed() throws Exception {
        Path device = Files.createFile(dir.resolve("watchdog"));
        DeviceWatchdog w = DeviceWatchdog.of(device, List.of(script("echo 'ioctl: Inappropriate ioctl for device' >&2; exit 1").toString()));

        assertThatThrownBy(() -> w.activate(Duration.ofSeconds(25))).isInstanceOf(Watchdog.WatchdogException.class)
                .hasMessageContaining(device.toString()).hasMessageContaining("Inappropriate ioctl");
        assertThat(w.isActive()).isFalse();
        assertThat(Files.readString(device)).as("opened, then closed with the magic close").isEqualTo("V");
    }

    @Test
    void aMissingDeviceIsNotUsableAndCannotBeArmed() {
        DeviceWatchdog w = DeviceWatchdog.of(dir.resolve("no-such-watchdog"));

        assertThat(w.isUsable()).isFalse();
        assertThatThrownBy(() -> w.activate(Duration.ofSeconds(10))).isInstanceOf(Watchdog.WatchdogException.class)
                .hasMessageStartingWith("cannot open the watchdog device " + dir.resolve("no-such-watchdog"));
    }
}
