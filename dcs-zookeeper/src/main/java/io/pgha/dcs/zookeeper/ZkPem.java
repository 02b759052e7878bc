package io.pgha.dcs.zookeeper;

import io.pgha.ConfigurationException;
import io.pgha.spi.support.PemTls;
import io.pgha.spi.support.PemTls.PemFile;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The PEM files of a TLS client, checked when the store is built and put in the form ZooKeeper's
 * client reads ({@code org.apache.zookeeper.util.PemReader}): a trust store is any file of
 * {@code CERTIFICATE} blocks; a key store is <em>one</em> file holding the key (the first
 * {@code ...PRIVATE KEY} block, which must be PKCS#8; RSA and EC keys are used here) and the certificate chain
 * (every {@code CERTIFICATE} block). Messages name the setting and the file, never a key's content.
 */
final class ZkPem {
    private static final Pattern FIRST_PRIVATE_KEY = Pattern.compile("-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----");
    private static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> OWNER_ONLY_FILE = PosixFilePermissions.fromString("rw-------");
    private static final byte[] PROBE = "pgha: does this key belong to the certificate?".getBytes(StandardCharsets.US_ASCII);

    private ZkPem() {
    }

    /**
     * The key store ZooKeeper's client is to read: {@code file} itself when it is the caller's, or a
     * file written for this store, to be deleted with {@code ownedDirectory} when the store closes.
     */
    record KeyStoreFile(Path file, Optional<Path> ownedDirectory) {
    }

    /**
     * Checks that a CA file holds at least one certificate.
     *
     * @throws ConfigurationException naming the file's setting, if it does not
     */
    static void requireCertificates(PemFile ca) {
        certificates(ca);
    }

    /**
     * The key store for a client certificate: the certificate file itself if it also holds the key
     * in PKCS#8, else a new file with the key and the chain, readable by this user only.
     *
     * @throws ConfigurationException naming {@code certificate}'s or {@code privateKey}'s setting, if a
     *                                file holds no certificate or no key ZooKeeper can use, the key
     *                                does not belong to the first certificate, or the file cannot be
     *                                written
     */
    static KeyStoreFile clientKeyStore(PemFile certificate, PemFile privateKey) {
        return clientKeyStore(certificate, privateKey, Optional.empty());
    }

    /**
     * Like {@link #clientKeyStore(PemFile, PemFile)} for a key with a passphrase (Patroni's
     * {@code zookeeper.key_password}): the file written holds the key encrypted again with that
     * passphrase, in the PBES1 scheme ZooKeeper's reader decrypts (it cannot name PBES2, what
     * openssl writes by default), and the store gives ZooKeeper the passphrase as
     * {@code zookeeper.ssl.keyStore.password}. The decrypted key is never written.
     */
    static KeyStoreFile clientKeyStore(PemFile certificate, PemFile privateKey, Optional<String> password) {
        List<Certificate> chain = certificates(certificate);
        PrivateKey key = privateKey(privateKey, password);
        if (!belongsTo(key, chain.get(0))) {
            throw new ConfigurationException(privateKey.setting(), "the key in " + privateKey.path()
                    + " does not belong to the first certificate in " + certificate.path());
        }
        if (password.isEmpty() && sameFile(certificate.path(), privateKey.path()) && firstKeyIsPkcs8(privateKey)) {
            return new KeyStoreFile(certificate.path(), Optional.empty());
        }
        return writeJoined(key, chain, privateKey, password);
    }

    /**
     * Deletes a directory this class wrote, best effort (a file left in a temp directory of mode
     * 0700 is still readable by its user only, and marked delete-on-exit).
     */
    static void delete(Path ownedDirectory) {
        try (Stream<Path> files = Files.walk(ownedDirectory)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // gone already, or left for deleteOnExit
        }
    }

    private static List<Certificate> certificates(PemFile file) {
        try {
            return PemTls.certificates(file); // also from a file that holds the key and the chain
        } catch (IOException e) {
            throw cannotRead(file, e);
        }
    }

    private static PrivateKey privateKey(PemFile file, Optional<String> password) {
        PrivateKey key;
        try {
            key = PemTls.privateKey(file, password);
        } catch (IOException e) {
            throw cannotRead(file, e);
        }
        if (!key.getAlgorithm().equals("RSA") && !key.getAlgorithm().equals("EC")) {
            throw new ConfigurationException(file.setting(), "the key in " + file.path() + " is " + key.getAlgorithm()
                    + ", which ZooKeeper's client cannot read; use an RSA or EC key");
        }
        return key;
    }

    /** Whether a signature made with {@code key} verifies with the certificate's public key. */
    private static boolean belongsTo(PrivateKey key, Certificate leaf) {
        String algorithm = key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        try {
            Signature sign = Signature.getInstance(algorithm);
            sign.initSign(key);
            sign.update(PROBE);
            byte[] signature = sign.sign();
            Signature verify = Signature.getInstance(algorithm);
            verify.initVerify(leaf.getPublicKey());
            verify.update(PROBE);
            return verify.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** Whether ZooKeeper's reader, which takes the first {@code ...PRIVATE KEY} block as PKCS#8, reads the key. */
    private static boolean firstKeyIsPkcs8(PemFile file) {
        Matcher m = FIRST_PRIVATE_KEY.matcher(text(file));
        return m.find() && m.group(1).isEmpty();
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    private static KeyStoreFile writeJoined(PrivateKey key, List<Certificate> chain, PemFile privateKey, Optional<String> password) {
        Path dir = null;
        byte[] pem = null;
        try {
            boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
            dir = posix
                    ? Files.createTempDirectory("pgha-zk-client-", PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY))
                    : Files.createTempDirectory("pgha-zk-client-");
            // registered before the file: deleteOnExit deletes in reverse order, the file first
            dir.toFile().deleteOnExit();
            Path file = dir.resolve("client-key-and-certificate.pem");
            if (posix) {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY_FILE));
            } else {
                Files.createFile(file);
                ownerOnly(dir.toFile());
                ownerOnly(file.toFile());
            }
            file.toFile().deleteOnExit();
            pem = pem(key, chain, password);
            try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                out.write(pem);
            }
            return new KeyStoreFile(file, Optional.of(dir));
        } catch (IOException | GeneralSecurityException | UnsupportedOperationException e) {
            if (dir != null) {
                delete(dir);
            }
            throw new ConfigurationException(privateKey.setting(), "cannot write the key and the certificate chain into one file"
                    + " for ZooKeeper's client: " + e.getMessage());
        } finally {
            if (pem != null) {
                Arrays.fill(pem, (byte) 0);
            }
        }
    }

    /** The key as PKCS#8 (encrypted with {@code password} if there is one), then the chain. */
    private static byte[] pem(PrivateKey key, List<Certificate> chain, Optional<String> password) throws GeneralSecurityException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] der = key.getEncoded();
        if (password.isPresent()) {
            byte[] encrypted = encrypt(der, password.get());
            block(out, "ENCRYPTED PRIVATE KEY", encrypted);
        } else {
            block(out, "PRIVATE KEY", der);
        }
        Arrays.fill(der, (byte) 0);
        for (Certificate c : chain) {
            block(out, "CERTIFICATE", c.getEncoded());
        }
        return out.toByteArray();
    }

    /** PKCS#8 encrypted with PBEWithSHA1AndDESede: what {@code org.apache.zookeeper.util.PemReader} decrypts. */
    private static byte[] encrypt(byte[] pkcs8, String password) throws GeneralSecurityException {
        String algorithm = "PBEWithSHA1AndDESede";
        byte[] salt = new byte[20];
        new java.security.SecureRandom().nextBytes(salt);
        javax.crypto.spec.PBEParameterSpec spec = new javax.crypto.spec.PBEParameterSpec(salt, 10_000);
        javax.crypto.Cipher cipher = javax.crypto.Cipher.getInstance(algorithm);
        cipher.init(javax.crypto.Cipher.ENCRYPT_MODE, javax.crypto.SecretKeyFactory.getInstance(algorithm)
                .generateSecret(new javax.crypto.spec.PBEKeySpec(password.toCharArray())), spec);
        java.security.AlgorithmParameters params = java.security.AlgorithmParameters.getInstance(algorithm);
        params.init(spec);
        try {
            return new javax.crypto.EncryptedPrivateKeyInfo(params, cipher.doFinal(pkcs8)).getEncoded();
        } catch (IOException e) {
            throw new GeneralSecurityException(e.getMessage(), e);
        }
    }

    private static void block(ByteArrayOutputStream out, String label, byte[] der) {
        out.writeBytes(("-----BEGIN " + label + "-----\n").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(Base64.getMimeEncoder(64, new byte[] {'\n'}).encode(der));
        out.writeBytes(("\n-----END " + label + "-----\n").getBytes(StandardCharsets.US_ASCII));
    }

    private static void ownerOnly(File f) throws IOException {
        boolean ok = f.setReadable(false, false) && f.setReadable(true, true)
                && f.setWritable(false, false) && f.setWritable(true, true);
        if (!ok) {
            throw new IOException("cannot make " + f + " readable by its owner only");
        }
    }

    private static String text(PemFile file) {
        try {
            return Files.readString(file.path(), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw cannotRead(file, e);
        }
    }

    private static ConfigurationException cannotRead(PemFile file, IOException e) {
        return new ConfigurationException(file.setting(), "cannot read " + file.path() + " (" + e.getClass().getSimpleName() + ")");
    }
}
