package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.Stages.failure;
import static io.pgha.dcs.etcd.Stages.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.auth.Permission;
import io.pgha.dcs.etcd.Stages.Failure;
import io.pgha.testkit.servers.EtcdCluster;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsSession;
import io.pgha.spi.DcsUnreachableException;
import io.pgha.spi.SessionSpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** User/password authentication against an etcd with auth enabled: a refusal is a DcsException, never "unreachable". */
class EtcdAuthTest {
    private static final String PASSWORD = "correct-horse-battery-staple";
    private static final Duration TTL = Duration.ofSeconds(2);
    private static final Duration RETRY = Duration.ofSeconds(2);

    private static EtcdCluster etcd;

    @BeforeAll
    static void startEtcdWithAuth() {
        etcd = EtcdCluster.single();
        Warmup.once(etcd.clientUrl());
        try (Client admin = Client.builder().endpoints(etcd.clientUrl()).build()) {
            var auth = admin.getAuthClient();
            get(auth.roleAdd(b("root")));
            get(auth.userAdd(b("root"), b("root-password")));
            get(auth.userGrantRole(b("root"), b("root")));
            get(auth.roleAdd(b("pgha")));
            get(auth.roleGrantPermission(b("pgha"), b("/service/"), b("/service0"), Permission.Type.READWRITE));
            get(auth.userAdd(b("pgha"), b(PASSWORD)));
            get(auth.userGrantRole(b("pgha"), b("pgha")));
            get(auth.roleAdd(b("reader")));
            get(auth.roleGrantPermission(b("reader"), b("/service/"), b("/service0"), Permission.Type.READ));
            get(auth.userAdd(b("reader"), b("reader-password")));
            get(auth.userGrantRole(b("reader"), b("reader")));
            get(auth.authEnable());
        }
    }

    @AfterAll
    static void stop() {
        if (etcd != null) {
            etcd.close();
        }
    }

    private static ByteSequence b(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @Test
    void theRightCredentialsWork() {
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).credentials("pgha", PASSWORD).build()) {
            DcsSession a = dcs.open(SessionSpec.member("auth", "a", TTL, RETRY));
            get(a.touchMember("{}"));
            assertThat(get(a.acquireLeader())).isTrue();
            assertThat(get(a.renewLeader(Optional.of("{}")))).isTrue();
            assertThat(get(a.compareAndSet(ClusterKey.CONFIG, "{}", DcsEntry.ABSENT))).isTrue();
            assertThat(get(a.read()).leaderName()).contains("a");
            a.close();
        }
    }

    @Test
    void aWrongPasswordIsARefusalWhoseMessageDoesNotContainThePassword() {
        String wrong = "not-the-password-42";
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).credentials("pgha", wrong).build()) {
            DcsSession a = dcs.open(SessionSpec.member("auth", "a", TTL, RETRY));
            Failure f = failure(a::read, RETRY.multipliedBy(3));
            assertThat(f.error()).isInstanceOf(DcsException.class).isNotInstanceOf(DcsUnreachableException.class);
            assertThat(f.millis()).isLessThanOrEqualTo(RETRY.toMillis() + 250);
            assertThat(allMessages(f.error())).doesNotContain(wrong).doesNotContain(PASSWORD);
            assertThat(dcs.toString()).doesNotContain(wrong);
            Failure g = failure(a::acquireLeader, RETRY.multipliedBy(3));
            assertThat(g.error()).isInstanceOf(DcsException.class).isNotInstanceOf(DcsUnreachableException.class);
        }
    }

    @Test
    void aUserWithoutWritePermissionIsRefused() {
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).credentials("reader", "reader-password").build()) {
            DcsSession o = dcs.open(SessionSpec.observer("auth", RETRY));
            get(o.read());
            Failure f = failure(() -> o.compareAndSet(ClusterKey.FAILOVER, "{}", DcsEntry.ABSENT), RETRY.multipliedBy(3));
            assertThat(f.error()).isInstanceOf(DcsException.class).isNotInstanceOf(DcsUnreachableException.class);
            assertThat(f.error()).hasMessageContaining("permission denied");
        }
    }

    @Test
    void noCredentialsAgainstAnEtcdWithAuthIsRefused() {
        try (EtcdDcs dcs = EtcdDcs.builder().endpoints(etcd.clientUrl()).build()) {
            DcsSession o = dcs.open(SessionSpec.observer("auth", RETRY));
            Failure f = failure(() -> o.compareAndSet(ClusterKey.FAILOVER, "{}", DcsEntry.ABSENT), RETRY.multipliedBy(3));
            assertThat(f.error()).isInstanceOf(DcsException.class).isNotInstanceOf(DcsUnreachableException.class);
        }
    }

    private static String allMessages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c).append('\n');
            if (c.getCause() == c) {
                break;
            }
        }
        return sb.toString();
    }
}
