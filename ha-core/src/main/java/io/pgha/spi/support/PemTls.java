package io.pgha.spi.support;

import io.pgha.ConfigurationException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS material from PEM files, the form Patroni and the stores use ({@code cacert}, {@code cert},
 * {@code key}), turned into an {@link SSLContext} in memory: no key store is written to disk.
 * The one PEM reader of the project (the REST API, pghactl, the stores, pg-driver's TLS to
 * PostgreSQL and the test servers): certificates and chains, and keys in PKCS#8, encrypted PKCS#8,
 * PKCS#1 RSA or SEC1 EC form ({@link #privateKey(PemFile, Optional)}). Messages name the setting and
 * the file, never a key's content or its passphrase; failures are {@link PemException}s.
 */
public final class PemTls {
    private static final Pattern BLOCK = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);

    private PemTls() {
    }

    /**
     * One PEM file and the setting it came from.
     *
     * @param setting the setting's name, in Patroni's spelling where one exists ({@code consul.cacert})
     * @param path    the file
     */
    public record PemFile(String setting, Path path) {
        public PemFile {
            Objects.requireNonNull(setting, "setting");
            ReadableFiles.require(setting, path);
        }
    }

    /**
     * A TLS context that trusts the certificates of {@code trustedCa} (the JVM's trust store when
     * empty) and presents {@code certificate} with {@code privateKey} when given.
     *
     * @throws ConfigurationException naming the setting, if a file holds no certificate or no usable key,
     *                                or a certificate is given without its key (or the other way round)
     */
    public static SSLContext sslContext(Optional<PemFile> trustedCa, Optional<PemFile> certificate, Optional<PemFile> privateKey) {
        return sslContext(trustedCa, certificate, privateKey, Optional.empty());
    }

    /**
     * Like {@link #sslContext(Optional, Optional, Optional)}, with the passphrase of an encrypted
     * private key (Patroni's {@code keyfile_password}, libpq's {@code sslpassword}).
     */
    public static SSLContext sslContext(Optional<PemFile> trustedCa, Optional<PemFile> certificate, Optional<PemFile> privateKey,
                                        Optional<String> keyPassword) {
        if (certificate.isPresent() != privateKey.isPresent()) {
            PemFile given = certificate.orElseGet(privateKey::orElseThrow);
            throw new ConfigurationException(given.setting(), "a client or server certificate needs both the certificate and its key");
        }
        try {
            TrustManagerFactory tmf = null;
            if (trustedCa.isPresent()) {
                KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
                trust.load(null, null);
                List<Certificate> cas = certificates(trustedCa.get());
                for (int i = 0; i < cas.size(); i++) {
                    trust.setCertificateEntry("ca-" + i, cas.get(i));
                }
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(trust);
            }
            javax.net.ssl.KeyManager[] keys = certificate.isPresent()
                    ? keyManagers(certificate.get(), privateKey.orElseThrow(), keyPassword) : null;
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keys, tmf == null ? null : tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            String setting = certificate.or(() -> trustedCa).map(PemFile::setting).orElse("tls");
            throw new ConfigurationException(setting, "cannot set up TLS: " + e.getMessage());
        }
    }

    /**
     * Key managers that present {@code certificate} (a chain, leaf first) with {@code privateKey},
     * held in memory only.
     *
     * @throws PemException naming the setting of the file that cannot be used
     */
    public static javax.net.ssl.KeyManager[] keyManagers(PemFile certificate, PemFile privateKey, Optional<String> keyPassword)
            throws IOException, GeneralSecurityException {
        List<Certificate> chain = certificates(certificate);
        PrivateKey key = privateKey(privateKey, keyPassword);
        char[] none = new char[0];
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("pgha", key, none, chain.toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, none);
        return kmf.getKeyManagers();
    }

    /**
     * The certificates of a PEM file, in file order; other blocks in the file (a key) are skipped.
     *
     * @throws ConfigurationException naming the setting, if the file is not PEM or holds no certificate
     */
    public static List<Certificate> certificates(PemFile file) throws IOException {
        List<Certificate> out = new ArrayList<>();
        byte[] bytes = Files.readAllBytes(file.path());
        // the JDK's parser stops at a key block: a file holding the key and the chain is read by its CERTIFICATE blocks
        StringBuilder certs = new StringBuilder();
        Matcher m = BLOCK.matcher(new String(bytes, StandardCharsets.US_ASCII));
        while (m.find()) {
            if (m.group(1).equals("CERTIFICATE")) {
                certs.append(m.group()).append('\n');
            }
        }
        if (certs.length() > 0) {
            bytes = certs.toString().getBytes(StandardCharsets.US_ASCII);
        }
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (Certificate c : cf.generateCertificates(new ByteArrayInputStream(bytes))) {
                out.add(c);
            }
        } catch (GeneralSecurityException e) {
            throw new PemException(file, PemException.Problem.NOT_PEM, "not a PEM certificate file: " + file.path() + " (" + e.getMessage() + ")");
        }
        if (out.isEmpty()) {
            throw new PemException(file, PemException.Problem.NO_CERTIFICATE, "no certificate in " + file.path());
        }
        return out;
    }

    /**
     * The first private key of a PEM file, which must not be encrypted.
     *
     * @throws PemException naming the setting, if the file holds no key pgha reads (see
     *                      {@link #privateKey(PemFile, Optional)}) or an encrypted one
     */
    public static PrivateKey privateKey(PemFile file) throws IOException {
        return privateKey(file, Optional.empty());
    }

    /**
     * The first private key of a PEM file: PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#8 encrypted
     * with {@code password} ({@code BEGIN ENCRYPTED PRIVATE KEY}, as {@code openssl pkcs8 -topk8}
     * writes it: PBES2 with AES, or the older PBES1 schemes the JDK knows), PKCS#1 RSA
     * ({@code BEGIN RSA PRIVATE KEY}) or SEC1 EC ({@code BEGIN EC PRIVATE KEY}, with its named
     * curve); RSA, EC and Ed25519 keys. The legacy OpenSSL encryption of a PKCS#1 or SEC1 block
     * ({@code Proc-Type: 4,ENCRYPTED}) is refused with the command that converts it. Messages name
     * the setting and the file, never the key or the password.
     *
     * @param password the key's passphrase; ignored for an unencrypted key
     * @throws PemException naming the setting and saying what is wrong ({@link PemException#problem()})
     */
    public static PrivateKey privateKey(PemFile file, Optional<String> password) throws IOException {
        String text = Files.readString(file.path(), StandardCharsets.US_ASCII);
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            if (!type.endsWith("PRIVATE KEY")) {
                continue;
            }
            String body = m.group(2);
            if (body.contains("Proc-Type:") || body.contains("DEK-Info:")) {
                throw new PemException(file, PemException.Problem.UNSUPPORTED_FORMAT, "the key in " + file.path()
                        + " uses OpenSSL's legacy PEM encryption; convert it to encrypted PKCS#8 with"
                        + " 'openssl pkcs8 -topk8 -v2 aes-256-cbc' (or to an unencrypted one with -nocrypt)");
            }
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(body.trim());
            } catch (IllegalArgumentException e) {
                throw new PemException(file, PemException.Problem.NOT_PEM, "the " + type + " block in " + file.path()
                        + " is not valid base64");
            }
            switch (type) {
                case "PRIVATE KEY":
                    return pkcs8(der, file);
                case "RSA PRIVATE KEY":
                    return pkcs8(wrapPkcs1Rsa(der), file);
                case "EC PRIVATE KEY":
                    return pkcs8(Sec1.toPkcs8(der, file), file);
                case "ENCRYPTED PRIVATE KEY":
                    return pkcs8(decrypt(der, file, password), file);
                default:
                    throw new PemException(file, PemException.Problem.UNSUPPORTED_FORMAT, "a '" + type + "' block in "
                            + file.path() + " (PKCS#8, encrypted PKCS#8, PKCS#1 RSA and SEC1 EC keys work)");
            }
        }
        // never echo the file's content: it is a secret
        throw new PemException(file, PemException.Problem.NO_KEY, "no private key PEM block in " + file.path()
                + " (PKCS#8 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', PKCS#1 'RSA PRIVATE KEY' or SEC1 'EC PRIVATE KEY')");
    }

    private static byte[] decrypt(byte[] der, PemFile file, Optional<String> password) {
        if (password.isEmpty()) {
            throw new PemException(file, PemException.Problem.PASSWORD_REQUIRED, "the key in " + file.path()
                    + " is encrypted and no passphrase was given");
        }
        javax.crypto.EncryptedPrivateKeyInfo info;
        try {
            info = new javax.crypto.EncryptedPrivateKeyInfo(der);
        } catch (IOException e) {
            throw new PemException(file, PemException.Problem.UNSUPPORTED_FORMAT, "the encrypted key in " + file.path()
                    + " is not an EncryptedPrivateKeyInfo");
        }
        // PBES1 (PBEWithSHA1AndDESede) is named by getAlgName(); for PBES2 it says only "PBES2", and the
        // parameters name the real scheme (PBEWithHmacSHA256AndAES_256)
        String algorithm = info.getAlgName();
        if ((algorithm.equalsIgnoreCase("PBES2") || algorithm.equals("1.2.840.113549.1.5.13")) && info.getAlgParameters() != null) {
            algorithm = info.getAlgParameters().toString();
        }
        javax.crypto.Cipher cipher;
        javax.crypto.SecretKey pbeKey;
        try {
            pbeKey = javax.crypto.SecretKeyFactory.getInstance(algorithm)
                    .generateSecret(new javax.crypto.spec.PBEKeySpec(password.get().toCharArray()));
            cipher = javax.crypto.Cipher.getInstance(algorithm);
        } catch (GeneralSecurityException e) {
            throw new PemException(file, PemException.Problem.UNSUPPORTED_FORMAT, "the key in " + file.path()
                    + " is encrypted with " + algorithm + ", which this JVM cannot decrypt (use 'openssl pkcs8 -topk8 -v2 aes-256-cbc')");
        }
        try {
            cipher.init(javax.crypto.Cipher.DECRYPT_MODE, pbeKey, info.getAlgParameters());
            return info.getKeySpec(cipher).getEncoded();
        } catch (GeneralSecurityException e) {
            // a wrong passphrase shows as bad padding or as garbage that is not a PKCS#8 structure
            throw new PemException(file, PemException.Problem.WRONG_PASSWORD, "cannot decrypt the key in " + file.path()
                    + ": wrong passphrase");
        }
    }

    private static PrivateKey pkcs8(byte[] der, PemFile file) {
        for (String alg : List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS")) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new PemException(file, PemException.Problem.UNSUPPORTED_FORMAT, "a key of an unsupported type in " + file.path()
                + " (RSA, EC and Ed25519 work)");
    }

    /** PKCS#1 RSAPrivateKey → PKCS#8 PrivateKeyInfo (the JDK reads only the latter). */
    private static byte[] wrapPkcs1Rsa(byte[] pkcs1) {
        byte[] algId = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octet = der(0x04, pkcs1);
        byte[] body = new byte[version.length + algId.length + octet.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(algId, 0, body, version.length, algId.length);
        System.arraycopy(octet, 0, body, version.length + algId.length, octet.length);
        return der(0x30, body);
    }

    private static byte[] der(int tag, byte[] content) {
        return Sec1.Der.encode(tag, content);
    }
}
