package io.pgha.dcs.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdExceptionFactory;
import io.grpc.Status;
import io.pgha.dcs.etcd.Failures.Kind;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsUnreachableException;
import java.net.ConnectException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** How what jetcd and gRPC throw maps onto "unreachable" versus "refused". */
class FailuresTest {

    @Test
    void noConnectionOrNoAnswerIsUnreachable() {
        assertThat(Failures.classify(Status.UNAVAILABLE.withDescription("io exception").asRuntimeException())).isEqualTo(Kind.UNREACHABLE);
        assertThat(Failures.classify(Status.DEADLINE_EXCEEDED.asRuntimeException())).isEqualTo(Kind.UNREACHABLE);
        assertThat(Failures.classify(new CompletionException(Status.CANCELLED.asRuntimeException()))).isEqualTo(Kind.UNREACHABLE);
        assertThat(Failures.classify(new TimeoutException())).isEqualTo(Kind.UNREACHABLE);
        assertThat(Failures.classify(new ConnectException("Connection refused"))).isEqualTo(Kind.UNREACHABLE);
        assertThat(Failures.classify(Status.INTERNAL.withCause(new java.io.IOException("reset")).asRuntimeException()))
                .isEqualTo(Kind.UNREACHABLE);
        assertThat(Failures.classify(Status.RESOURCE_EXHAUSTED.withDescription("etcdserver: too many requests").asRuntimeException()))
                .isEqualTo(Kind.UNREACHABLE);
    }

    @Test
    void aMemberWithoutRaftLeaderIsSafeToRetryEvenForWrites() {
        assertThat(Failures.classify(Status.UNAVAILABLE.withDescription("etcdserver: no leader").asRuntimeException()))
                .isEqualTo(Kind.NO_LEADER);
    }

    @Test
    void authenticationPermissionAndBadRequestsAreRefusals() {
        assertThat(Failures.classify(Status.PERMISSION_DENIED.withDescription("etcdserver: permission denied").asRuntimeException()))
                .isEqualTo(Kind.REFUSED);
        assertThat(Failures.classify(Status.UNAUTHENTICATED.withCause(
                Status.INVALID_ARGUMENT.withDescription("etcdserver: authentication failed").asRuntimeException()).asRuntimeException()))
                .isEqualTo(Kind.REFUSED);
        assertThat(Failures.classify(Status.INVALID_ARGUMENT.withDescription("etcdserver: request is too large").asRuntimeException()))
                .isEqualTo(Kind.REFUSED);
        assertThat(Failures.classify(Status.RESOURCE_EXHAUSTED.withDescription("etcdserver: mvcc: database space exceeded").asRuntimeException()))
                .isEqualTo(Kind.REFUSED);
        assertThat(Failures.classify(new IllegalStateException("a bug"))).isEqualTo(Kind.REFUSED);
    }

    @Test
    void aTokenRequestThatNeverReachedEtcdIsNotAWrongPassword() {
        assertThat(Failures.classify(Status.UNAUTHENTICATED.withCause(Status.UNAVAILABLE.asRuntimeException()).asRuntimeException()))
                .isEqualTo(Kind.UNREACHABLE);
    }

    @Test
    void aLeaseThatIsGoneIsRecognised() {
        assertThat(Failures.classify(EtcdExceptionFactory.newEtcdException(ErrorCode.NOT_FOUND, "etcdserver: requested lease not found")))
                .isEqualTo(Kind.LEASE_NOT_FOUND);
        assertThat(Failures.classify(Status.NOT_FOUND.withDescription("etcdserver: requested lease not found").asRuntimeException()))
                .isEqualTo(Kind.LEASE_NOT_FOUND);
    }

    @Test
    void translationKeepsTheSpiTypes() {
        assertThat(Failures.translate(Status.UNAVAILABLE.asRuntimeException(), "read the cluster", "[h:1]"))
                .isInstanceOf(DcsUnreachableException.class).hasMessageContaining("read the cluster").hasMessageContaining("h:1");
        assertThat(Failures.translate(Status.PERMISSION_DENIED.asRuntimeException(), "write", "[h:1]"))
                .isInstanceOf(DcsException.class).isNotInstanceOf(DcsUnreachableException.class);
        DcsException already = new DcsException("x");
        assertThat(Failures.translate(new CompletionException(already), "write", "[h:1]")).isSameAs(already);
    }

    @Test
    void etcdsOwnTimeoutsDuringALeaderElectionAreAnUnknownOutcomeNotARefusal() {
        for (String d : new String[] {"context deadline exceeded", "etcdserver: request timed out",
                "etcdserver: leader changed", "etcdserver: request timed out, possibly due to previous leader failure"}) {
            assertThat(Failures.classify(Status.UNKNOWN.withDescription(d).asRuntimeException())).as(d).isEqualTo(Kind.UNREACHABLE);
        }
        assertThat(Failures.classify(Status.UNKNOWN.withDescription("etcdserver: invalid auth token").asRuntimeException()))
                .isEqualTo(Kind.REFUSED);
    }
}
