package io.pgha.dcs.zookeeper;

import io.pgha.spi.ClusterKey;
import io.pgha.spi.support.KeyLayout;
import java.util.Optional;

/**
 * Where one cluster's znodes live, in Patroni's layout ({@link KeyLayout#rooted}):
 * {@code <root>/<scope>/leader}, {@code .../members/<name>}, {@code .../config}, ... where
 * {@code root} is the chroot followed by the namespace ({@code /service} by default). Values are the
 * exact UTF-8 bytes of the strings the engine hands over ({@link io.pgha.spi.support.StrictUtf8}),
 * so Patroni's own tools read a pgha cluster and the other way round.
 */
final class ZkLayout {
    static final String MEMBERS = "members";

    private final KeyLayout layout;
    /** The cluster's node: {@code /service/<scope>}. */
    final String base;
    /** The parent of the member entries: {@code /service/<scope>/members}. */
    final String members;

    ZkLayout(String root, String scope) {
        this.layout = KeyLayout.rooted(root, scope);
        this.base = layout.clusterNode();
        this.members = layout.membersNode();
    }

    String key(ClusterKey key) {
        return layout.key(key);
    }

    String member(String name) {
        return layout.member(name);
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
        Optional<String> rel = layout.relative(path);
        return rel.isPresent() ? rel : null;
    }
}
