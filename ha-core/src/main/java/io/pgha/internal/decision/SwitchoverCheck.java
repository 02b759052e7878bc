package io.pgha.internal.decision;

import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.Member;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether an operator's switchover or failover request may be written to the {@code failover}
 * key, with Patroni's answers ({@code api.py}, {@code do_POST_switchover}/{@code do_POST_failover}):
 * a pure function of the request, the cluster as the store holds it and the time, tested row by
 * row like {@link Decider}. The REST API parses the request, asks this, then writes.
 */
public final class SwitchoverCheck {
    private SwitchoverCheck() {
    }

    /**
     * One request as the operator sent it.
     *
     * @param failover    {@code POST /failover} (a candidate is required, nothing may be scheduled)
     *                    rather than {@code /switchover}
     * @param leader      the member to switch over from
     * @param candidate   the member to switch over to
     * @param scheduledAt when to do it (switchovers only)
     */
    public record Request(boolean failover, Optional<String> leader, Optional<String> candidate, Optional<OffsetDateTime> scheduledAt) {
        public Request {
            Objects.requireNonNull(leader, "leader");
            Objects.requireNonNull(candidate, "candidate");
            Objects.requireNonNull(scheduledAt, "scheduledAt");
        }
    }

    /** Why a request is refused: Patroni's HTTP status and message. */
    public record Refusal(int status, String message) {
    }

    /**
     * The refusal of {@code r}, or empty if it may be written.
     *
     * @param syncModeByDefault whether synchronous mode is on when the dynamic configuration does
     *                          not say
     */
    public static Optional<Refusal> check(Request r, Cluster c, Instant now, boolean syncModeByDefault) {
        Optional<Refusal> malformed = checkShape(r);
        if (malformed.isPresent()) {
            return malformed;
        }
        boolean paused = c.dynamicConfig().paused().orElse(false);
        if (paused && r.scheduledAt().isPresent()) {
            return refuse(400, "Can't schedule switchover in the paused state");
        }
        if (paused && r.candidate().isEmpty()) {
            return refuse(400, "Switchover is possible only to a specific candidate in a paused state");
        }
        if (r.scheduledAt().isPresent() && r.scheduledAt().get().toInstant().isBefore(now)) {
            return refuse(422, "Cannot schedule switchover in the past");
        }
        if (r.leader().isPresent() && !c.leader().equals(r.leader())) {
            return refuse(412, "leader name does not match");
        }
        if (r.candidate().isPresent()) {
            String name = r.candidate().get();
            Optional<Member> m = c.member(name);
            if (m.isEmpty()) {
                return refuse(412, "candidate '" + name + "' is not a member of the cluster");
            }
            if (!m.get().tags().canFailover()) {
                return refuse(412, "candidate '" + name + "' is tagged nofailover");
            }
            // Patroni's api.py is_failover_possible: quorum mode does not require the candidate in the sync
            // key here (the leader still checks it: a switchover goes to a voter, see Decider.candidateProblem)
            boolean syncMode = c.dynamicConfig().synchronousMode().map(mode -> mode.enabled() && !mode.quorum()).orElse(syncModeByDefault);
            if (!r.failover() && syncMode && !c.sync().map(s -> s.standbys().contains(name)).orElse(false)) {
                return refuse(412, "candidate name does not match with sync_standby");
            }
        }
        boolean anyCandidate = c.members().values().stream().anyMatch(m -> !c.isLeader(m.name()) && m.isRunning()
                && m.tags().canFailover() && r.candidate().map(m.name()::equals).orElse(true));
        if (!anyCandidate) {
            return refuse(412, "failover is not possible: no good candidates have been found");
        }
        return Optional.empty();
    }

    /** The refusals that need no cluster: what the request itself gets wrong. */
    public static Optional<Refusal> checkShape(Request r) {
        if (r.failover() && r.scheduledAt().isPresent()) {
            return refuse(400, "Failover can't be scheduled");
        }
        if (r.failover() && r.candidate().isEmpty()) {
            return refuse(400, "Failover could be performed only to a specific candidate");
        }
        if (!r.failover() && r.leader().isEmpty()) {
            return refuse(400, "Switchover could be performed only from a specific leader");
        }
        if (r.candidate().isPresent() && r.candidate().equals(r.leader())) {
            return refuse(400, "Switchover target and source are the same");
        }
        return Optional.empty();
    }

    private static Optional<Refusal> refuse(int status, String message) {
        return Optional.of(new Refusal(status, message));
    }
}
