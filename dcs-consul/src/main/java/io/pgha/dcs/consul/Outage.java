package io.pgha.dcs.consul;

import io.pgha.spi.support.RepeatedCondition;
import java.net.URI;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * "The Consul agent cannot be reached", for one {@link ConsulDcs}: calls that failed to reach the
 * agent (no connection, no answer in time, or a 5xx/429 answer, which means the agent has no way to
 * its servers) and calls that were answered, from all of its HTTP clients (calls and watches). Logged
 * as a {@link RepeatedCondition}: one WARN line naming the cause when calls begin to fail, a reminder
 * with the count now and then, one INFO line when a call is answered again ("Consul agent at
 * [http://h:8500] is reachable again after 12.3 s, 12 failed calls"). A failure of a call begun
 * before the newest answer is not news and starts nothing; nor does an answer to a call begun before
 * the newest failure end anything (an agent that stops gracefully answers some requests in flight
 * after it has cut off others).
 */
final class Outage {
    private static final Logger LOG = LoggerFactory.getLogger(Outage.class);

    private final RepeatedCondition condition;
    /** When the newest answer that counted came ({@link System#nanoTime()}); a call begun before that proves nothing new when it fails. */
    private volatile long lastAnswer = System.nanoTime() - Long.MAX_VALUE / 2;
    /** When the newest failure that counted came; an answer to a call begun before that proves nothing new either. */
    private volatile long lastFailure = System.nanoTime() - Long.MAX_VALUE / 2;

    Outage(URI agent) {
        this.condition = new RepeatedCondition(LOG, "Consul agent at [" + agent + "] is unreachable",
                "Consul agent at [" + agent + "] is reachable again", "failed calls");
    }

    /** A call begun at {@code started} failed to reach the agent, for this reason (one line). */
    void failed(long started, String reason) {
        if (started - lastAnswer < 0) {
            return; // begun before the newest answer: no news about the agent now
        }
        lastFailure = System.nanoTime();
        condition.occurred(reason);
    }

    /**
     * A call begun at {@code started} was answered (with a result or a refusal). An answer to a call
     * begun before the newest failure (one the agent was still finishing while it went away) ends nothing.
     */
    void answered(long started) {
        if (started - lastFailure < 0) {
            return;
        }
        lastAnswer = System.nanoTime();
        condition.ended();
    }

    /** How many calls failed to reach the agent since it became unreachable; 0 while it is reachable. */
    long failedCalls() {
        return condition.occurrences();
    }
}
