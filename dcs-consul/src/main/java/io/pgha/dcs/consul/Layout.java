package io.pgha.dcs.consul;

import com.ecwid.consul.v1.kv.model.GetBinaryValue;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.DcsEntry;
import io.pgha.spi.SessionSpec;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Patroni's key layout on Consul: {@code <namespace>/<scope>/<key>} with no leading slash
 * ({@code service/orders/leader}, {@code service/orders/members/pg-1}), values stored as the exact
 * UTF-8 bytes of the engine's strings.
 */
final class Layout {
    private static final Logger LOG = LoggerFactory.getLogger(Layout.class);
    /** Foreign keys warned about once per (key, ModifyIndex), so a corrupt value is not logged every cycle. */
    private static final Set<String> WARNED = ConcurrentHashMap.newKeySet();

    private final String prefix;

    Layout(String namespace, String scope) {
        // the trailing slash keeps scope "a" from listing or deleting scope "a-other"
        this.prefix = namespace + "/" + scope + "/";
    }

    /** The cluster's key prefix, ending with '/'. */
    String prefix() {
        return prefix;
    }

    String key(String relative) {
        return prefix + relative;
    }

    /** The key relative to the cluster prefix, or empty for a key outside it. */
    Optional<String> relative(String key) {
        return key != null && key.startsWith(prefix) && key.length() > prefix.length()
                ? Optional.of(key.substring(prefix.length())) : Optional.empty();
    }

    /** One recursive listing as the SPI's snapshot; values that are not text, and unknown keys, are left out. */
    ClusterSnapshot snapshot(Agent.Listing l) {
        Map<ClusterKey, DcsEntry> keys = new EnumMap<>(ClusterKey.class);
        Map<String, DcsEntry> members = new HashMap<>();
        for (GetBinaryValue v : l.entries()) {
            Optional<String> rel = relative(v.getKey());
            if (rel.isEmpty()) {
                continue;
            }
            String path = rel.get();
            boolean member = path.startsWith(ClusterKey.MEMBERS_PREFIX);
            ClusterKey k = member ? null : ClusterKey.fromPath(path);
            String name = member ? path.substring(ClusterKey.MEMBERS_PREFIX.length()) : null;
            if (k == null && !member) {
                // Patroni's own extras (failsafe, optime/leader) and anything else: not part of the SPI's model
                continue;
            }
            if (member && !SessionSpec.isValidName(name)) {
                warnOnce(v, "not a valid member name");
                continue;
            }
            Optional<String> text = text(v);
            if (text.isEmpty()) {
                warnOnce(v, "the value is not UTF-8 text");
                continue;
            }
            if (v.getModifyIndex() <= 0) {
                warnOnce(v, "no ModifyIndex");
                continue;
            }
            DcsEntry e = new DcsEntry(text.get(), v.getModifyIndex());
            if (member) {
                members.put(name, e);
            } else {
                keys.put(k, e);
            }
        }
        return new ClusterSnapshot(l.index(), keys, members);
    }

    /**
     * The value as text: Consul stores an empty body as a key without a value (null), which is the
     * empty string; bytes that are not valid UTF-8 are not text.
     */
    static Optional<String> text(GetBinaryValue v) {
        byte[] b = v.getValue();
        if (b == null || b.length == 0) {
            return Optional.of("");
        }
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b)).toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }

    private static void warnOnce(GetBinaryValue v, String why) {
        if (WARNED.size() < 10_000 && WARNED.add(v.getKey() + "@" + v.getModifyIndex())) {
            LOG.warn("skipping Consul key {}: {}", v.getKey(), why);
        }
    }
}
