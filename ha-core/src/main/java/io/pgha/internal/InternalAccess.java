package io.pgha.internal;

import io.pgha.HaNode;
import io.pgha.internal.decision.PlantedBug;
import io.pgha.internal.engine.HaEngine;
import java.security.CodeSource;
import java.util.Objects;

/**
 * A door from pgha's own code into {@link HaNode}'s internals (a node's engine, the simulator's
 * planted bugs), without making them public API. <strong>Not API, not for applications</strong>:
 * like all of {@code io.pgha.internal} it may change in any release, it is left out of the javadoc and
 * of the API baseline, and no public or protected signature in {@code io.pgha} or {@code io.pgha.spi}
 * leads here ({@code PublicApiSurfaceTest}).
 *
 * <p>Only two kinds of caller get through, so that an application cannot switch a safety rule off
 * (or kill a node's engine) by calling what looks like a method: classes of pgha-core itself (the
 * same code source as this class) and the test kit ({@code io.pgha.testkit}, whose simulator plants
 * the bugs and whose virtual clusters reach the engine). Anything else gets an
 * {@link IllegalCallerException}. On the class path Java cannot stop a caller that insists
 * (reflection); this stops the accidental and the casual one.
 */
public final class InternalAccess {
    /** Implemented by {@link HaNode} alone, registered once when its class initializes. */
    public interface Accessor {
        HaEngine engine(HaNode node);

        void plantBug(HaNode.Builder builder, PlantedBug bug);
    }

    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);
    private static final String TESTKIT = "io.pgha.testkit";

    private static volatile Accessor accessor;

    private InternalAccess() {
    }

    /**
     * Called by {@link HaNode}'s class initializer. Refuses any other accessor and a second one, so
     * nobody can put an accessor of their own in front of every node.
     */
    public static synchronized void register(Accessor a) {
        Objects.requireNonNull(a, "accessor");
        if (a.getClass().getNestHost() != HaNode.class) {
            throw new IllegalCallerException("only HaNode registers the internal accessor");
        }
        if (accessor != null) {
            throw new IllegalStateException("the internal accessor is already registered");
        }
        accessor = a;
    }

    private static Accessor accessor() {
        if (accessor == null) {
            HaNode.builder(); // initializes HaNode, which registers itself
        }
        return accessor;
    }

    /** The engine of a node: the test kit's virtual clusters freeze, kill and inspect it. */
    public static HaEngine engine(HaNode node) {
        checkCaller(WALKER.getCallerClass());
        return accessor().engine(node);
    }

    /** Switches a safety rule off, so a simulator test can prove the invariant checker catches it. */
    public static void plantBug(HaNode.Builder builder, PlantedBug bug) {
        checkCaller(WALKER.getCallerClass());
        accessor().plantBug(builder, bug);
    }

    static void checkCaller(Class<?> caller) {
        String pkg = caller.getPackageName();
        if (pkg.equals(TESTKIT) || pkg.startsWith(TESTKIT + ".") || sameCodeSource(caller)) {
            return;
        }
        throw new IllegalCallerException(caller.getName() + " may not use io.pgha.internal.InternalAccess: it is pgha's own"
                + " door into HaNode (for pgha-core and pgha-testkit), not API");
    }

    private static boolean sameCodeSource(Class<?> caller) {
        CodeSource mine = InternalAccess.class.getProtectionDomain().getCodeSource();
        CodeSource theirs = caller.getProtectionDomain().getCodeSource();
        return mine != null && theirs != null && mine.getLocation() != null && mine.getLocation().equals(theirs.getLocation());
    }
}
