package io.pgha.internal.rest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.internal.cluster.FailoverRequest;
import io.pgha.internal.decision.SwitchoverCheck;
import io.pgha.internal.engine.HaEngine;
import io.pgha.spi.ClusterKey;
import io.pgha.spi.DcsEntry;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * {@code /switchover} and {@code /failover}: an operator's request for another leader, checked as
 * Patroni checks it, written to the failover key for the HA loops to carry out and, unless
 * scheduled, awaited; {@code DELETE /switchover} cancels a scheduled one.
 */
final class LeaderChangeEndpoints {
    private final HaEngine engine;
    private final StoreAccess store;

    LeaderChangeEndpoints(HaEngine engine, StoreAccess store) {
        this.engine = engine;
        this.store = store;
    }

    /** {@code POST /switchover} or, with {@code failover}, {@code POST /failover}. */
    Reply request(boolean failover, String body) {
        ObjectNode json = JsonBody.object(body, true);
        Optional<String> leader = JsonBody.text(json, "leader").or(() -> JsonBody.text(json, "master"));
        Optional<String> candidate = JsonBody.text(json, "candidate").or(() -> JsonBody.text(json, "member"));
        Optional<OffsetDateTime> at = Optional.empty();
        Optional<String> when = JsonBody.text(json, "scheduled_at");
        if (when.isPresent()) {
            if (failover) {
                throw new HttpError(400, "Failover can't be scheduled");
            }
            try {
                at = Optional.of(OffsetDateTime.parse(when.get()));
            } catch (DateTimeParseException e) {
                try {
                    LocalDateTime.parse(when.get());
                    throw new HttpError(400, "Timezone information is mandatory for the scheduled switchover");
                } catch (DateTimeParseException e2) {
                    throw new HttpError(400, "Unable to parse scheduled timestamp: '" + when.get() + "'");
                }
            }
        }
        SwitchoverCheck.Request request = new SwitchoverCheck.Request(failover, leader, candidate, at);
        SwitchoverCheck.checkShape(request).ifPresent(r -> {
            throw new HttpError(r.status(), r.message());
        });
        Cluster c = store.freshCluster();
        SwitchoverCheck.check(request, c, engine.config().wallClock().instant(), engine.view().config().syncMode().enabled() && !engine.view().config().syncMode().quorum())
                .ifPresent(r -> {
                    throw new HttpError(r.status(), r.message());
                });
        String value = ClusterCodec.encodeFailover(leader, candidate, at);
        long version = c.failover().map(FailoverRequest::version).orElse(DcsEntry.ABSENT);
        if (!store.write(d -> d.compareAndSet(ClusterKey.FAILOVER, value, version))) {
            throw new HttpError(503, "failed to write the failover key: it changed meanwhile");
        }
        engine.wake();
        String what = failover ? "Failover" : "Switchover";
        if (at.isPresent()) {
            return Reply.text(202, what + " scheduled");
        }
        return pollResult(what, c.leader(), candidate);
    }

    /** Waits for the outcome the way Patroni does: up to 2 × max(10 s, loop_wait). */
    private Reply pollResult(String what, Optional<String> oldLeader, Optional<String> candidate) {
        Duration loopWait = engine.view().config().settings().loopWait();
        Duration wait = (loopWait.compareTo(Duration.ofSeconds(10)) > 0 ? loopWait : Duration.ofSeconds(10)).multipliedBy(2);
        long deadline = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() < deadline) {
            Cluster now;
            try {
                now = store.freshCluster();
            } catch (HttpError e) {
                now = null;
            }
            if (now != null) {
                Optional<String> l = now.leader();
                if (l.isPresent() && !l.equals(oldLeader)) {
                    if (candidate.isEmpty() || candidate.equals(l)) {
                        return Reply.text(200, "Successfully " + (what.equals("Failover") ? "failed over" : "switched over") + " to \""
                                + l.get() + "\"");
                    }
                    return Reply.text(200, what + " to \"" + l.get() + "\" instead of \"" + candidate.get() + "\"");
                }
                if (now.failover().isEmpty() && l.equals(oldLeader)) {
                    return Reply.text(503, what + " failed");
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return Reply.text(503, what + " status unknown");
    }

    /** {@code DELETE /switchover}: only a scheduled switchover can be cancelled. */
    Reply cancelScheduled() {
        Cluster c = store.freshCluster();
        Optional<FailoverRequest> fo = c.failover().filter(f -> f.scheduledAt().isPresent());
        if (fo.isEmpty()) {
            throw new HttpError(404, "no switchover is scheduled");
        }
        if (!store.write(d -> d.compareAndDelete(ClusterKey.FAILOVER, fo.get().version()))) {
            throw new HttpError(409, "the switchover changed meanwhile");
        }
        return Reply.text(200, "scheduled switchover deleted");
    }
}
