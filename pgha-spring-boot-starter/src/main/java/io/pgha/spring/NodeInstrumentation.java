package io.pgha.spring;

import io.pgha.HaListener;
import io.pgha.HaNode;
import io.pgha.spi.Dcs;

/**
 * What an observability integration adds to the auto-configured node: a wrapped store, a listener,
 * and a look at the built node. The starter's Micrometer support is one; it is a bean type of its
 * own so the node's bean method never names an optional library's class.
 */
public interface NodeInstrumentation {
    /** The store the node should use (the given one, wrapped). */
    Dcs instrument(Dcs dcs);

    /** A listener for the node's events. */
    HaListener listener();

    /** Called once the node is built, before it starts. */
    void built(HaNode node);
}
