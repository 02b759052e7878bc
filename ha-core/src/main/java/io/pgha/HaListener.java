package io.pgha;

/** Receives a node's {@link HaEvent}s. Must not block for long: events are delivered in order. */
@FunctionalInterface
public interface HaListener {
    void onEvent(HaEvent event);
}
