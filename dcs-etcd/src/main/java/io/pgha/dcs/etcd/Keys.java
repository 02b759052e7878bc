package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.pgha.spi.ClusterKey;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * One cluster's keys in Patroni's etcd3 layout: {@code <namespace>/<scope>/<path>}, for example
 * {@code /service/main/leader} and {@code /service/main/members/n1}.
 */
final class Keys {
    private final String prefix;
    private final ByteSequence prefixBytes;

    Keys(String namespace, String scope) {
        // Patroni joins namespace and scope with '/' and collapses repeated slashes, so "service",
        // "/service" and "/service/" all name the same tree; the trailing '/' keeps scope "a" from
        // matching scope "a-other" in prefix reads, watches and deletes.
        this.prefix = normalizeNamespace(namespace) + "/" + scope + "/";
        this.prefixBytes = ByteSequence.from(prefix, StandardCharsets.UTF_8);
    }

    /** {@code "/service"} for {@code "service"}, {@code "/service/"} or {@code "//service"}; {@code ""} for {@code "/"}. */
    static String normalizeNamespace(String namespace) {
        String s = ("/" + namespace).replaceAll("/+", "/");
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    String prefix() {
        return prefix;
    }

    ByteSequence prefixBytes() {
        return prefixBytes;
    }

    ByteSequence key(ClusterKey key) {
        return key(key.path());
    }

    ByteSequence member(String name) {
        return key(ClusterKey.MEMBERS_PREFIX + name);
    }

    ByteSequence key(String relativePath) {
        return ByteSequence.from(prefix + relativePath, StandardCharsets.UTF_8);
    }

    /**
     * The key's path relative to the cluster prefix, or empty when the key lies outside it or its
     * name is not UTF-8.
     */
    Optional<String> relative(ByteSequence key) {
        byte[] bytes = key.getBytes();
        byte[] p = prefixBytes.getBytes();
        if (bytes.length <= p.length) {
            return Optional.empty();
        }
        for (int i = 0; i < p.length; i++) {
            if (bytes[i] != p[i]) {
                return Optional.empty();
            }
        }
        return decode(bytes, p.length, bytes.length - p.length);
    }

    /** Strict UTF-8: malformed bytes make the value foreign rather than silently replaced. */
    static Optional<String> decode(byte[] bytes) {
        return decode(bytes, 0, bytes.length);
    }

    private static Optional<String> decode(byte[] bytes, int offset, int length) {
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, offset, length))
                    .toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }

    static ByteSequence utf8(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
