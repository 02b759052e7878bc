package io.pgha.dcs.consul;

import com.ecwid.consul.v1.kv.model.GetBinaryValue;
import io.pgha.spi.DcsException;
import io.pgha.spi.DcsListener;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.DaemonThreads;
import io.pgha.spi.support.GuardedListener;
import io.pgha.spi.support.StoreOutage;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A watch on the whole cluster prefix by Consul blocking queries ({@code ?recurse&index=&wait=}),
 * on a thread of its own with an HTTP client of its own (closing it aborts the query in flight).
 *
 * <p>Consul answers a blocking query with the whole subtree, not with what changed, so each
 * answer is compared with the previous one by ModifyIndex: every key that appeared, vanished or
 * was rewritten is reported by its relative path. The first answer, the first answer after an
 * error, and an answer whose index went backwards (a restarted {@code -dev} agent, a restored
 * snapshot) are reported as "unknown" ({@code Optional.empty()}), since changes may have been
 * missed before them; the differences are reported too. Errors back off exponentially up to a second,
 * and the query after an error is a plain read (index 0), never a blocking one.
 *
 * <p>When a key bound to our own session vanishes or changes hands without our doing, the watch
 * asks Consul whether the session still exists; if not, the session was invalidated and the
 * listener hears {@link DcsListener#leaseLost} at once (a leader then fences without waiting for
 * its next renewal to fail).
 */
final class ConsulWatch {
    private static final Logger LOG = LoggerFactory.getLogger(ConsulWatch.class);
    private static final long MAX_BACKOFF_MS = 1000;

    private record Seen(long modifyIndex, String session) {
    }

    private final ConsulSettings settings;
    private final SessionSpec spec;
    private final ConsulLayout layout;
    private final ConsulLease lease;
    /** The caller's listener, registered with the session's listeners (which also tell it of a lost lease). */
    private final GuardedListener listener;
    private final Agent agent;
    private final Thread thread;
    private volatile boolean closed;

    ConsulWatch(ConsulSettings settings, SessionSpec spec, ConsulLayout layout, ConsulLease lease, GuardedListener listener,
                StoreOutage outage) {
        this.settings = settings;
        this.spec = spec;
        this.layout = layout;
        this.lease = lease;
        this.listener = listener;
        Duration wait = settings.watchWait();
        // the agent holds the answer back for up to wait + wait/16 (its jitter)
        this.agent = new Agent(settings, spec.retryTimeout(), wait.plus(wait.dividedBy(16)).plus(spec.retryTimeout()).plusSeconds(1),
                outage);
        this.thread = DaemonThreads.thread("pgha-consul-watch-" + spec.scope() + "-" + spec.member().orElse("observer"), this::run);
    }

    void start() {
        thread.start();
    }

    void close() {
        closed = true;
        listener.close();
        thread.interrupt();
        agent.close();
    }

    private void run() {
        long index = 0;
        long lastIndex = 0;
        Map<String, Seen> previous = null;
        boolean unsure = true;
        int failures = 0;
        while (!closed) {
            Agent.Listing l;
            try {
                l = agent.list(layout.prefix(), settings.consistency(), index, Optional.of(settings.watchWait()));
            } catch (DcsException | IllegalStateException e) {
                if (closed) {
                    return;
                }
                failures++;
                unsure = true;
                // start again with a plain read: an agent that restarted empty would hold a query for an index
                // it has not reached yet for the whole wait
                index = 0;
                long backoff = Math.min(MAX_BACKOFF_MS, 50L << Math.min(failures, 10));
                if (failures == 1 || failures % 30 == 0) {
                    LOG.debug("{}: watch query failed ({} in a row), retrying in {} ms: {}", spec.scope(), failures, backoff,
                            e.getMessage());
                }
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    return;
                }
                continue;
            }
            if (closed) {
                return;
            }
            failures = 0;
            Map<String, Seen> current = new HashMap<>();
            for (GetBinaryValue v : l.entries()) {
                layout.relative(v.getKey()).ifPresent(rel -> current.put(rel, new Seen(v.getModifyIndex(), v.getSession())));
            }
            boolean backwards = l.index() < lastIndex;
            if (backwards) {
                LOG.info("{}: the Consul index went backwards ({} -> {}): the store was reset; watching afresh", spec.scope(),
                        lastIndex, l.index());
            }
            if (unsure || backwards) {
                report(Optional.empty());
            }
            if (previous != null) {
                Set<String> changed = new TreeSet<>();
                Set<String> all = new HashSet<>(previous.keySet());
                all.addAll(current.keySet());
                boolean oursTouched = false;
                String mine = lease.current();
                for (String k : all) {
                    Seen before = previous.get(k);
                    Seen now = current.get(k);
                    if (!Objects.equals(before, now)) {
                        changed.add(k);
                        if (mine != null && before != null && mine.equals(before.session())
                                && (now == null || !mine.equals(now.session()))) {
                            oursTouched = true;
                        }
                    }
                }
                for (String k : changed) {
                    report(Optional.of(k));
                }
                if (oursTouched) {
                    try {
                        lease.check(agent);
                    } catch (DcsException | IllegalStateException e) {
                        LOG.debug("{}: could not check the Consul session: {}", spec.scope(), e.getMessage());
                    }
                }
            }
            previous = current;
            unsure = false;
            // a blocking query needs an index above zero, or it returns at once forever
            index = Math.max(1, l.index());
            lastIndex = index;
        }
    }

    private void report(Optional<String> path) {
        if (closed) {
            return;
        }
        listener.clusterChanged(path);
    }
}
