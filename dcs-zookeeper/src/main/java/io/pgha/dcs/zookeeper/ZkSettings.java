package io.pgha.dcs.zookeeper;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.zookeeper.data.ACL;

/**
 * What a {@link ZooKeeperDcs} was built with; immutable. Secrets (the digest password, and any
 * password among the client properties) live only here and in the ZooKeeper client:
 * {@link #toString()} leaves them out.
 *
 * @param connectString    {@code host:port,...} of the ensemble (the builder's endpoints joined with
 *                         commas), empty with a shared client
 * @param root             chroot followed by the namespace: where the scopes live ({@code /service})
 * @param digest           {@code user:password} for ZooKeeper's digest scheme, if any
 * @param acl              the ACL of every znode this module creates
 * @param clientProperties ZooKeeper client properties ({@code zookeeper.client.secure}, the PEM
 *                         trust and key store files, SASL), for clients this module creates
 */
record ZkSettings(Optional<String> connectString, String root, Optional<String> digest, List<ACL> acl,
                  Map<String, String> clientProperties) {
    ZkSettings {
        Objects.requireNonNull(connectString, "connectString");
        Objects.requireNonNull(root, "root");
        Objects.requireNonNull(digest, "digest");
        acl = List.copyOf(acl);
        clientProperties = Map.copyOf(clientProperties);
    }

    /** How many servers the connect string names (a client can only move to another if there is one). */
    int servers() {
        return connectString.map(s -> s.split(",").length).orElse(1);
    }

    @Override
    public String toString() {
        return "ZkSettings[connectString=" + connectString.orElse("(shared client)") + ", root=" + root
                + ", digest=" + digest.map(d -> d.substring(0, d.indexOf(':')) + ":***").orElse("none")
                + ", acl=" + acl + ", clientProperties=" + clientProperties.keySet() + "]";
    }
}
