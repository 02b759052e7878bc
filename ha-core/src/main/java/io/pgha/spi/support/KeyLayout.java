package io.pgha.spi.support;

import io.pgha.spi.ClusterKey;
import java.util.Objects;
import java.util.Optional;

/**
 * Where one cluster's keys live in Patroni's layout: {@code <namespace>/<scope>/<key>}, for example
 * {@code /service/main/leader} and {@code /service/main/members/n1}. Immutable.
 *
 * <p>The namespace is normalized the way Patroni joins paths: repeated slashes collapse and a
 * trailing one is dropped, so {@code "service"}, {@code "/service"} and {@code "/service/"} name the
 * same tree. Stores with absolute paths (etcd, ZooKeeper) use {@link #rooted}; stores whose keys
 * have no leading slash (Consul) use {@link #unrooted}. The {@link #prefix()} always ends with
 * {@code '/'}, so scope {@code "a"} never matches scope {@code "a-other"} in a prefix read, watch or
 * delete.
 */
public final class KeyLayout {
    private final String prefix;

    private KeyLayout(String prefix) {
        this.prefix = prefix;
    }

    /**
     * Absolute keys: {@code /service/main/...} for namespace {@code "service"}, {@code "/service/"}
     * or {@code "//service"}; {@code /main/...} for namespace {@code "/"}.
     *
     * @throws IllegalArgumentException if the scope is empty or contains {@code '/'}
     */
    public static KeyLayout rooted(String namespace, String scope) {
        return new KeyLayout(normalizeNamespace(namespace) + "/" + requireScope(scope) + "/");
    }

    /**
     * Keys without a leading slash: {@code service/main/...} for namespace {@code "service"} or
     * {@code "/service/"}; {@code main/...} for namespace {@code "/"}.
     *
     * @throws IllegalArgumentException if the scope is empty or contains {@code '/'}
     */
    public static KeyLayout unrooted(String namespace, String scope) {
        String ns = normalizeNamespace(namespace);
        return new KeyLayout((ns.isEmpty() ? "" : ns.substring(1) + "/") + requireScope(scope) + "/");
    }

    /**
     * The namespace as an absolute path without a trailing slash: {@code "/service"} for
     * {@code "service"}, {@code "/service/"} or {@code "//service"}; {@code ""} for {@code "/"}.
     */
    public static String normalizeNamespace(String namespace) {
        Objects.requireNonNull(namespace, "namespace");
        String s = ("/" + namespace).replaceAll("/+", "/");
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    private static String requireScope(String scope) {
        Objects.requireNonNull(scope, "scope");
        if (scope.isEmpty() || scope.indexOf('/') >= 0) {
            throw new IllegalArgumentException("a scope must be non-empty and contain no '/': '" + scope + "'");
        }
        return scope;
    }

    /** The cluster's prefix, ending with {@code '/'}: {@code /service/main/}. */
    public String prefix() {
        return prefix;
    }

    /** The cluster's own node, the prefix without its trailing {@code '/'}: {@code /service/main}. */
    public String clusterNode() {
        return prefix.substring(0, prefix.length() - 1);
    }

    /** The full key of a cluster key: {@code /service/main/leader}. */
    public String key(ClusterKey key) {
        return prefix + key.path();
    }

    /** The full key of a path relative to the cluster: {@code /service/main/members/n1} for {@code members/n1}. */
    public String key(String relativePath) {
        return prefix + relativePath;
    }

    /** The parent of the member entries: {@code /service/main/members}. */
    public String membersNode() {
        return prefix + ClusterKey.MEMBERS_PREFIX.substring(0, ClusterKey.MEMBERS_PREFIX.length() - 1);
    }

    /** The full key of a member entry: {@code /service/main/members/n1}. */
    public String member(String name) {
        return prefix + ClusterKey.MEMBERS_PREFIX + name;
    }

    /**
     * The key relative to the cluster prefix ({@code "leader"}, {@code "members/n1"}), or empty for
     * a key outside the cluster, for {@code null}, and for the prefix itself.
     */
    public Optional<String> relative(String key) {
        return key != null && key.length() > prefix.length() && key.startsWith(prefix)
                ? Optional.of(key.substring(prefix.length())) : Optional.empty();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyLayout k && k.prefix.equals(prefix);
    }

    @Override
    public int hashCode() {
        return prefix.hashCode();
    }

    @Override
    public String toString() {
        return "KeyLayout[" + prefix + "]";
    }
}
