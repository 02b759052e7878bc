package io.pgha.agent.ctl;

import io.pgha.ConfigurationException;
import io.pgha.agent.config.AgentConfig;
import io.pgha.spi.support.PemTls;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Patroni's {@code ctl.insecure: true}: pghactl accepts any certificate from the members' REST APIs
 * (it still presents {@code ctl.certfile} when given). For clusters whose API certificates the CLI's
 * machine cannot check; the operator asked for it in the file.
 */
final class TrustEveryone {
    private TrustEveryone() {
    }

    static SSLContext context(AgentConfig.CtlConfig.RestTls tls) {
        try {
            javax.net.ssl.KeyManager[] keys = null;
            if (tls.certfile().isPresent()) {
                keys = keyManagers(tls);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keys, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                    // pghactl is the client
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                    // ctl.insecure: any server certificate
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, null);
            return ctx;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new ConfigurationException("ctl.insecure", "cannot set up TLS: " + e.getMessage());
        }
    }

    private static javax.net.ssl.KeyManager[] keyManagers(AgentConfig.CtlConfig.RestTls tls)
            throws GeneralSecurityException, java.io.IOException {
        return PemTls.keyManagers(new PemTls.PemFile("ctl.certfile", tls.certfile().orElseThrow()),
                new PemTls.PemFile("ctl.keyfile", tls.keyfile().orElse(tls.certfile().orElseThrow())),
                tls.keyfilePassword().map(io.pgha.agent.config.Secret::revealString));
    }
}
