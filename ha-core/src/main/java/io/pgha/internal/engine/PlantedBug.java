package io.pgha.internal.engine;

/**
 * Safety rules the simulator's own tests switch off on purpose, to prove that the invariant checker
 * notices. Never set outside tests.
 */
public enum PlantedBug {
    /**
     * The leader believes in its lease forever once it holds it and never fences: a primary cut off
     * from the store keeps accepting writes after its lease expired.
     */
    NO_FENCING,
    /**
     * The engine acts on whatever view a read returns and never reads from the store itself: not
     * after a failed or refused store call, nor when the view is older than its own write, hides
     * the leader key it holds, or shows no leader while a peer runs as primary, nor once a ttl. A node that won the leader race and then sees a stale view
     * abandons its promotion and keeps the key without promoting (the cluster stays without a
     * primary).
     */
    TRUSTS_STALE_VIEWS
}
