package io.pgha.internal.decision;

import io.pgha.spi.DivergenceCheck;
import io.pgha.spi.Lsn;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What the node remembers between cycles that is not in the store nor in PostgreSQL. Kept by the
 * loop, passed to the decision as data.
 *
 * @param action                the long action in progress, if any
 * @param primaryUnhealthySince since when we hold the lock while our PostgreSQL is not a running primary
 * @param divergence            the last divergence check and against whom
 * @param syncChangedAtFlush    the primary's flush position right after {@code synchronous_standby_names} last changed
 *                              (or was re-applied); a standby counts as synchronous only once it flushed this far.
 *                              Empty until this engine set it: a setting found in force (an agent restarted while
 *                              PostgreSQL ran) proves nothing about what was acknowledged before
 * @param fatal                 the reason the node stopped for good
 * @param request               an operator's request waiting to be carried out
 * @param bootstrapClaim        the empty {@code initialize} key (a bootstrap claim) this node has been seeing, and since
 *                              when: a claim that nobody works on is cleared after a ttl
 * @param lastLeaderSeen        the leader key in the newest view that showed one (empty until one did): a former leader
 *                              that saw another member take over since does not count itself as holding every commit
 */
public record NodeMemory(Optional<RunningAction> action, OptionalLong primaryUnhealthySince,
                         Optional<DivergenceResult> divergence, Optional<Lsn> syncChangedAtFlush, Optional<String> fatal,
                         Optional<AdminRequest> request, Optional<ClaimSighting> bootstrapClaim, Optional<LeaderSighting> lastLeaderSeen) {
    public static final NodeMemory INITIAL = new NodeMemory(Optional.empty(), OptionalLong.empty(), Optional.empty(), Optional.empty(),
            Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());

    public NodeMemory {
        Objects.requireNonNull(action);
        Objects.requireNonNull(primaryUnhealthySince);
        Objects.requireNonNull(divergence);
        Objects.requireNonNull(syncChangedAtFlush);
        Objects.requireNonNull(fatal);
        Objects.requireNonNull(request);
        Objects.requireNonNull(bootstrapClaim);
        Objects.requireNonNull(lastLeaderSeen);
    }

    /** The bootstrap claim at {@code version} of the {@code initialize} key, first seen at ticker time {@code since}. */
    public record ClaimSighting(long version, long since) {
    }

    /** A long action running in the async slot. */
    public record RunningAction(Action action, long startedAt) {
    }

    /** The outcome of a divergence check against {@code upstream} while it published {@code upstreamTimeline}. */
    public record DivergenceResult(String upstream, int upstreamTimeline, DivergenceCheck result, long checkedAt) {
    }

    public NodeMemory withAction(Optional<RunningAction> a) {
        return new NodeMemory(a, primaryUnhealthySince, divergence, syncChangedAtFlush, fatal, request, bootstrapClaim, lastLeaderSeen);
    }

    public NodeMemory withPrimaryUnhealthySince(OptionalLong since) {
        return new NodeMemory(action, since, divergence, syncChangedAtFlush, fatal, request, bootstrapClaim, lastLeaderSeen);
    }

    public NodeMemory withDivergence(Optional<DivergenceResult> d) {
        return new NodeMemory(action, primaryUnhealthySince, d, syncChangedAtFlush, fatal, request, bootstrapClaim, lastLeaderSeen);
    }

    public NodeMemory withSyncChangedAtFlush(Lsn lsn) {
        return new NodeMemory(action, primaryUnhealthySince, divergence, Optional.of(lsn), fatal, request, bootstrapClaim, lastLeaderSeen);
    }

    /** A new tenure as primary: where {@code synchronous_standby_names} took effect is unknown until it is set again. */
    public NodeMemory withSyncChangeUnknown() {
        return new NodeMemory(action, primaryUnhealthySince, divergence, Optional.empty(), fatal, request, bootstrapClaim, lastLeaderSeen);
    }

    public NodeMemory withRequest(Optional<AdminRequest> r) {
        return new NodeMemory(action, primaryUnhealthySince, divergence, syncChangedAtFlush, fatal, r, bootstrapClaim, lastLeaderSeen);
    }

    public NodeMemory withFatal(String reason) {
        return new NodeMemory(action, primaryUnhealthySince, divergence, syncChangedAtFlush, Optional.of(reason), request, bootstrapClaim, lastLeaderSeen);
    }

    /**
     * This node's sighting of a bootstrap claim after a view that shows {@code initialize} as
     * {@code claimVersion} ({@code empty} when the key is absent or holds a system identifier): a new
     * claim (another version) is timed from {@code now}.
     */
    public NodeMemory withBootstrapClaimSeen(java.util.OptionalLong claimVersion, long now) {
        Optional<ClaimSighting> next = claimVersion.isEmpty() ? Optional.empty()
                : bootstrapClaim.filter(c -> c.version() == claimVersion.getAsLong())
                        .or(() -> Optional.of(new ClaimSighting(claimVersion.getAsLong(), now)));
        if (next.equals(bootstrapClaim)) {
            return this;
        }
        return new NodeMemory(action, primaryUnhealthySince, divergence, syncChangedAtFlush, fatal, request, next, lastLeaderSeen);
    }

    /**
     * After a view at store revision {@code revision} whose leader key names {@code leader}: an older
     * view (a lagging cache) cannot bring back an older leader. The view's revision, not the key's
     * version: some stores count a key's versions from zero again when it is created anew.
     */
    public NodeMemory withLeaderSeen(String leader, long revision) {
        if (lastLeaderSeen.map(l -> l.revision() > revision || l.revision() == revision && l.leader().equals(leader)).orElse(false)) {
            return this;
        }
        return new NodeMemory(action, primaryUnhealthySince, divergence, syncChangedAtFlush, fatal, request, bootstrapClaim,
                Optional.of(new LeaderSighting(leader, revision)));
    }

    /** A leader key seen: who held it, in a view at which store revision. */
    public record LeaderSighting(String leader, long revision) {
    }
}
