package io.pgha.dcs.consul;

import com.ecwid.consul.v1.kv.model.GetBinaryValue;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.KeyLayout;
import io.pgha.spi.support.SnapshotBuilder;
import io.pgha.spi.support.StrictUtf8;
import io.pgha.spi.support.WarnOnce;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Patroni's key layout on Consul ({@link KeyLayout#unrooted}): {@code <namespace>/<scope>/<key>}
 * with no leading slash ({@code service/orders/leader}, {@code service/orders/members/pg-1}),
 * values stored as the exact UTF-8 bytes of the engine's strings.
 */
final class ConsulLayout {
    private static final Logger LOG = LoggerFactory.getLogger(ConsulLayout.class);
    /** Foreign keys warned about once per (key, ModifyIndex), so a corrupt value is not logged every cycle. */
    private static final WarnOnce WARNINGS = new WarnOnce(LOG, 10_000);

    private final KeyLayout layout;

    ConsulLayout(String namespace, String scope) {
        // the trailing slash keeps scope "a" from listing or deleting scope "a-other"
        this.layout = KeyLayout.unrooted(namespace, scope);
    }

    /** The cluster's key prefix, ending with '/'. */
    String prefix() {
        return layout.prefix();
    }

    String key(String relative) {
        return layout.key(relative);
    }

    /** The key relative to the cluster prefix, or empty for a key outside it. */
    Optional<String> relative(String key) {
        return layout.relative(key);
    }

    /** One recursive listing as the SPI's snapshot; values that are not text, and unknown keys, are left out. */
    ClusterSnapshot snapshot(Agent.Listing l) {
        SnapshotBuilder snapshot = new SnapshotBuilder();
        for (GetBinaryValue v : l.entries()) {
            Optional<String> rel = relative(v.getKey());
            if (rel.isEmpty()) {
                continue;
            }
            String path = rel.get();
            if (path.startsWith(ClusterKey.MEMBERS_PREFIX)
                    && !SessionSpec.isValidName(path.substring(ClusterKey.MEMBERS_PREFIX.length()))) {
                warnOnce(v, "not a valid member name");
                continue;
            }
            if (v.getModifyIndex() <= 0) {
                if (SnapshotBuilder.memberName(path).isPresent() || ClusterKey.fromPath(path) != null) {
                    warnOnce(v, "no ModifyIndex");
                }
                continue;
            }
            if (snapshot.add(path, v.getValue(), v.getModifyIndex()) == SnapshotBuilder.Placement.NOT_TEXT) {
                warnOnce(v, "the value is not UTF-8 text");
            }
            // NOT_IN_LAYOUT: Patroni's own extras (optime/leader) and anything else, not part of the SPI's model
        }
        return snapshot.build(l.index());
    }

    /**
     * The value as text: Consul stores an empty body as a key without a value (null), which is the
     * empty string; bytes that are not valid UTF-8 are not text.
     */
    static Optional<String> text(GetBinaryValue v) {
        return StrictUtf8.decode(v.getValue());
    }

    private static void warnOnce(GetBinaryValue v, String why) {
        WARNINGS.warn(v.getKey() + "@" + v.getModifyIndex(), "skipping Consul key {}: {}", v.getKey(), why);
    }
}
