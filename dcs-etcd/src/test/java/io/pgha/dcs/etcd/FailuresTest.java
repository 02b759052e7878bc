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
    void aFailureIsOneLineWithoutGrpcsDiagnosticsAndNamesTheNetworkCause() {
        // what gRPC says of a wait-for-ready request to an etcd that is down, stack trace included
        String diagnostics = "Context deadline exceeded after 0.994264524s. Name resolution delay 0.000000000 seconds. [closed=[],"
                + " open=[[wait_for_ready, Last Pick Failure=Status{code=UNAVAILABLE, description=io exception,"
                + " cause=io.netty.channel.AbstractChannel$AnnotatedConnectException: finishConnect(..) failed with error(-111):"
                + " Connection refused: /127.0.0.1:2379\nCaused by: java.net.ConnectException: finishConnect(..) failed with"
                + " error(-111): Connection refused\n\tat io.netty.channel.unix.Errors.newConnectException0(Errors.java:166)\n"
                + "}, connecting_and_lb_delay=995021024ns, was_still_waiting]]]";
        Throwable down = new CompletionException(Status.DEADLINE_EXCEEDED.withDescription(diagnostics).asRuntimeException());
        assertThat(Failures.describe(down)).isEqualTo("DEADLINE_EXCEEDED: Context deadline exceeded (connection refused)");
        assertThat(Failures.reason(down)).isEqualTo("connection refused");
        assertThat(Failures.translate(down, "read the cluster", "[h:1]").getMessage())
                .isEqualTo("etcd at [h:1] could not be reached to read the cluster: DEADLINE_EXCEEDED: Context deadline exceeded"
                        + " (connection refused)");

        assertThat(Failures.describe(Status.UNAVAILABLE.withDescription("io exception")
                .withCause(new java.io.IOException("Connection reset by peer")).asRuntimeException()))
                .isEqualTo("UNAVAILABLE: io exception (connection reset)");
        assertThat(Failures.describe(new ConnectException("Connection refused"))).isEqualTo("ConnectException: Connection refused");
        assertThat(Failures.reason(Status.UNAVAILABLE.withDescription("etcdserver: no leader").asRuntimeException()))
                .isEqualTo("etcd has no raft leader");
        assertThat(Failures.reason(new DcsUnreachableException("no answer within 500 ms"))).isEqualTo("no answer within 500 ms");
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
