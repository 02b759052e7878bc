package io.pgha.postgres;

/**
 * Receives {@link PgEvent}s. Called on the controller's own threads: return quickly, do not block.
 * An exception thrown here is logged and otherwise ignored.
 */
@FunctionalInterface
public interface PgListener {
    void onEvent(PgEvent event);
}
