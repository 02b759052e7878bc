package io.pgha.postgres;

import java.nio.file.Path;
import java.time.Duration;

/**
 * A separate JVM that holds a write fence and re-arms it (2 s deadline) every 200 ms, for {@link WriteFenceTest}
 * to freeze with SIGSTOP. Arguments: member name, data directory, port. No real password is
 * needed: arming the fence talks to no server.
 */
public final class FenceHolder {
    private FenceHolder() {
    }

    public static void main(String[] args) throws InterruptedException {
        PgController c = PgController.builder()
                .name(args[0])
                .dataDirectory(Path.of(args[1]))
                .port(Integer.parseInt(args[2]))
                .superuser("postgres", "unused")
                .replicationUser("replicator", "unused")
                .build();
        c.armFence(System.nanoTime() + Duration.ofSeconds(2).toNanos(), io.pgha.Ticker.system());
        System.out.println("helper " + c.fenceHelperPid().orElseThrow());
        System.out.flush();
        while (true) {
            Thread.sleep(200);
            c.armFence(System.nanoTime() + Duration.ofSeconds(2).toNanos(), io.pgha.Ticker.system());
            System.out.println("armed");
            System.out.flush();
        }
    }
}
