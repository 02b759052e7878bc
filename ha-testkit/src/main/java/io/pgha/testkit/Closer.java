package io.pgha.testkit;

import java.util.ArrayList;
import java.util.List;

/**
 * What a test opened, closed in reverse order at the end: every one is closed even when an earlier
 * one fails, and the first failure is thrown afterwards (the others added to it as suppressed).
 *
 * <pre>{@code
 * private final Closer closer = new Closer();
 * @AfterEach void closeAll() throws Exception { closer.close(); }
 * ... EtcdDcs dcs = closer.add(EtcdDcs.builder()...build());
 * }</pre>
 */
public final class Closer implements AutoCloseable {
    private final List<AutoCloseable> opened = new ArrayList<>();

    /** Registers {@code c} to be closed by {@link #close()}; returns it. */
    public synchronized <T extends AutoCloseable> T add(T c) {
        opened.add(c);
        return c;
    }

    @Override
    public void close() throws Exception {
        List<AutoCloseable> all;
        synchronized (this) {
            all = new ArrayList<>(opened);
            opened.clear();
        }
        Exception first = null;
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                all.get(i).close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
