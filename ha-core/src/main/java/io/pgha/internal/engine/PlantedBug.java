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
    NO_FENCING
}
