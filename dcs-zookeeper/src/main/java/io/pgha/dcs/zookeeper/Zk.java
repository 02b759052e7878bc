package io.pgha.dcs.zookeeper;

import io.pgha.spi.DcsException;
import io.pgha.spi.DcsUnreachableException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.CreateOptions;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;

/**
 * ZooKeeper's asynchronous calls as futures. Every future fails with the {@link KeeperException}
 * of the result code, so callers can tell "the node exists" from "the connection dropped". The
 * futures complete on the ZooKeeper client's event thread: nothing chained to them may block.
 */
final class Zk {
    private Zk() {
    }

    /** A znode's data and stat. */
    record Node(byte[] data, Stat stat) {
    }

    static CompletableFuture<Void> sync(ZooKeeper zk, String path) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        try {
            zk.sync(path, (rc, p, ctx) -> complete(f, rc, p, null), null);
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    static CompletableFuture<Node> getData(ZooKeeper zk, String path) {
        CompletableFuture<Node> f = new CompletableFuture<>();
        try {
            zk.getData(path, false, (rc, p, ctx, data, stat) -> complete(f, rc, p, new Node(data, stat)), null);
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    static CompletableFuture<List<String>> getChildren(ZooKeeper zk, String path) {
        CompletableFuture<List<String>> f = new CompletableFuture<>();
        try {
            zk.getChildren(path, false, (rc, p, ctx, children) -> complete(f, rc, p, children), null);
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    static CompletableFuture<Stat> create(ZooKeeper zk, String path, byte[] data, List<ACL> acl, CreateMode mode) {
        CompletableFuture<Stat> f = new CompletableFuture<>();
        try {
            zk.create(path, data, acl, mode, (rc, p, ctx, name, stat) -> complete(f, rc, p, stat), null);
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    static CompletableFuture<Stat> setData(ZooKeeper zk, String path, byte[] data, int version) {
        CompletableFuture<Stat> f = new CompletableFuture<>();
        try {
            zk.setData(path, data, version, (rc, p, ctx, stat) -> complete(f, rc, p, stat), null);
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    static CompletableFuture<Void> delete(ZooKeeper zk, String path, int version) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        try {
            zk.delete(path, version, (rc, p, ctx) -> complete(f, rc, p, null), null);
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    /**
     * A read-only multi: all reads are served at one point of the server's history (the server
     * runs no write while it serves a read). Each result is a value or an
     * {@link OpResult.ErrorResult} of its own (a missing node does not spoil the others).
     */
    static CompletableFuture<List<OpResult>> multiRead(ZooKeeper zk, List<Op> ops) {
        CompletableFuture<List<OpResult>> f = new CompletableFuture<>();
        try {
            zk.multi(ops, (rc, p, ctx, results) -> {
                if (results != null && results.size() == ops.size()) {
                    f.complete(results);
                } else {
                    f.completeExceptionally(KeeperException.create(Code.get(rc == 0 ? Code.SYSTEMERROR.intValue() : rc), p));
                }
            }, null);
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    /** A transaction: all operations or none; fails with the first failing operation's code. */
    static CompletableFuture<List<OpResult>> transaction(ZooKeeper zk, List<Op> ops) {
        CompletableFuture<List<OpResult>> f = new CompletableFuture<>();
        try {
            zk.multi(ops, (rc, p, ctx, results) -> complete(f, rc, p, results), null);
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    static CompletableFuture<Void> addWatch(ZooKeeper zk, String path, Watcher watcher, AddWatchMode mode) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        try {
            zk.addWatch(path, watcher, mode, (rc, p, ctx) -> complete(f, rc, p, null), null);
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    private static <T> void complete(CompletableFuture<T> f, int rc, String path, T value) {
        if (rc == Code.OK.intValue()) {
            f.complete(value);
        } else {
            f.completeExceptionally(KeeperException.create(Code.get(rc), path));
        }
    }

    /** The result code carried by a failure, or {@code null} if it is not a {@link KeeperException}. */
    static Code code(Throwable t) {
        Throwable c = unwrap(t);
        return c instanceof KeeperException k ? k.code() : null;
    }

    static boolean is(Throwable t, Code code) {
        return code(t) == code;
    }

    static Code errorOf(OpResult r) {
        return r instanceof OpResult.ErrorResult e ? Code.get(e.getErr()) : Code.OK;
    }

    static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /**
     * Failures that say nothing about the outcome: the connection dropped (the request may or may
     * not have been applied), the session moved or expired under the request, the server was not
     * serving (no quorum) or throttled the request.
     */
    static boolean isConnectionProblem(Throwable t) {
        Code c = code(t);
        if (c == null) {
            return false;
        }
        return switch (c) {
            case CONNECTIONLOSS, SESSIONEXPIRED, SESSIONMOVED, OPERATIONTIMEOUT, REQUESTTIMEOUT, THROTTLEDOP,
                    NOTREADONLY, SESSIONCLOSEDREQUIRESASLAUTH -> true;
            default -> false;
        };
    }

    /** A create for a transaction that answers with the new node's stat ({@code create2}; plain {@code Op.create} does not). */
    static Op createOp(String path, byte[] data, List<ACL> acl, CreateMode mode) {
        return Op.create(path, data, CreateOptions.newBuilder(acl, mode).build());
    }

    /** The zxid of the node a transaction created with {@link #createOp}; 0 if the result has no stat. */
    static long createdZxid(List<OpResult> results) {
        for (OpResult r : results) {
            if (r instanceof OpResult.CreateResult c && c.getStat() != null) {
                return c.getStat().getCzxid();
            }
        }
        return 0;
    }

    /** Creates {@code path}, and its missing ancestors if there are any. */
    static CompletableFuture<Stat> createWithParents(ZooKeeper zk, String path, byte[] data, List<ACL> acl, CreateMode mode) {
        return create(zk, path, data, acl, mode).exceptionallyCompose(e -> is(e, Code.NONODE)
                ? ensureParents(zk, path, acl).thenCompose(v -> create(zk, path, data, acl, mode))
                : CompletableFuture.failedFuture(e));
    }

    /** Creates every missing ancestor of {@code path} (empty persistent nodes, as Patroni's makepath does). */
    private static CompletableFuture<Void> ensureParents(ZooKeeper zk, String path, List<ACL> acl) {
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        for (int i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) {
            String parent = path.substring(0, i);
            chain = chain.thenCompose(v -> create(zk, parent, new byte[0], acl, CreateMode.PERSISTENT)
                    .handle((s, e) -> {
                        if (e != null && !is(e, Code.NODEEXISTS)) {
                            throw new CompletionException(unwrap(e));
                        }
                        return null;
                    }));
        }
        return chain;
    }

    /**
     * The caller sees only the SPI's exceptions: unreachable for anything that leaves the outcome
     * open, {@link DcsException} for a refusal (no permission, a bad ACL) with the path but no
     * secret in the message.
     */
    static <T> CompletableFuture<T> withSpiErrors(String what, CompletableFuture<T> f) {
        return f.handle((v, e) -> {
            if (e == null) {
                return CompletableFuture.completedFuture(v);
            }
            Throwable c = unwrap(e);
            if (c instanceof DcsException || c instanceof IllegalArgumentException || c instanceof IllegalStateException) {
                return CompletableFuture.<T>failedFuture(c);
            }
            if (isConnectionProblem(c)) {
                return CompletableFuture.<T>failedFuture(new DcsUnreachableException("ZooKeeper: " + what + ": " + ZkConnection.describe(c), c));
            }
            if (c instanceof KeeperException k) {
                return CompletableFuture.<T>failedFuture(new DcsException("ZooKeeper refused to " + what + ": " + k.getMessage(), k));
            }
            return CompletableFuture.<T>failedFuture(new DcsException("ZooKeeper: " + what + " failed: " + ZkConnection.describe(c), c));
        }).thenCompose(x -> x);
    }
}
