package io.pgha.internal.rest;

import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.engine.HaEngine;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsSession;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The store as the REST endpoints reach it: through the node's own session, each call bounded by
 * retry_timeout, a store that does not answer being a 503 that says why.
 */
final class StoreAccess {
    private final HaEngine engine;

    StoreAccess(HaEngine engine) {
        this.engine = engine;
    }

    private DcsSession session() {
        DcsSession s = engine.session();
        if (s == null) {
            throw new HttpError(503, "the node has not started");
        }
        return s;
    }

    ClusterSnapshot readSnapshot() {
        try {
            return session().read().toCompletableFuture().get(engine.view().config().settings().retryTimeout().toMillis() + 500,
                    TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpError(503, "interrupted");
        } catch (Exception e) {
            throw new HttpError(503, "the store cannot be read: " + HttpError.describe(e));
        }
    }

    /** The cluster as the store holds it now, not as the HA loop last saw it. */
    Cluster freshCluster() {
        return ClusterCodec.decode(readSnapshot());
    }

    /** Runs one conditional write; false when its condition no longer held. */
    boolean write(Function<DcsSession, CompletionStage<Boolean>> call) {
        try {
            return call.apply(session()).toCompletableFuture().get(engine.view().config().settings().retryTimeout().toMillis() + 500,
                    TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpError(503, "interrupted");
        } catch (HttpError e) {
            throw e;
        } catch (Exception e) {
            throw new HttpError(503, "the store write failed: " + HttpError.describe(e));
        }
    }
}
