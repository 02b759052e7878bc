package io.pgha.testkit.servers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Throw-away certificates for a TLS etcd, made with the {@code openssl} command: a CA, a server
 * certificate for 127.0.0.1/localhost and a client certificate, with EC keys in PEM PKCS#8 (what
 * Netty reads without extra libraries).
 */
public record EtcdTls(Path ca, Path serverCertificate, Path serverKey, Path clientCertificate, Path clientKey) {

    /** Whether an {@code openssl} command is there to make certificates. */
    public static boolean opensslAvailable() {
        try {
            run(Path.of(System.getProperty("java.io.tmpdir")), List.of("openssl", "version"));
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Makes the certificates in {@code dir}. */
    public static EtcdTls generate(Path dir) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    + "extendedKeyUsage=serverAuth,clientAuth\n", StandardCharsets.US_ASCII);
            Files.writeString(dir.resolve("client.ext"), "extendedKeyUsage=clientAuth\n", StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String ec = "ec";
        String curve = "ec_paramgen_curve:prime256v1";
        run(dir, List.of("openssl", "req", "-x509", "-newkey", ec, "-pkeyopt", curve, "-nodes", "-keyout", "ca.key",
                "-out", "ca.pem", "-days", "2", "-subj", "/CN=pgha-test-ca"));
        for (String who : List.of("server", "client")) {
            run(dir, List.of("openssl", "req", "-newkey", ec, "-pkeyopt", curve, "-nodes", "-keyout", who + ".raw.key",
                    "-out", who + ".csr", "-subj", "/CN=" + (who.equals("server") ? "127.0.0.1" : "pgha")));
            run(dir, List.of("openssl", "x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                    "-CAcreateserial", "-out", who + ".pem", "-days", "2", "-extfile", who + ".ext"));
            run(dir, List.of("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", who + ".raw.key", "-out", who + ".key"));
        }
        return new EtcdTls(dir.resolve("ca.pem"), dir.resolve("server.pem"), dir.resolve("server.key"),
                dir.resolve("client.pem"), dir.resolve("client.key"));
    }

    private static String run(Path dir, List<String> command) {
        try {
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
