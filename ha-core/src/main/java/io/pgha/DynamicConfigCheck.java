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
     * The values of the timing and replication keys a node takes from the document that have the
     * wrong type ({@code ttl}, {@code loop_wait}, {@code retry_timeout},
     * {@code maximum_lag_on_failover}, {@code primary_start_timeout} or
     * {@code master_start_timeout}, {@code synchronous_mode}, {@code synchronous_mode_strict},
     * {@code synchronous_node_count}, {@code postgresql.use_pg_rewind}), each as
     * {@code "key: what was expected, got value"}, in that order; empty when there are none.
     *
     * @param json a JSON object
     * @throws ConfigurationException ({@code bootstrap.dcs}) when {@code json} is not a JSON object
     */
    public static List<String> problems(String json) {
        Objects.requireNonNull(json, "bootstrap.dcs");
        JsonNode n;
        try {
            n = ClusterCodec.JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ConfigurationException("bootstrap.dcs", "not valid JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw new ConfigurationException("bootstrap.dcs", "must be a JSON object");
        }
        DynamicConfig d = new DynamicConfig((ObjectNode) n);
        d.ttl();
        d.loopWait();
        d.retryTimeout();
        d.maximumLagOnFailover();
        d.primaryStartTimeout();
        d.synchronousMode();
        d.synchronousNodeCount();
        d.usePgRewind();
        return d.problems();
    }
}
