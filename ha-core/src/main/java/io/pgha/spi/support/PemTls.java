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
 * Keys are PKCS#8 ({@code BEGIN PRIVATE KEY}) or PKCS#1 RSA ({@code BEGIN RSA PRIVATE KEY}),
 * unencrypted; RSA, EC and Ed25519 keys work. Messages name the setting and the file, never a key's
 * content.
 */
public final class PemTls {
    private static final Pattern BLOCK = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]+)-----END \\1-----");

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
            KeyManagerFactory kmf = null;
            if (certificate.isPresent()) {
                List<Certificate> chain = certificates(certificate.get());
                PrivateKey key = privateKey(privateKey.orElseThrow());
                char[] none = new char[0];
                KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                ks.load(null, null);
                ks.setKeyEntry("pgha", key, none, chain.toArray(new Certificate[0]));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, none);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            String setting = certificate.or(() -> trustedCa).map(PemFile::setting).orElse("tls");
            throw new ConfigurationException(setting, "cannot set up TLS: " + e.getMessage());
        }
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
            throw new ConfigurationException(file.setting(), "not a PEM certificate file: " + file.path() + " (" + e.getMessage() + ")");
        }
        if (out.isEmpty()) {
            throw new ConfigurationException(file.setting(), "no certificate in " + file.path());
        }
        return out;
    }

    /**
     * The first private key of a PEM file.
     *
     * @throws ConfigurationException naming the setting, if the file holds no unencrypted PKCS#8 or PKCS#1 RSA key
     */
    public static PrivateKey privateKey(PemFile file) throws IOException {
        String text = Files.readString(file.path(), StandardCharsets.US_ASCII);
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            byte[] der = Base64.getMimeDecoder().decode(m.group(2).trim());
            if (type.equals("PRIVATE KEY")) {
                return pkcs8(der, file);
            }
            if (type.equals("RSA PRIVATE KEY")) {
                return pkcs8(wrapPkcs1Rsa(der), file);
            }
            if (type.equals("ENCRYPTED PRIVATE KEY")) {
                throw new ConfigurationException(file.setting(), "encrypted keys are not supported: " + file.path());
            }
        }
        // never echo the file's content: it is a secret
        throw new ConfigurationException(file.setting(), "no PKCS#8 ('PRIVATE KEY') or PKCS#1 ('RSA PRIVATE KEY') PEM block in "
                + file.path() + " (convert an EC key with: openssl pkcs8 -topk8 -nocrypt)");
    }

    private static PrivateKey pkcs8(byte[] der, PemFile file) {
        for (String alg : List.of("RSA", "EC", "Ed25519")) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new ConfigurationException(file.setting(), "a key of an unsupported type in " + file.path()
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
        int n = content.length;
        byte[] len;
        if (n < 0x80) {
            len = new byte[] {(byte) n};
        } else if (n < 0x100) {
            len = new byte[] {(byte) 0x81, (byte) n};
        } else if (n < 0x10000) {
            len = new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
        } else {
            len = new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        }
        byte[] out = new byte[1 + len.length + n];
        out[0] = (byte) tag;
        System.arraycopy(len, 0, out, 1, len.length);
        System.arraycopy(content, 0, out, 1 + len.length, n);
        return out;
    }
}
