package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.Stages.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pgha.dcs.etcd.Stages.Recorder;
import io.pgha.testkit.servers.EtcdCluster;
import io.pgha.testkit.servers.EtcdTls;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.PemTls;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS with a private CA and a client certificate (etcd's --client-cert-auth), from PEM files or from a ready SSLContext. */
class EtcdTlsTest {

    @Test
    void aClientWithTheCaAndAClientCertificateWorksOverTls(@TempDir Path dir) {
        Assumptions.assumeTrue(EtcdTls.opensslAvailable(), "needs the openssl command to make certificates");
        EtcdTls tls = EtcdTls.generate(dir);
        try (EtcdCluster etcd = EtcdCluster.startTls(tls);
             EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).trustedCa(tls.ca())
                     .clientCertificate(tls.clientCertificate(), tls.clientKey()).build()) {
            assertThat(etcd.clientUrl()).startsWith("https://");
            DcsSession a = dcs.open(SessionSpec.member("tls", "a", Duration.ofSeconds(2), Duration.ofSeconds(2)));
            // the member needs a moment to elect itself after it starts listening
            await().atMost(Duration.ofSeconds(15)).ignoreException(DcsUnreachableException.class).until(() -> get(a.read()) != null);
            Recorder heard = new Recorder();
            a.watch(heard);
            get(a.touchMember("{}"));
            assertThat(get(a.acquireLeader())).isTrue();
            assertThat(get(a.renewLeader(Optional.of("{}")))).isTrue();
            assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT))).isTrue();
            await().atMost(Duration.ofSeconds(5)).until(() -> heard.heard("config"));
        }
    }

    @Test
    void aReadySslContextWorksInsteadOfThePemFiles(@TempDir Path dir) {
        Assumptions.assumeTrue(EtcdTls.opensslAvailable(), "needs the openssl command to make certificates");
        EtcdTls tls = EtcdTls.generate(dir);
        SSLContext ssl = PemTls.sslContext(Optional.of(new PemTls.PemFile("ca", tls.ca())),
                Optional.of(new PemTls.PemFile("cert", tls.clientCertificate())), Optional.of(new PemTls.PemFile("key", tls.clientKey())));
        try (EtcdCluster etcd = EtcdCluster.startTls(tls);
             EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).sslContext(ssl).build()) {
            DcsSession a = dcs.open(SessionSpec.member("tls-context", "a", Duration.ofSeconds(2), Duration.ofSeconds(2)));
            await().atMost(Duration.ofSeconds(15)).ignoreException(DcsUnreachableException.class).until(() -> get(a.read()) != null);
            assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{\"written\":\"over TLS\"}", DcsEntry.ABSENT))).isTrue();
            assertThat(get(a.readAuthoritative()).keys().get(ClusterKey.CONFIG).value()).isEqualTo("{\"written\":\"over TLS\"}");
        }
    }

    @Test
    void aContextThatDoesNotTrustTheServersCaGetsNoAnswer(@TempDir Path dir) {
        Assumptions.assumeTrue(EtcdTls.opensslAvailable(), "needs the openssl command to make certificates");
        EtcdTls tls = EtcdTls.generate(dir.resolve("server"));
        EtcdTls other = EtcdTls.generate(dir.resolve("other"));
        SSLContext good = PemTls.sslContext(Optional.of(new PemTls.PemFile("ca", tls.ca())),
                Optional.of(new PemTls.PemFile("cert", tls.clientCertificate())), Optional.of(new PemTls.PemFile("key", tls.clientKey())));
        // the same client certificate, but trusting another CA only: the handshake fails on the server's certificate
        SSLContext wrongCa = PemTls.sslContext(Optional.of(new PemTls.PemFile("ca", other.ca())),
                Optional.of(new PemTls.PemFile("cert", tls.clientCertificate())), Optional.of(new PemTls.PemFile("key", tls.clientKey())));
        try (EtcdCluster etcd = EtcdCluster.startTls(tls);
             EtcdDcs ok = EtcdDcs.builder().endpoints(etcd.clientUrl()).sslContext(good).build();
             EtcdDcs refused = EtcdDcs.builder().endpoints(etcd.clientUrl()).sslContext(wrongCa).build()) {
            DcsSession a = ok.open(SessionSpec.observer("tls-context", Duration.ofSeconds(2)));
            await().atMost(Duration.ofSeconds(15)).ignoreException(DcsUnreachableException.class).until(() -> get(a.read()) != null);
            DcsSession b = refused.open(SessionSpec.observer("tls-context", Duration.ofSeconds(2)));
            // gRPC retries the failed handshake, so it surfaces as no answer within retry_timeout
            assertThatThrownBy(() -> get(b.read())).isInstanceOf(DcsUnreachableException.class);
        }
    }
}
