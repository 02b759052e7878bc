package io.pgha.agent.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.ClusterView;
import io.pgha.ClusterView.Member;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One read of a cluster as pghactl uses it: the decoded {@link ClusterView}, and each member entry
 * as the JSON the member wrote, for what the view does not carry (tags, a scheduled restart, the
 * receive and replay positions), as patronictl reads them from {@code Member.data}.
 *
 * @param scope    the cluster's name
 * @param snapshot the read
 * @param view     the read, decoded
 */
record ClusterState(String scope, ClusterSnapshot snapshot, ClusterView view) {
    ClusterState {
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(snapshot, "snapshot");
        Objects.requireNonNull(view, "view");
    }

    static ClusterState of(String scope, ClusterSnapshot snapshot) {
        return new ClusterState(scope, snapshot, ClusterView.of(snapshot));
    }

    /** The member entry of {@code name} as written; {@code {}} when it is absent or not a JSON object. */
    ObjectNode entry(String name) {
        DcsEntry e = snapshot.members().get(name);
        if (e != null) {
            try {
                JsonNode n = Ctl.JSON.readTree(e.value());
                if (n != null && n.isObject()) {
                    return (ObjectNode) n;
                }
            } catch (com.fasterxml.jackson.core.JsonProcessingException ex) {
                // a member entry the view left out too
            }
        }
        return Ctl.JSON.createObjectNode();
    }

    /** Every member entry as written, by name in name order, for the members the view holds. */
    Map<String, ObjectNode> entries() {
        Map<String, ObjectNode> out = new LinkedHashMap<>();
        view.members().keySet().forEach(n -> out.put(n, entry(n)));
        return out;
    }

    /** Whether the member wrote a {@code scheduled_restart} (Patroni's truth test: present and not empty). */
    boolean hasScheduledRestart(String name) {
        JsonNode s = entry(name).get("scheduled_restart");
        return s != null && !s.isNull() && !(s.isContainerNode() && s.isEmpty()) && !(s.isTextual() && s.asText().isEmpty());
    }

    /** Whether the member wrote {@code pending_restart: true}. */
    boolean isPendingRestart(String name) {
        return view.member(name).map(Member::isPendingRestart).orElse(false);
    }

    /** The dynamic configuration as a JSON object ({@code {}} when there is none). */
    ObjectNode dynamicConfig() {
        try {
            return (ObjectNode) Ctl.JSON.readTree(view.dynamicConfig());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("ClusterView.dynamicConfig is always a JSON object", e);
        }
    }

    /** The {@code config} key as stored, if it exists. */
    Optional<DcsEntry> configEntry() {
        return snapshot.get(ClusterKey.CONFIG);
    }

    /** A standby cluster: {@code standby_cluster} in the dynamic configuration is a non-empty object. */
    boolean isStandbyCluster() {
        JsonNode s = dynamicConfig().get("standby_cluster");
        return s != null && s.isObject() && !s.isEmpty();
    }

    /** {@code synchronous_mode} is on ({@code true}, {@code on}, or {@code quorum}). */
    boolean isSynchronousMode() {
        JsonNode s = dynamicConfig().get("synchronous_mode");
        if (s == null || s.isNull()) {
            return false;
        }
        if (s.isBoolean()) {
            return s.asBoolean();
        }
        String v = s.asText().toLowerCase(java.util.Locale.ROOT);
        return v.equals("on") || v.equals("true") || v.equals("yes") || v.equals("quorum") || v.equals("1");
    }

    /** {@code synchronous_mode: quorum}. */
    boolean isQuorumCommitMode() {
        return dynamicConfig().path("synchronous_mode").asText("").equalsIgnoreCase("quorum");
    }
}
