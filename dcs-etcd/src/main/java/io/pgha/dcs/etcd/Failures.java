package io.pgha.dcs.etcd;

import io.etcd.jetcd.common.exception.ClosedClientException;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.support.Errors;
import io.grpc.Status;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsUnreachableException;
import java.io.IOException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.Locale;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * Sorts what jetcd throws into the SPI's two outcomes: {@link DcsUnreachableException} (the store
 * could not be reached or did not answer: the outcome is unknown) and {@link DcsException} (it
 * answered "no": authentication, permissions, a malformed request).
 */
final class Failures {
    enum Kind {
        /** Not reached or no answer in time; a write may or may not have been applied. */
        UNREACHABLE,
        /** The member answered that it has no raft leader: the request was not applied, retrying is safe. */
        NO_LEADER,
        /** The lease named in the request does not exist (expired or revoked). */
        LEASE_NOT_FOUND,
        /** Refused for good (auth, permission, bad request) or a bug. */
        REFUSED
    }

    private Failures() {
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static Kind classify(Throwable t) {
        t = unwrap(t);
        if (t instanceof DcsUnreachableException || t instanceof TimeoutException || t instanceof IOException
                || t instanceof CancellationException) {
            return Kind.UNREACHABLE;
        }
        if (t instanceof ClosedClientException) {
            return Kind.REFUSED;
        }
        if (t instanceof DcsException) {
            return Kind.REFUSED;
        }
        Status status = status(t);
        if (status == null) {
            return Kind.REFUSED;
        }
        if (Errors.isNoLeaderError(status)) {
            return Kind.NO_LEADER;
        }
        String description = status.getDescription() == null ? "" : status.getDescription();
        switch (status.getCode()) {
            case RESOURCE_EXHAUSTED:
                // "database space exceeded" (the NOSPACE alarm) needs an operator; "too many
                // requests" passes by itself
                return description.contains("space exceeded") ? Kind.REFUSED : Kind.UNREACHABLE;
            case UNAVAILABLE:
            case DEADLINE_EXCEEDED:
            case CANCELLED:
            case ABORTED:
                return Kind.UNREACHABLE;
            case NOT_FOUND:
                return description.contains("lease not found") ? Kind.LEASE_NOT_FOUND : Kind.REFUSED;
            case UNAUTHENTICATED:
                // jetcd reports a failed token request as UNAUTHENTICATED with the real cause
                // attached: a token request that never reached etcd is not a wrong password.
                Throwable cause = status.getCause() != null ? status.getCause() : t.getCause();
                if (cause != null && cause != t && classify(cause) == Kind.UNREACHABLE) {
                    return Kind.UNREACHABLE;
                }
                return Kind.REFUSED;
            case INTERNAL:
            case UNKNOWN:
                // a connection reset surfaces as INTERNAL/UNKNOWN with an I/O cause; so do etcd's own
                // timeouts while it elects a leader ("context deadline exceeded", "etcdserver: request
                // timed out", "leader changed"): the request may or may not have been applied
                return hasIoCause(t) || description.contains("Connection") || description.contains("RST_STREAM")
                        || isTransientServerError(description) ? Kind.UNREACHABLE : Kind.REFUSED;
            default:
                return Kind.REFUSED;
        }
    }

    /** etcd's answers while it has no stable leader, or is stopping: the outcome is unknown, not refused. */
    static boolean isTransientServerError(String description) {
        String d = description.toLowerCase(java.util.Locale.ROOT);
        return d.contains("deadline exceeded") || d.contains("timed out") || d.contains("leader changed")
                || d.contains("no leader") || d.contains("server stopped") || d.contains("too many requests");
    }

    private static Status status(Throwable t) {
        if (t instanceof EtcdException e) {
            Status s = e.getErrorCode() == null ? Status.UNKNOWN : statusOf(e);
            return s.withDescription(e.getMessage()).withCause(e.getCause());
        }
        Status s = Status.fromThrowable(t);
        return s.getCode() == Status.Code.UNKNOWN && s.getCause() == t && !(t instanceof io.grpc.StatusRuntimeException)
                && !(t instanceof io.grpc.StatusException) ? null : s;
    }

    private static Status statusOf(EtcdException e) {
        try {
            return Status.Code.valueOf(e.getErrorCode().name()).toStatus();
        } catch (IllegalArgumentException x) {
            return Status.UNKNOWN;
        }
    }

    private static boolean hasIoCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof IOException) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return false;
    }

    /** The SPI exception for a failure of {@code what} (a phrase like "renew the leader key"). */
    static DcsException translate(Throwable t, String what, String endpoints) {
        t = unwrap(t);
        if (t instanceof DcsException d) {
            return d;
        }
        return switch (classify(t)) {
            case UNREACHABLE, NO_LEADER -> new DcsUnreachableException(
                    "etcd at " + endpoints + " could not be reached to " + what + ": " + describe(t), t);
            case LEASE_NOT_FOUND, REFUSED -> new DcsException("etcd at " + endpoints + " refused to " + what + ": " + describe(t), t);
        };
    }

    /**
     * One line, without stack or secrets (jetcd never echoes the password): the gRPC code or the
     * class, the message's first line without gRPC's diagnostics, and the network cause when one is
     * known, e.g. {@code "DEADLINE_EXCEEDED: Context deadline exceeded after 0.99s (connection refused)"}.
     * gRPC's diagnostics of a wait-for-ready request ({@code [closed=[], open=[[wait_for_ready, Last
     * Pick Failure=Status{... cause=...}]]}) hold the last connection failure with its whole stack
     * trace, which must not reach the log.
     */
    static String describe(Throwable t) {
        t = unwrap(t);
        String m = tidy(t.getMessage());
        String head;
        if (t instanceof io.grpc.StatusRuntimeException || t instanceof io.grpc.StatusException || t instanceof DcsException) {
            // the message starts with the gRPC code, or is pgha's own sentence
            head = m.isEmpty() ? t.getClass().getSimpleName() : m;
        } else {
            String name = t.getClass().getSimpleName();
            if (t instanceof EtcdException e && e.getErrorCode() != null) {
                name = e.getErrorCode().name();
            }
            head = m.isEmpty() ? name : name + ": " + m;
        }
        String cause = networkCause(t);
        return cause == null || head.toLowerCase(Locale.ROOT).contains(cause) ? head : head + " (" + cause + ")";
    }

    /** The cause of a failure to reach etcd in a few words, for the line that reports an outage. */
    static String reason(Throwable t) {
        t = unwrap(t);
        String cause = networkCause(t);
        if (cause != null) {
            return cause;
        }
        if (classify(t) == Kind.NO_LEADER) {
            return "etcd has no raft leader";
        }
        return describe(t);
    }

    private static final Pattern GRPC_DIAGNOSTICS = Pattern.compile("\\s*\\[(closed|open|buffered_nanos|remote_addr)=.*$", Pattern.DOTALL);
    private static final Pattern RESOLUTION_DELAY = Pattern.compile("\\s*Name resolution delay [0-9.]+ seconds\\.?");
    /** gRPC's "deadline exceeded after 0.994264524s": a number that differs every time would make every line new. */
    private static final Pattern ELAPSED = Pattern.compile(" after -?[0-9.]+(ns|s)\\b");
    private static final int MAX_LINE = 300;

    /** The message's first line, without gRPC's bracketed diagnostics, at most {@value #MAX_LINE} characters. */
    static String tidy(String message) {
        if (message == null) {
            return "";
        }
        String m = GRPC_DIAGNOSTICS.matcher(message).replaceFirst("");
        m = RESOLUTION_DELAY.matcher(m).replaceAll("");
        m = ELAPSED.matcher(m).replaceAll("");
        int nl = m.indexOf('\n');
        if (nl >= 0) {
            m = m.substring(0, nl);
        }
        m = m.strip();
        if (m.endsWith(".")) {
            m = m.substring(0, m.length() - 1);
        }
        return m.length() > MAX_LINE ? m.substring(0, MAX_LINE) + "..." : m;
    }

    /** Known network causes, looked for anywhere in the failure (gRPC puts the last one into its diagnostics text). */
    private static final String[][] NETWORK_CAUSES = {
        {"connection refused", "connection refused"},
        {"connection reset", "connection reset"},
        {"no route to host", "no route to host"},
        {"network is unreachable", "network unreachable"},
        {"connection timed out", "connect timed out"},
        {"unresolvedaddressexception", "unknown host"},
        {"unknownhostexception", "unknown host"},
        {"broken pipe", "connection broken"},
    };

    /** The network cause of {@code t} in a few words, or null when it shows none. */
    static String networkCause(Throwable t) {
        StringBuilder text = new StringBuilder();
        int depth = 0;
        for (Throwable c = t; c != null && depth < 10; c = c.getCause(), depth++) {
            if (c instanceof javax.net.ssl.SSLException) {
                return "TLS: " + tidy(c.getMessage());
            }
            text.append(c.getClass().getSimpleName()).append(' ').append(c.getMessage()).append('\n');
            if (c.getCause() == c) {
                break;
            }
        }
        String all = text.toString().toLowerCase(Locale.ROOT);
        for (String[] k : NETWORK_CAUSES) {
            if (all.contains(k[0])) {
                return k[1];
            }
        }
        return null;
    }
}
