package io.pgha.internal.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.cluster.DynamicConfig;
import io.pgha.internal.engine.HaEngine;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import java.util.List;

/**
 * {@code /config}: the cluster's dynamic configuration, read ({@code GET}), merged into
 * ({@code PATCH}) or replaced ({@code PUT}). A change is validated before it is written, and written
 * only over the version just read: one made meanwhile is answered 409 rather than lost.
 */
final class ConfigEndpoints {
    private final HaEngine engine;
    private final StoreAccess store;

    ConfigEndpoints(HaEngine engine, StoreAccess store) {
        this.engine = engine;
        this.store = store;
    }

    Reply get() {
        Cluster c = store.freshCluster();
        return c.config().map(e -> Reply.json(200, e.config().toJson()))
                .orElseThrow(() -> new HttpError(502, "the cluster has no dynamic configuration"));
    }

    Reply patch(String body) {
        ObjectNode patch = JsonBody.object(body, true);
        ClusterSnapshot s = store.readSnapshot();
        DcsEntry current = s.get(ClusterKey.CONFIG).orElseThrow(() -> new HttpError(503, "the cluster has no dynamic configuration"));
        JsonNode base;
        try {
            base = ClusterCodec.JSON.readTree(current.value());
        } catch (JsonProcessingException e) {
            base = ClusterCodec.JSON.createObjectNode();
        }
        ObjectNode merged = new DynamicConfig(base != null && base.isObject() ? (ObjectNode) base : ClusterCodec.JSON.createObjectNode())
                .patched(patch).toJson();
        validate(merged);
        if (!store.write(d -> d.compareAndSet(ClusterKey.CONFIG, merged.toString(), current.version()))) {
            throw new HttpError(409, "the configuration changed meanwhile; read it again and retry");
        }
        engine.wake();
        return Reply.json(200, merged);
    }

    Reply put(String body) {
        ObjectNode replacement = JsonBody.object(body, true);
        validate(replacement);
        ClusterSnapshot s = store.readSnapshot();
        long version = s.get(ClusterKey.CONFIG).map(DcsEntry::version).orElse(DcsEntry.ABSENT);
        if (!store.write(d -> d.compareAndSet(ClusterKey.CONFIG, replacement.toString(), version))) {
            throw new HttpError(409, "the configuration changed meanwhile; read it again and retry");
        }
        engine.wake();
        return Reply.json(200, replacement);
    }

    private static void validate(ObjectNode config) {
        List<String> problems = new DynamicConfig(config).validate();
        if (!problems.isEmpty()) {
            throw new HttpError(400, "invalid configuration: " + String.join("; ", problems));
        }
    }
}
