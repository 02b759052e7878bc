package io.pgha.spi;

import java.util.Optional;

/**
 * Receives what a {@link DcsSession} learns without being asked. Called from the store client's
 * threads: implementations must be quick and must not block (the engine only schedules a wake-up).
 */
public interface DcsListener {
    /**
     * Something under the cluster changed, or may have. Spurious calls are allowed; missed changes
     * are not.
     *
     * @param path the changed key relative to the cluster prefix ({@code "leader"},
     *             {@code "members/n1"}, ...), or empty when the store cannot tell (a watch that
     *             resumed after a reconnect, where changes might have been missed, reports empty)
     */
    void clusterChanged(Optional<String> path);

    /**
     * The lease or session that binds this member's leader key and member entry is gone for
     * certain (etcd lease expired or revoked, ZooKeeper session expired, Consul session
     * invalidated). A leader that hears this must stop writing at once. Not called for a mere
     * disconnection whose outcome is still unknown.
     */
    default void leaseLost(String reason) {
    }
}
