package io.pgha.spi.support;

import io.pgha.spi.support.PemException.Problem;
import io.pgha.spi.support.PemTls.PemFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.crypto.Cipher;
import javax.crypto.EncryptedPrivateKeyInfo;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.PBEParameterSpec;
import javax.net.ssl.SSLContext;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.AlgorithmParameters;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The project's one PEM reader, on keys made here with the JDK in every form it reads, certificate
 * chains made with the JDK's keytool, and the typed errors for what it refuses.
 */
class PemTlsTest {
    private static final byte[] PRIME256V1 = {0x06, 0x08, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x03, 0x01, 0x07};

    @TempDir
    static Path dir;

    private static KeyPair rsa;
    private static KeyPair ec;

    @BeforeAll
    static void keys() throws Exception {
        KeyPairGenerator r = KeyPairGenerator.getInstance("RSA");
        r.initialize(2048);
        rsa = r.generateKeyPair();
        KeyPairGenerator e = KeyPairGenerator.getInstance("EC");
        e.initialize(new ECGenParameterSpec("secp256r1"));
        ec = e.generateKeyPair();
    }

    @Test
    void a_pkcs8_rsa_key_is_read() throws Exception {
        PrivateKey k = PemTls.privateKey(file("rsa8.key", pem("PRIVATE KEY", rsa.getPrivate().getEncoded())));

        assertThat(k.getEncoded()).isEqualTo(rsa.getPrivate().getEncoded());
    }

    @Test
    void a_pkcs1_rsa_key_is_read() throws Exception {
        byte[] pkcs1 = innerKey(rsa.getPrivate().getEncoded());

        PrivateKey k = PemTls.privateKey(file("rsa1.key", pem("RSA PRIVATE KEY", pkcs1)));

        assertThat(k.getAlgorithm()).isEqualTo("RSA");
        assertThat(k.getEncoded()).isEqualTo(rsa.getPrivate().getEncoded());
    }

    @Test
    void a_pkcs8_ec_key_is_read() throws Exception {
        PrivateKey k = PemTls.privateKey(file("ec8.key", pem("PRIVATE KEY", ec.getPrivate().getEncoded())));

        assertThat(k.getAlgorithm()).isEqualTo("EC");
        assertThat(k).isEqualTo(ec.getPrivate());
    }

    @Test
    void a_sec1_ec_key_with_its_named_curve_is_read() throws Exception {
        PrivateKey k = PemTls.privateKey(file("sec1.key", pem("EC PRIVATE KEY", sec1(ec.getPrivate(), true))));

        assertThat(k.getAlgorithm()).isEqualTo("EC");
        assertThat(((java.security.interfaces.ECPrivateKey) k).getS())
                .isEqualTo(((java.security.interfaces.ECPrivateKey) ec.getPrivate()).getS());
    }

    @Test
    void a_sec1_ec_key_without_a_curve_is_refused_with_the_command_that_converts_it() throws Exception {
        PemFile f = file("sec1-nocurve.key", pem("EC PRIVATE KEY", sec1(ec.getPrivate(), false)));

        assertThatThrownBy(() -> PemTls.privateKey(f)).isInstanceOfSatisfying(PemException.class, e -> {
            assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED_FORMAT);
            assertThat(e.setting()).isEqualTo("test.key");
            assertThat(e.getMessage()).contains("names no curve").contains("openssl pkcs8");
        });
    }

    @Test
    void an_ed25519_key_is_read() throws Exception {
        KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();

        PrivateKey k = PemTls.privateKey(file("ed.key", pem("PRIVATE KEY", ed.getPrivate().getEncoded())));

        assertThat(k.getAlgorithm()).isIn("EdDSA", "Ed25519");
    }

    @Test
    void an_encrypted_pkcs8_key_is_read_with_its_passphrase() throws Exception {
        PemFile f = file("enc.key", pem("ENCRYPTED PRIVATE KEY", encrypt(ec.getPrivate().getEncoded(), "pass phrase")));

        PrivateKey k = PemTls.privateKey(f, Optional.of("pass phrase"));

        assertThat(k).isEqualTo(ec.getPrivate());
    }

    @Test
    void a_pkcs8_key_encrypted_with_the_older_pbes1_scheme_is_read_with_its_passphrase() throws Exception {
        String alg = "PBEWithSHA1AndDESede"; // openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES
        PBEParameterSpec spec = new PBEParameterSpec(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, 2048);
        Cipher c = Cipher.getInstance(alg);
        c.init(Cipher.ENCRYPT_MODE, SecretKeyFactory.getInstance(alg).generateSecret(new PBEKeySpec("old scheme".toCharArray())), spec);
        AlgorithmParameters params = AlgorithmParameters.getInstance(alg);
        params.init(spec);
        byte[] der = new EncryptedPrivateKeyInfo(params, c.doFinal(rsa.getPrivate().getEncoded())).getEncoded();

        PrivateKey k = PemTls.privateKey(file("pbes1.key", pem("ENCRYPTED PRIVATE KEY", der)), Optional.of("old scheme"));

        assertThat(k.getEncoded()).isEqualTo(rsa.getPrivate().getEncoded());
    }

    @Test
    void an_encrypted_key_with_a_wrong_passphrase_is_a_typed_error_that_shows_no_passphrase() throws Exception {
        PemFile f = file("enc-wrong.key", pem("ENCRYPTED PRIVATE KEY", encrypt(rsa.getPrivate().getEncoded(), "right one")));

        assertThatThrownBy(() -> PemTls.privateKey(f, Optional.of("wrong one"))).isInstanceOfSatisfying(PemException.class, e -> {
            assertThat(e.problem()).isEqualTo(Problem.WRONG_PASSWORD);
            assertThat(e.setting()).isEqualTo("test.key");
            assertThat(e.getMessage()).contains("wrong passphrase").doesNotContain("wrong one").doesNotContain("right one");
        });
    }

    @Test
    void an_encrypted_key_without_a_passphrase_is_a_typed_error() throws Exception {
        PemFile f = file("enc-none.key", pem("ENCRYPTED PRIVATE KEY", encrypt(rsa.getPrivate().getEncoded(), "x")));

        assertThatThrownBy(() -> PemTls.privateKey(f)).isInstanceOfSatisfying(PemException.class,
                e -> assertThat(e.problem()).isEqualTo(Problem.PASSWORD_REQUIRED));
    }

    @Test
    void openssls_legacy_encrypted_pem_is_refused_with_the_command_that_converts_it() throws Exception {
        String legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n"
                + Base64.getMimeEncoder().encodeToString(new byte[64]) + "\n-----END RSA PRIVATE KEY-----\n";
        PemFile f = file("legacy.key", legacy);

        assertThatThrownBy(() -> PemTls.privateKey(f, Optional.of("p"))).isInstanceOfSatisfying(PemException.class, e -> {
            assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED_FORMAT);
            assertThat(e.getMessage()).contains("openssl pkcs8 -topk8");
        });
    }

    @Test
    void a_file_without_a_key_and_an_unknown_key_block_are_typed_errors_that_do_not_echo_the_file() throws Exception {
        PemFile noKey = file("nokey.pem", pem("CERTIFICATE", new byte[] {1, 2, 3}));
        PemFile dsa = file("dsa.key", pem("DSA PRIVATE KEY", new byte[] {0x30, 0x00}));

        assertThatThrownBy(() -> PemTls.privateKey(noKey)).isInstanceOfSatisfying(PemException.class,
                e -> assertThat(e.problem()).isEqualTo(Problem.NO_KEY));
        assertThatThrownBy(() -> PemTls.privateKey(dsa)).isInstanceOfSatisfying(PemException.class, e -> {
            assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED_FORMAT);
            assertThat(e.getMessage()).doesNotContain("MAA=");
        });
    }

    @Test
    void a_certificate_chain_is_read_in_file_order_also_from_a_file_that_holds_the_key_too() throws Exception {
        Chain chain = chain();
        String both = Files.readString(chain.key) + Files.readString(chain.chain);

        List<Certificate> certs = PemTls.certificates(new PemFile("test.cert", chain.chain));
        List<Certificate> fromBundle = PemTls.certificates(file("bundle.pem", both));

        assertThat(certs).hasSize(2);
        assertThat(((X509Certificate) certs.get(0)).getSubjectX500Principal().getName()).isEqualTo("CN=leaf");
        assertThat(((X509Certificate) certs.get(1)).getSubjectX500Principal().getName()).isEqualTo("CN=pem-ca");
        assertThat(fromBundle).isEqualTo(certs);
        assertThat(PemTls.privateKey(new PemFile("test.key", chain.key), Optional.of("chain pass"))).isNotNull();
    }

    @Test
    void a_file_without_a_certificate_is_a_typed_error() throws Exception {
        PemFile f = file("empty.crt", "nothing here\n");

        assertThatThrownBy(() -> PemTls.certificates(f)).isInstanceOfSatisfying(PemException.class,
                e -> assertThat(e.problem()).isIn(Problem.NO_CERTIFICATE, Problem.NOT_PEM));
    }

    @Test
    void a_tls_context_is_made_from_a_chain_and_an_encrypted_key_and_refuses_a_wrong_passphrase() throws Exception {
        Chain chain = chain();
        PemFile ca = new PemFile("test.cacert", chain.ca);
        PemFile cert = new PemFile("test.cert", chain.chain);
        PemFile key = new PemFile("test.key", chain.key);

        SSLContext ctx = PemTls.sslContext(Optional.of(ca), Optional.of(cert), Optional.of(key), Optional.of("chain pass"));

        assertThat(ctx.getProtocol()).isEqualTo("TLS");
        assertThatThrownBy(() -> PemTls.sslContext(Optional.of(ca), Optional.of(cert), Optional.of(key), Optional.of("nope")))
                .isInstanceOfSatisfying(PemException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.WRONG_PASSWORD);
                    assertThat(e.setting()).isEqualTo("test.key");
                });
    }

    // --- material -------------------------------------------------------------------------------

    private record Chain(Path ca, Path chain, Path key) {
    }

    private static Chain chain;

    /** A CA and a leaf it signed, by the JDK's keytool; the leaf's key written as encrypted PKCS#8. */
    private static synchronized Chain chain() throws Exception {
        if (chain != null) {
            return chain;
        }
        Path ks = dir.resolve("chain.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        keytool(keytool, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-dname", "CN=pem-ca", "-ext", "bc:c", "-validity", "2");
        keytool(keytool, "-genkeypair", "-alias", "leaf", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=leaf", "-validity", "2");
        keytool(keytool, "-certreq", "-alias", "leaf", "-file", dir.resolve("leaf.csr").toString());
        keytool(keytool, "-gencert", "-alias", "ca", "-infile", dir.resolve("leaf.csr").toString(), "-rfc",
                "-outfile", dir.resolve("leaf.crt").toString(), "-validity", "2");
        keytool(keytool, "-exportcert", "-alias", "ca", "-rfc", "-file", dir.resolve("ca.crt").toString());
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(ks)) {
            store.load(in, "storepass".toCharArray());
        }
        PrivateKey leafKey = (PrivateKey) store.getKey("leaf", "storepass".toCharArray());
        Path chainFile = Files.writeString(dir.resolve("chain.crt"), Files.readString(dir.resolve("leaf.crt")) + Files.readString(dir.resolve("ca.crt")));
        Path keyFile = Files.writeString(dir.resolve("leaf.key"), pem("ENCRYPTED PRIVATE KEY", encrypt(leafKey.getEncoded(), "chain pass")));
        chain = new Chain(dir.resolve("ca.crt"), chainFile, keyFile);
        return chain;
    }

    private static void keytool(String keytool, String... args) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of(keytool));
        argv.addAll(List.of(args));
        argv.addAll(List.of("-keystore", dir.resolve("chain.p12").toString(), "-storetype", "PKCS12", "-storepass", "storepass",
                "-noprompt"));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("keytool " + String.join(" ", args) + ": " + out);
        }
    }

    private static PemFile file(String name, String content) throws Exception {
        return new PemFile("test.key", Files.writeString(dir.resolve(name), content));
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** PBES2 with HMAC-SHA256 and AES-256, as {@code openssl pkcs8 -topk8 -v2 aes-256-cbc} writes. */
    private static byte[] encrypt(byte[] pkcs8, String password) throws Exception {
        String alg = "PBEWithHmacSHA256AndAES_256";
        byte[] salt = new byte[16];
        byte[] iv = new byte[16];
        new java.security.SecureRandom().nextBytes(salt);
        new java.security.SecureRandom().nextBytes(iv);
        PBEParameterSpec spec = new PBEParameterSpec(salt, 2048, new IvParameterSpec(iv));
        Cipher c = Cipher.getInstance(alg);
        c.init(Cipher.ENCRYPT_MODE, SecretKeyFactory.getInstance(alg).generateSecret(new PBEKeySpec(password.toCharArray())), spec);
        AlgorithmParameters params = AlgorithmParameters.getInstance(alg);
        params.init(spec);
        // JDK 17's EncryptedPrivateKeyInfo(AlgorithmParameters, byte[]) cannot name PBES2: its DER written out
        byte[] pbes2 = {0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x05, 0x0d};
        ByteArrayOutputStream algId = new ByteArrayOutputStream();
        algId.writeBytes(pbes2);
        algId.writeBytes(params.getEncoded());
        ByteArrayOutputStream info = new ByteArrayOutputStream();
        info.writeBytes(Sec1.Der.encode(0x30, algId.toByteArray()));
        info.writeBytes(Sec1.Der.encode(0x04, c.doFinal(pkcs8)));
        byte[] der = Sec1.Der.encode(0x30, info.toByteArray());
        new EncryptedPrivateKeyInfo(der); // what the reader gets: a well-formed EncryptedPrivateKeyInfo
        return der;
    }

    /** The key inside a PKCS#8 PrivateKeyInfo: its OCTET STRING (PKCS#1 for RSA, SEC1 without parameters for EC). */
    private static byte[] innerKey(byte[] pkcs8) {
        Sec1.Der info = Sec1.Der.read(pkcs8, 0);
        Sec1.Der version = Sec1.Der.read(pkcs8, info.contentStart);
        Sec1.Der alg = Sec1.Der.read(pkcs8, version.end);
        Sec1.Der octets = Sec1.Der.read(pkcs8, alg.end);
        return Arrays.copyOfRange(pkcs8, octets.contentStart, octets.end);
    }

    /** OpenSSL's SEC1 form: version, private key, [0] the named curve (when {@code withCurve}), [1] the public key if the JDK wrote one. */
    private static byte[] sec1(PrivateKey key, boolean withCurve) {
        byte[] inner = innerKey(key.getEncoded());
        Sec1.Der seq = Sec1.Der.read(inner, 0);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int at = seq.contentStart;
        while (at < seq.end) {
            Sec1.Der f = Sec1.Der.read(inner, at);
            if (f.tag == 0xa1 && withCurve) {
                body.writeBytes(Sec1.Der.encode(0xa0, PRIME256V1));
                withCurve = false;
            }
            if (f.tag != 0xa0) {
                body.writeBytes(Arrays.copyOfRange(inner, at, f.end));
            }
            at = f.end;
        }
        if (withCurve) {
            body.writeBytes(Sec1.Der.encode(0xa0, PRIME256V1));
        }
        return Sec1.Der.encode(0x30, body.toByteArray());
    }
}
