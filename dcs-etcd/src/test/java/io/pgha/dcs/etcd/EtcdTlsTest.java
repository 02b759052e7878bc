package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.Stages.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.dcs.etcd.Stages.Recorder;
import io.pgha.testkit.servers.EtcdCluster;
import io.pgha.testkit.servers.EtcdTls;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS with a private CA and a client certificate (etcd's --client-cert-auth). */
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
}
