package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.support.KeyLayout;
import io.pgha.spi.support.StrictUtf8;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * One cluster's keys in Patroni's etcd3 layout ({@link KeyLayout#rooted}), as the byte sequences
 * jetcd speaks: {@code <namespace>/<scope>/<path>}, for example {@code /service/main/leader} and
 * {@code /service/main/members/n1}.
 */
final class EtcdLayout {
    private final KeyLayout layout;
    private final ByteSequence prefixBytes;

    EtcdLayout(String namespace, String scope) {
        // Patroni joins namespace and scope with '/' and collapses repeated slashes, so "service",
        // "/service" and "/service/" all name the same tree; the trailing '/' keeps scope "a" from
        // matching scope "a-other" in prefix reads, watches and deletes.
        this.layout = KeyLayout.rooted(namespace, scope);
        this.prefixBytes = utf8(layout.prefix());
    }

    /** {@code "/service"} for {@code "service"}, {@code "/service/"} or {@code "//service"}; {@code ""} for {@code "/"}. */
    static String normalizeNamespace(String namespace) {
        return KeyLayout.normalizeNamespace(namespace);
    }

    String prefix() {
        return layout.prefix();
    }

    ByteSequence prefixBytes() {
        return prefixBytes;
    }

    ByteSequence key(ClusterKey key) {
        return utf8(layout.key(key));
    }

    ByteSequence member(String name) {
        return utf8(layout.member(name));
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
        return StrictUtf8.decode(bytes, p.length, bytes.length - p.length);
    }

    static ByteSequence utf8(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    /** A key or prefix as text, for log lines. */
    static String text(ByteSequence b) {
        return b == null ? "(nothing)" : b.toString(StandardCharsets.UTF_8);
    }
}
