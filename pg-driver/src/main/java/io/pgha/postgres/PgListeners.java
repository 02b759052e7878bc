package io.pgha.postgres;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/** The builder's {@link PgListener}s. Each hears every event; one that throws is logged and keeps the event from no other. */
final class PgListeners {
    // one logger name for the whole controller, as before it was split into parts: operators filter on it
    private static final Logger LOG = LoggerFactory.getLogger(PgController.class);

    private final String member;
    private final List<PgListener> listeners;

    PgListeners(String member, List<PgListener> listeners) {
        this.member = member;
        this.listeners = List.copyOf(listeners);
    }

    void emit(PgEvent e) {
        for (PgListener l : listeners) {
            try {
                l.onEvent(e);
            } catch (RuntimeException ex) {
                LOG.warn("{}: a PgListener failed on {}", member, e, ex);
            }
        }
    }
}
