package io.pgha.internal;

import io.pgha.HaNode;
import io.pgha.internal.engine.HaEngine;
import io.pgha.internal.decision.PlantedBug;

/**
 * A door from pgha's own modules (the test kit, the REST API) into {@link HaNode}'s internals,
 * without making them public API. Not for applications.
 */
public final class InternalAccess {
    /** Implemented by {@link HaNode}, registered when its class initializes. */
    public interface Accessor {
        HaEngine engine(HaNode node);

        void plantBug(HaNode.Builder builder, PlantedBug bug);
    }

    private static volatile Accessor accessor;

    private InternalAccess() {
    }

    public static void register(Accessor a) {
        accessor = a;
    }

    private static Accessor accessor() {
        if (accessor == null) {
            HaNode.builder(); // initializes HaNode, which registers itself
        }
        return accessor;
    }

    public static HaEngine engine(HaNode node) {
        return accessor().engine(node);
    }

    /** Switches a safety rule off, so a test can prove the invariant checker catches it. */
    public static void plantBug(HaNode.Builder builder, PlantedBug bug) {
        accessor().plantBug(builder, bug);
    }
}
