package io.pgha.agent.ctl;

import io.pgha.agent.config.AgentConfig;
import io.pgha.agent.config.Secret;
import io.pgha.spi.support.PemException;
import io.pgha.testkit.servers.EtcdTls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** pghactl's client certificate with an encrypted key and Patroni's {@code ctl.keyfile_password}, read by PemTls. */
class CtlClientKeyTest {
    @TempDir
    Path dir;

    @Test
    void an_encrypted_client_key_is_read_with_ctl_keyfile_password_and_a_wrong_one_is_named_without_showing_it() throws Exception {
        EtcdTls pem = EtcdTls.generate(dir.resolve("pki"));
        Path encrypted = dir.resolve("client-encrypted.key");
        Process p = new ProcessBuilder("openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", pem.clientKey().toString(),
                "-out", encrypted.toString(), "-passout", "pass:ctl-pass").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();

        AgentConfig.CtlConfig.RestTls right = new AgentConfig.CtlConfig.RestTls(true, Optional.empty(),
                Optional.of(pem.clientCertificate()), Optional.of(encrypted), Optional.of(new Secret("ctl-pass")));
        AgentConfig.CtlConfig.RestTls wrong = new AgentConfig.CtlConfig.RestTls(true, Optional.empty(),
                Optional.of(pem.clientCertificate()), Optional.of(encrypted), Optional.of(new Secret("not-it")));

        assertThat(TrustEveryone.context(right).getProtocol()).isEqualTo("TLS");
        assertThatThrownBy(() -> TrustEveryone.context(wrong)).isInstanceOfSatisfying(PemException.class, e -> {
            assertThat(e.setting()).isEqualTo("ctl.keyfile");
            assertThat(e.problem()).isEqualTo(PemException.Problem.WRONG_PASSWORD);
            assertThat(e.getMessage()).doesNotContain("not-it").doesNotContain("ctl-pass");
        });
    }
}
