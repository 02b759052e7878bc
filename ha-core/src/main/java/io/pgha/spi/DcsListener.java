package io.pgha.spi;

/**
 * Receives what a {@link DcsSession} learns without being asked. Called from the store client's
 * threads: implementations must be quick and must not block (the engine only schedules a wake-up).
 */
public interface DcsListener {
    /**
     * Something under the cluster changed, or may have (a watch that resumed after a reconnect
     * reports this too, because changes might have been missed). Spurious calls are allowed;
     * missed changes are not.
     */
    void clusterChanged();

    /**
     * The lease or session that binds this member's leader key and member entry is gone for
     * certain (etcd lease expired or revoked, ZooKeeper session expired, Consul session
     * invalidated). A leader that hears this must stop writing at once. Not called for a mere
     * disconnection whose outcome is still unknown.
     */
    default void leaseLost(String reason) {
    }
}
