package io.pgha.agent;

import io.pgha.ConfigurationException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Turns Patroni's PEM files (certificate, key in PKCS#8, CA) into what Java clients take: an
 * {@link SSLContext}, or PKCS#12 store files for clients configured by file (ZooKeeper).
 */
final class Pem {
    private Pem() {
    }

    static SSLContext serverContext(String setting, Path certfile, Path keyfile, Optional<Path> cafile) {
        try {
            char[] pass = new char[0];
            KeyStore ks = keyStore(setting + ".certfile", certfile, setting + ".keyfile", keyfile, pass);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, pass);
            TrustManagerFactory tmf = null;
            if (cafile.isPresent()) {
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(trustStore(setting + ".cafile", cafile.get()));
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new ConfigurationException(setting, "cannot set up TLS: " + e.getMessage());
        }
    }

    /**
     * Writes a PKCS#12 key store with the certificate chain of {@code certfile} and the key of
     * {@code keyfile}, for a client that takes its stores as files (ZooKeeper's); see {@link #write}.
     */
    static StoreFile writeKeyStore(String setting, Path certfile, Path keyfile) {
        char[] pass = randomPassword();
        return write(setting, "client.p12", pass, () -> keyStore(setting + ".cert", certfile, setting + ".key", keyfile, pass));
    }

    /** Writes a PKCS#12 trust store with the certificates of {@code cafile}; see {@link #write}. */
    static StoreFile writeTrustStore(String setting, Path cafile) {
        return write(setting, "trust.p12", randomPassword(), () -> trustStore(setting + ".cacert", cafile));
    }

    /**
     * Writes the store into a folder only this user can read, removed when the JVM exits. The
     * password is random and lives only in this process.
     */
    private static StoreFile write(String setting, String name, char[] pass, StoreMaker make) {
        try {
            KeyStore ks = make.make();
            Path dir = Files.createTempDirectory("pgha-tls", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path file = dir.resolve(name);
            try (OutputStream out = Files.newOutputStream(file)) {
                ks.store(out, pass);
            }
            file.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            return new StoreFile(file, new String(pass));
        } catch (GeneralSecurityException | IOException e) {
            throw new ConfigurationException(setting, "cannot set up TLS: " + e.getMessage());
        }
    }

    private interface StoreMaker {
        KeyStore make() throws GeneralSecurityException, IOException;
    }

    /** A store written by {@link #writeKeyStore} or {@link #writeTrustStore}. */
    record StoreFile(Path path, String password) {
        @Override
        public String toString() {
            return "StoreFile[" + path + "]"; // never the password
        }
    }

    private static KeyStore keyStore(String certSetting, Path certfile, String keySetting, Path keyfile, char[] pass)
            throws GeneralSecurityException, IOException {
        Collection<? extends Certificate> chain = certificates(certSetting, certfile);
        PrivateKey key = privateKey(keySetting, keyfile);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("pgha", key, pass, chain.toArray(Certificate[]::new));
        return ks;
    }

    private static KeyStore trustStore(String setting, Path cafile) throws GeneralSecurityException, IOException {
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        int i = 0;
        for (Certificate c : certificates(setting, cafile)) {
            ts.setCertificateEntry("ca" + i++, c);
        }
        return ts;
    }

    private static char[] randomPassword() {
        byte[] b = new byte[18];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b).toCharArray();
    }

    private static Collection<? extends Certificate> certificates(String setting, Path file) throws IOException {
        try {
            Collection<? extends Certificate> c = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(file)));
            if (c.isEmpty()) {
                throw new ConfigurationException(setting, file + " holds no certificate");
            }
            return c;
        } catch (java.security.cert.CertificateException e) {
            throw new ConfigurationException(setting, file + " is not a PEM certificate: " + e.getMessage());
        }
    }

    private static PrivateKey privateKey(String setting, Path file) throws IOException {
        String pem = Files.readString(file, StandardCharsets.US_ASCII);
        if (!pem.contains("-----BEGIN PRIVATE KEY-----")) {
            throw new ConfigurationException(setting, file + " must hold a PKCS#8 key (BEGIN PRIVATE KEY); convert it with "
                    + "'openssl pkcs8 -topk8 -nocrypt'");
        }
        String b64 = pem.substring(pem.indexOf("-----BEGIN PRIVATE KEY-----") + 27, pem.indexOf("-----END PRIVATE KEY-----"))
                .replaceAll("\\s", "");
        byte[] der = Base64.getDecoder().decode(b64);
        for (String alg : new String[] {"RSA", "EC", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new ConfigurationException(setting, file + " holds a key of an unsupported type (RSA, EC and Ed25519 work)");
    }
}
