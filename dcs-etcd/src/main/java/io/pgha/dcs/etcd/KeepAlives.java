package io.pgha.dcs.etcd;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Status;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.lang.reflect.Field;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one lease keep-alive as a call that etcd ends with OK.
 *
 * <p>etcd has no unary keep-alive, only the bidirectional {@code LeaseKeepAlive} stream. jetcd's
 * {@code keepAliveOnce} opens one, and when the answer arrives the caller is done with it and the
 * stream is cancelled; etcd reports a cancelled keep-alive stream as {@code Unavailable} ("no
 * leader") in {@code grpc_server_handled_total}, the counter etcd operators alert on (measured: 21 of
 * 24 idle keep-alives). Here each keep-alive is one request followed at once by the client's
 * half-close, like a unary call: etcd answers the request, reads the end of the stream and ends the
 * call with OK, and the returned stage completes only then, so nothing is cancelled after the answer.
 *
 * <p>The outcome is what {@code keepAliveOnce} reported: the answer (TTL 0 when the lease is gone),
 * or the gRPC failure as is. A request abandoned by its session (the attempt's deadline, or the gRPC
 * context cancelled) is cancelled, and its outcome is unknown, as before.
 *
 * <p>The call goes out on jetcd's own lease stub's channel with its call options (so with its
 * interceptors, authentication token and wait-for-ready), which jetcd does not expose, hence the
 * reflection. If jetcd's internals change, this logs once and falls back to {@code keepAliveOnce}.
 */
final class KeepAlives {
    private static final Logger LOG = LoggerFactory.getLogger(KeepAlives.class);

    private final Client client;
    /** Null when jetcd's stub could not be reached: then {@code keepAliveOnce}. */
    private final Channel channel;
    private final CallOptions options;

    private KeepAlives(Client client, Channel channel, CallOptions options) {
        this.client = client;
        this.channel = channel;
        this.options = options;
    }

    static KeepAlives of(Client client) {
        try {
            Object lease = client.getLeaseClient();
            Field f = lease.getClass().getDeclaredField("leaseStub");
            f.setAccessible(true);
            AbstractStub<?> stub = (AbstractStub<?>) f.get(lease);
            return new KeepAlives(client, stub.getChannel(), stub.getCallOptions());
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.info("cannot reach jetcd's lease stub ({}); lease keep-alives use jetcd's keepAliveOnce, which etcd counts as"
                    + " Unavailable calls", e.toString());
            return new KeepAlives(client, null, null);
        }
    }

    /** Sends one keep-alive for {@code leaseId}; completes when etcd has ended the call. */
    CompletableFuture<LeaseKeepAliveResponse> once(long leaseId) {
        if (channel == null) {
            return client.getLeaseClient().keepAliveOnce(leaseId);
        }
        CompletableFuture<LeaseKeepAliveResponse> out = new CompletableFuture<>();
        // created on the calling thread, so inside the attempt's gRPC context: its deadline and
        // cancellation apply to this call
        ClientCall<LeaseKeepAliveRequest, io.etcd.jetcd.api.LeaseKeepAliveResponse> call =
                channel.newCall(LeaseGrpc.getLeaseKeepAliveMethod(), options);
        AtomicBoolean ended = new AtomicBoolean();
        out.whenComplete((r, e) -> {
            if (e != null && !ended.get()) {
                // abandoned by the caller before the call ended
                call.cancel("the keep-alive was abandoned", null);
            }
        });
        try {
            // request, half-close, one answer, then etcd's OK: gRPC's unary client flow
            ClientCalls.asyncUnaryCall(call, LeaseKeepAliveRequest.newBuilder().setID(leaseId).build(), new StreamObserver<>() {
                private io.etcd.jetcd.api.LeaseKeepAliveResponse answer;

                @Override
                public void onNext(io.etcd.jetcd.api.LeaseKeepAliveResponse value) {
                    answer = value;
                }

                @Override
                public void onError(Throwable t) {
                    ended.set(true);
                    out.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {
                    ended.set(true);
                    if (answer == null) {
                        out.completeExceptionally(Status.UNAVAILABLE.withDescription("etcd ended the keep-alive without an answer")
                                .asRuntimeException());
                    } else {
                        out.complete(new LeaseKeepAliveResponse(answer));
                    }
                }
            });
        } catch (RuntimeException e) {
            // the call was cancelled before the request went out (the caller gave up meanwhile):
            // whether it reached etcd is unknown, never a refusal
            out.completeExceptionally(Status.CANCELLED.withDescription("the keep-alive was abandoned before it was sent")
                    .withCause(e).asRuntimeException());
        }
        return out;
    }
}
