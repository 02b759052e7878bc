package io.pgha.internal.postgres;

import io.pgha.ConfigurationException;
import io.pgha.spi.support.PemTls;
import io.pgha.spi.support.PemTls.PemFile;

import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CRL;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.PKIXRevocationChecker;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * pgjdbc's TLS socket factory for pgha's connections, with libpq's rules over libpq's PEM files, so
 * one set of {@code postgresql.authentication.<role>.ssl*} keys means the same for pgha's JDBC
 * connections as for the walreceiver, pg_basebackup and pg_rewind:
 * <ul>
 *   <li>the server's certificate is checked against {@code sslrootcert} for {@code verify-ca} and
 *       {@code verify-full}, and for {@code require} when {@code sslrootcert} is set (libpq's rule);
 *       {@code system} is the JVM's trust store; {@code allow}, {@code prefer} and {@code require}
 *       without a root certificate check nothing. The host name ({@code verify-full}) is pgjdbc's
 *       check, which runs after the handshake for any factory.</li>
 *   <li>{@code sslcrl} / {@code sslcrldir}: the server's certificate must not be revoked, and a CRL
 *       of its issuer must be there (OpenSSL's {@code X509_V_FLAG_CRL_CHECK}: the leaf only).</li>
 *   <li>{@code sslcert} / {@code sslkey} / {@code sslpassword}: a client certificate read by
 *       {@link PemTls} (PKCS#8, encrypted PKCS#8, PKCS#1, SEC1), where pgjdbc's own factory wants
 *       DER PKCS#8 or PKCS#12.</li>
 * </ul>
 * A bad file throws the {@link ConfigurationException} naming its key, which pgjdbc wraps and
 * pg-driver unwraps.
 *
 * <p>Not API: public only because pgjdbc creates it by reflection, with the connection's properties.
 */
public final class PgTlsSocketFactory extends SSLSocketFactory {
    /** {@code postgresql.authentication.<role>}: prefix of the keys named in errors. */
    public static final String SETTING = "pgha.sslsetting";
    public static final String CRL = "pgha.sslcrl";
    public static final String CRL_DIR = "pgha.sslcrldir";

    private final SSLSocketFactory delegate;

    public PgTlsSocketFactory(Properties info) {
        String setting = info.getProperty(SETTING, "postgresql.authentication");
        String mode = info.getProperty("sslmode", "prefer");
        Optional<String> rootCert = Optional.ofNullable(info.getProperty("sslrootcert"));
        boolean verify = mode.equals("verify-ca") || mode.equals("verify-full") || (mode.equals("require") && rootCert.isPresent());
        try {
            TrustManager[] trust = verify
                    ? trustManagers(setting, rootCert.orElseThrow(() -> new ConfigurationException(setting + ".sslrootcert",
                            "is required with sslmode=" + mode)), crls(setting, info))
                    : new TrustManager[] {new TrustAnything()};
            javax.net.ssl.KeyManager[] keys = null;
            String cert = info.getProperty("sslcert");
            String key = info.getProperty("sslkey");
            if (cert != null && key != null) {
                keys = PemTls.keyManagers(new PemFile(setting + ".sslcert", Path.of(cert)), new PemFile(setting + ".sslkey", Path.of(key)),
                        Optional.ofNullable(info.getProperty("sslpassword")));
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keys, trust, null);
            delegate = ctx.getSocketFactory();
        } catch (IOException | GeneralSecurityException e) {
            throw new ConfigurationException(setting, "cannot set up TLS to PostgreSQL: " + e.getMessage());
        }
    }

    private static TrustManager[] trustManagers(String setting, String rootCert, List<CRL> crls)
            throws IOException, GeneralSecurityException {
        KeyStore anchors;
        if (rootCert.equals("system")) {
            anchors = null;
            if (!crls.isEmpty()) {
                // the JDK's default trust store, with the revocation check below
                TrustManagerFactory def = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                def.init((KeyStore) null);
                anchors = KeyStore.getInstance("PKCS12");
                anchors.load(null, null);
                int i = 0;
                for (TrustManager tm : def.getTrustManagers()) {
                    if (tm instanceof X509TrustManager x) {
                        for (X509Certificate c : x.getAcceptedIssuers()) {
                            anchors.setCertificateEntry("system-" + i++, c);
                        }
                    }
                }
            }
        } else {
            anchors = KeyStore.getInstance("PKCS12");
            anchors.load(null, null);
            List<Certificate> cas = PemTls.certificates(new PemFile(setting + ".sslrootcert", Path.of(rootCert)));
            for (int i = 0; i < cas.size(); i++) {
                anchors.setCertificateEntry("ca-" + i, cas.get(i));
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        if (crls.isEmpty()) {
            tmf.init(anchors);
        } else {
            PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, new X509CertSelector());
            params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(crls)));
            PKIXRevocationChecker checker = (PKIXRevocationChecker) CertPathBuilder.getInstance("PKIX").getRevocationChecker();
            checker.setOptions(EnumSet.of(PKIXRevocationChecker.Option.ONLY_END_ENTITY, PKIXRevocationChecker.Option.PREFER_CRLS,
                    PKIXRevocationChecker.Option.NO_FALLBACK));
            params.addCertPathChecker(checker);
            params.setRevocationEnabled(true);
            ManagerFactoryParameters mfp = new CertPathTrustManagerParameters(params);
            tmf.init(mfp);
        }
        return tmf.getTrustManagers();
    }

    private static List<CRL> crls(String setting, Properties info) throws IOException {
        List<CRL> out = new ArrayList<>();
        String file = info.getProperty(CRL);
        if (file != null) {
            out.addAll(readCrls(setting + ".sslcrl", Path.of(file)));
        }
        String dir = info.getProperty(CRL_DIR);
        if (dir != null) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(Path.of(dir))) {
                for (Path f : files) {
                    if (Files.isRegularFile(f)) {
                        out.addAll(readCrls(setting + ".sslcrldir", f));
                    }
                }
            }
        }
        return out;
    }

    private static List<CRL> readCrls(String setting, Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            List<CRL> crls = new ArrayList<>(CertificateFactory.getInstance("X.509").generateCRLs(in));
            if (crls.isEmpty() && setting.endsWith(".sslcrl")) {
                throw new ConfigurationException(setting, "no certificate revocation list in " + file);
            }
            return crls;
        } catch (GeneralSecurityException e) {
            throw new ConfigurationException(setting, "not a PEM or DER certificate revocation list: " + file);
        }
    }

    @Override
    public String[] getDefaultCipherSuites() {
        return delegate.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
        return delegate.getSupportedCipherSuites();
    }

    @Override
    public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
        return delegate.createSocket(s, host, port, autoClose);
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return delegate.createSocket(host, port);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return delegate.createSocket(host, port, localHost, localPort);
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return delegate.createSocket(host, port);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return delegate.createSocket(address, port, localAddress, localPort);
    }

    /** libpq's {@code allow}, {@code prefer} and {@code require} without a root certificate: encryption, no authentication of the server. */
    private static final class TrustAnything implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
