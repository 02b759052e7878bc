package io.pgha.dcs.consul;

import com.ecwid.consul.v1.session.model.NewSession;
import com.ecwid.consul.v1.session.model.Session;
import io.pgha.spi.DcsListener;
import io.pgha.spi.SessionSpec;
import io.pgha.spi.support.DcsListeners;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member session's lease on Consul: a Consul session ({@code Behavior=delete},
 * {@code LockDelay=0}, {@code "Checks": []}, TTL {@code ttl/2}) that the leader key and the member
 * entry are acquired with. Created by the first lease-bound call, renewed by each one
 * ({@link #live()}), never in the background.
 *
 * <p>Calls that touch the session run while holding this object's monitor
 * ({@code synchronized (lease) { String sid = lease.live(); ... }}), so two concurrent calls never
 * create two sessions and a call's transaction uses the session it just renewed. A session found
 * gone ({@link #lost}, or a watch's {@link #check}) is reported to every listener through
 * {@link DcsListener#leaseLost}; the next call creates a new one.
 */
final class ConsulLease {
    private static final Logger LOG = LoggerFactory.getLogger(ConsulLease.class);

    private final SessionSpec spec;
    private final Agent agent;
    private final Duration sessionTtl;
    private final DcsListeners listeners;
    /** Forgets what the session wrote under the previous Consul session (a new or a lost one). */
    private final Runnable forgetWrites;

    // guarded by this
    private String sessionId;
    private boolean closed;

    ConsulLease(SessionSpec spec, Agent agent, Duration sessionTtl, DcsListeners listeners, Runnable forgetWrites) {
        this.spec = spec;
        this.agent = agent;
        this.sessionTtl = sessionTtl;
        this.listeners = listeners;
        this.forgetWrites = forgetWrites;
    }

    /** Renews the Consul session, or creates one (the first time, or after the previous one was invalidated). */
    synchronized String live() {
        if (closed) {
            throw new IllegalStateException("the session is closed");
        }
        if (sessionId != null) {
            if (agent.renewSession(sessionId)) {
                return sessionId;
            }
            lost(sessionId, "Consul session " + sessionId + " was invalidated (expired or destroyed)");
        }
        NewSession s = new NewSession();
        s.setName("pgha/" + spec.scope() + "/" + spec.memberName());
        // TTL only: without an explicit empty list Consul binds the session to serfHealth, and an agent restart or
        // a flapping gossip check would drop the leader key at once (Patroni issue #879)
        s.setChecks(List.of());
        s.setBehavior(Session.Behavior.DELETE);
        // no lock-delay: it would keep the next leader from taking a dead leader's key
        s.setLockDelay(0);
        s.setTtl(sessionTtl.toMillis() + "ms");
        sessionId = agent.createSession(s);
        forgetWrites.run();
        LOG.debug("{}/{}: Consul session {} created (TTL {} ms)", spec.scope(), spec.memberName(), sessionId,
                sessionTtl.toMillis());
        return sessionId;
    }

    /** The Consul session {@code sid} is gone for certain: if it is still ours, tell the listeners. */
    synchronized void lost(String sid, String reason) {
        if (!sid.equals(sessionId)) {
            return;
        }
        sessionId = null;
        forgetWrites.run();
        if (closed) {
            return;
        }
        LOG.warn("{}/{}: {}", spec.scope(), spec.member().orElse("observer"), reason);
        listeners.leaseLost(reason);
    }

    /**
     * Called by a watch when a key bound to our session vanished or changed hands without us:
     * if Consul no longer knows the session, it was invalidated (expired or destroyed).
     */
    void check(Agent watchAgent) {
        String sid;
        synchronized (this) {
            sid = sessionId;
            if (sid == null || closed) {
                return;
            }
        }
        if (!watchAgent.sessionExists(sid)) {
            lost(sid, "Consul session " + sid + " was invalidated (expired or destroyed)");
        }
    }

    /** The Consul session this member's keys are bound to right now, or null. */
    synchronized String current() {
        return sessionId;
    }

    /** No lease from now on; returns the Consul session to destroy, or null. */
    synchronized String close() {
        closed = true;
        String sid = sessionId;
        sessionId = null;
        return sid;
    }
}
