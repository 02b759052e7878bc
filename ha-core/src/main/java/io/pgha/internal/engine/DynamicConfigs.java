package io.pgha.internal.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.HaSettings;
import io.pgha.internal.cluster.ClusterCodec;
import java.math.BigDecimal;
import java.time.Duration;

/** Writes a node's settings as Patroni's dynamic configuration document. */
final class DynamicConfigs {
    private DynamicConfigs() {
    }

    /**
     * The document a bootstrapping node writes: {@code base} (the user's {@code bootstrap.dcs},
     * kept whole so keys pgha does not read survive) with the node's settings filled in where it is
     * silent.
     */
    static String encode(HaSettings s, java.util.Optional<ObjectNode> base) {
        ObjectNode mine = (ObjectNode) readTree(encode(s));
        if (base.isEmpty()) {
            return mine.toString();
        }
        ObjectNode out = base.get().deepCopy();
        mine.properties().forEach(e -> {
            if (!out.has(e.getKey())) {
                out.set(e.getKey(), e.getValue());
            } else if (e.getValue().isObject() && out.get(e.getKey()).isObject()) {
                ObjectNode inner = (ObjectNode) out.get(e.getKey());
                e.getValue().properties().forEach(f -> {
                    if (!inner.has(f.getKey())) {
                        inner.set(f.getKey(), f.getValue());
                    }
                });
            }
        });
        return out.toString();
    }

    private static com.fasterxml.jackson.databind.JsonNode readTree(String json) {
        try {
            return ClusterCodec.JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String encode(HaSettings s) {
        ObjectNode n = ClusterCodec.JSON.createObjectNode();
        n.put("ttl", seconds(s.ttl()));
        n.put("loop_wait", seconds(s.loopWait()));
        n.put("retry_timeout", seconds(s.retryTimeout()));
        n.put("maximum_lag_on_failover", s.maximumLagOnFailover());
        n.put("primary_start_timeout", seconds(s.primaryStartTimeout()));
        if (s.synchronousMode().quorum()) {
            n.put("synchronous_mode", "quorum");
        } else {
            n.put("synchronous_mode", s.synchronousMode().enabled());
        }
        n.put("synchronous_mode_strict", s.synchronousMode().strict());
        n.put("synchronous_node_count", s.synchronousNodeCount());
        n.put("check_timeline", s.checkTimeline());
        n.putObject("postgresql").put("use_pg_rewind", s.usePgRewind());
        return n.toString();
    }

    /** Whole seconds as an integer (what Patroni writes), fractions as a decimal. */
    private static BigDecimal seconds(Duration d) {
        BigDecimal s = BigDecimal.valueOf(d.toMillis()).movePointLeft(3);
        return s.stripTrailingZeros().scale() <= 0 ? new BigDecimal(s.toBigInteger()) : s.stripTrailingZeros();
    }
}
