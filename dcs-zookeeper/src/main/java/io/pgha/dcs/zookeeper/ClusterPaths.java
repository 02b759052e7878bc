package io.pgha.dcs.zookeeper;

import io.pgha.spi.ClusterKey;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Where one cluster's znodes live, in Patroni's layout: {@code <root>/<scope>/leader},
 * {@code .../members/<name>}, {@code .../config}, ... where {@code root} is the chroot followed by
 * the namespace ({@code /service} by default). Values are the exact UTF-8 bytes of the strings the
 * engine hands over, so Patroni's own tools read a pgha cluster and the other way round.
 */
final class ClusterPaths {
    static final String MEMBERS = "members";

    final String base;
    final String members;

    ClusterPaths(String root, String scope) {
        this.base = ("/".equals(root) ? "" : root) + "/" + scope;
        this.members = base + "/" + MEMBERS;
    }

    String key(ClusterKey key) {
        return base + "/" + key.path();
    }

    String member(String name) {
        return members + "/" + name;
    }

    /**
     * The path of a watch event relative to the cluster: {@code "leader"}, {@code "members/n1"};
     * empty for the cluster's own node (created or deleted as a whole); {@code null} for a path
     * outside the cluster.
     */
    Optional<String> relative(String path) {
        if (path == null) {
            return null;
        }
        if (path.equals(base)) {
            return Optional.empty();
        }
        if (path.startsWith(base) && path.length() > base.length() + 1 && path.charAt(base.length()) == '/') {
            return Optional.of(path.substring(base.length() + 1));
        }
        return null;
    }

    static byte[] encode(String value) {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Strict UTF-8: a znode written by someone else with bytes that are not text is reported as
     * empty (and skipped by the caller) rather than turned into replacement characters that the
     * engine would take for a value. A znode without data reads as {@code ""} (Patroni writes an
     * empty {@code initialize} while bootstrapping).
     */
    static Optional<String> decode(byte[] data) {
        if (data == null || data.length == 0) {
            return Optional.of("");
        }
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(data)).toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }
}
