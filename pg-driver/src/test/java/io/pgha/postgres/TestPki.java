package io.pgha.postgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A CA, a server certificate for 127.0.0.1/localhost and client certificates for pgha's three roles,
 * made with the {@code openssl} command line in a folder of the test's, each client key in another
 * of the forms libpq reads: the superuser's SEC1 EC ({@code BEGIN EC PRIVATE KEY}), the replication
 * role's encrypted PKCS#8 ({@code BEGIN ENCRYPTED PRIVATE KEY}, passphrase {@link #REPLICATION_KEY_PASSWORD}),
 * the rewind role's PKCS#1 RSA. A second CA signs nothing the server presents ({@link #otherCa()}).
 * When the JVM is root, the files belong to the server's user ({@code postgres}), mode 0600: the
 * server and libpq refuse keys others can read.
 */
final class TestPki {
    static final String REPLICATION_KEY_PASSWORD = "key pass'phr\\ase-" + Long.toHexString(System.nanoTime());
    private final Path dir;

    private TestPki(Path dir) {
        this.dir = dir;
    }

    static TestPki create(Path dir) {
        try {
            Files.createDirectories(dir);
            TestPki pki = new TestPki(dir);
            pki.ca("ca");
            pki.ca("other-ca");
            pki.openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "server.key");
            Files.writeString(dir.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
            pki.sign("server", "localhost", List.of("-extfile", "server.ext"), List.of());
            pki.openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "postgres.key");
            pki.sign("postgres", "postgres", List.of(), List.of());
            // pgjdbc's own factory, which the test's SQL uses, reads DER PKCS#8
            pki.openssl("pkcs8", "-topk8", "-nocrypt", "-in", "postgres.key", "-outform", "DER", "-out", "postgres.pk8");
            pki.openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes-256-cbc",
                    "-pass", "env:KEYPASS", "-out", "replicator.key");
            pki.sign("replicator", "replicator", List.of(), List.of("-passin", "env:KEYPASS"));
            pki.openssl("genrsa", "-traditional", "-out", "rewinder.key", "2048");
            pki.sign("rewinder", "rewinder", List.of(), List.of());
            // revocation lists of the CA: one that revokes nothing, then one that revokes the server's certificate
            Files.writeString(dir.resolve("ca.cnf"), "[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\n"
                    + "crlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 2\n");
            Files.writeString(dir.resolve("index.txt"), "");
            Files.writeString(dir.resolve("crlnumber"), "01\n");
            pki.openssl("ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt", "-gencrl", "-out", "nothing-revoked.crl");
            pki.openssl("ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt", "-revoke", "server.crt");
            pki.openssl("ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt", "-gencrl", "-out", "server-revoked.crl");
            pki.ownByServerUser();
            return pki;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path dir() {
        return dir;
    }

    Path ca() {
        return dir.resolve("ca.crt");
    }

    Path otherCa() {
        return dir.resolve("other-ca.crt");
    }

    Path cert(String name) {
        return dir.resolve(name + ".crt");
    }

    Path key(String name) {
        return dir.resolve(name + ".key");
    }

    String text(String file) throws IOException {
        return Files.readString(dir.resolve(file), StandardCharsets.US_ASCII);
    }

    private void ca(String name) {
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "2",
                "-subj", "/CN=pgha test " + name);
    }

    private void sign(String name, String cn, List<String> extra, List<String> keyPass) {
        List<String> req = new ArrayList<>(List.of("req", "-new", "-key", name + ".key", "-subj", "/CN=" + cn, "-out", name + ".csr"));
        req.addAll(keyPass);
        openssl(req.toArray(new String[0]));
        List<String> x509 = new ArrayList<>(List.of("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", name + ".crt"));
        x509.addAll(extra);
        openssl(x509.toArray(new String[0]));
    }

    private void openssl(String... args) {
        List<String> argv = new ArrayList<>(List.of("openssl"));
        argv.addAll(List.of(args));
        try {
            ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true);
            pb.environment().put("KEYPASS", REPLICATION_KEY_PASSWORD);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("openssl " + String.join(" ", args) + " failed: " + out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void ownByServerUser() throws IOException {
        boolean root = "root".equals(System.getProperty("user.name"));
        UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
        if (root) {
            Files.setOwner(dir, users.lookupPrincipalByName("postgres"));
        }
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
                if (root) {
                    Files.setOwner(f, users.lookupPrincipalByName("postgres"));
                }
            }
        }
    }
}
