package io.pgha.dcs.etcd;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import java.util.concurrent.TimeUnit;

/**
 * Gives every etcd request except the long-lived watch stream a gRPC deadline.
 *
 * <p>jetcd sends requests without one and with wait-for-ready, so a request to a store that is
 * down waits until it comes back, possibly minutes later. The session stops waiting after
 * {@code retry_timeout} anyway; this deadline makes gRPC drop the abandoned request too, instead
 * of delivering a stale write much later. (The lease keep-alive stream gets one as well: pgha uses
 * it only for one-request keep-alives, {@link KeepAlives}, never for jetcd's background keep-alive.)
 */
final class DeadlineInterceptor implements ClientInterceptor {
    private static final String WATCH = "etcdserverpb.Watch/Watch";

    private final long nanos;

    DeadlineInterceptor(long nanos) {
        this.nanos = nanos;
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        if (!WATCH.equals(method.getFullMethodName()) && options.getDeadline() == null) {
            options = options.withDeadlineAfter(nanos, TimeUnit.NANOSECONDS);
        }
        return next.newCall(method, options);
    }
}
