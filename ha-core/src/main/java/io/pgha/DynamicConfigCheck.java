package io.pgha;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.cluster.DynamicConfig;
import java.util.List;
import java.util.Objects;

/**
 * Checks a dynamic configuration in Patroni's JSON (the {@code config} key, or
 * {@code bootstrap.dcs} before a cluster exists) the way the engine reads it, so a tool can refuse
 * a bad value before a node is built. Keys pgha does not read are not checked.
 */
public final class DynamicConfigCheck {
    private DynamicConfigCheck() {
    }

    /**
     * The values of the keys a node takes from the document that have the wrong type ({@code ttl},
     * {@code loop_wait}, {@code retry_timeout}, {@code maximum_lag_on_failover},
     * {@code primary_start_timeout} or {@code master_start_timeout}, {@code pause},
     * {@code synchronous_mode}, {@code synchronous_mode_strict}, {@code synchronous_node_count},
     * {@code postgresql.use_pg_rewind}, {@code check_timeline}), each as
     * {@code "key: what was expected, got value"}, in that order; empty when there are none. The
     * REST API's {@code PATCH} and {@code PUT /config} refuse a document with any.
     *
     * @param json a JSON object
     * @throws ConfigurationException ({@code bootstrap.dcs}) when {@code json} is not a JSON object
     */
    public static List<String> problems(String json) {
        return new DynamicConfig(object(json, "bootstrap.dcs")).validate();
    }

    /**
     * The keys of a dynamic configuration a node does not act on, each as {@code "key: what happens
     * instead"}: Patroni's keys pgha does not support yet, and unknown keys. A node logs each once
     * when it sees the configuration; the agent lists those of {@code bootstrap.dcs} at start.
     *
     * @param json a JSON object
     * @throws ConfigurationException ({@code bootstrap.dcs}) when {@code json} is not a JSON object
     */
    public static List<String> notActedOn(String json) {
        return new DynamicConfig(object(json, "bootstrap.dcs")).notActedOn();
    }

    /**
     * {@code current} with {@code patch} applied as Patroni's {@code PATCH /config} does: objects
     * merge recursively, {@code null} deletes a key, anything else replaces. The REST API applies
     * the same operation.
     *
     * @return the patched document as JSON text
     * @throws ConfigurationException ({@code config} or {@code patch}) when either is not a JSON object
     */
    public static String patched(String current, String patch) {
        return new DynamicConfig(object(current, "config")).patched(object(patch, "patch")).toJson().toString();
    }

    private static ObjectNode object(String json, String what) {
        Objects.requireNonNull(json, what);
        JsonNode n;
        try {
            n = ClusterCodec.JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ConfigurationException(what, "not valid JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw new ConfigurationException(what, "must be a JSON object");
        }
        return (ObjectNode) n;
    }
}
