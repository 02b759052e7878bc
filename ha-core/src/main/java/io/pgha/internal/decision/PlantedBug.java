package io.pgha.internal.decision;

/**
 * Safety rules the simulator's own tests switch off on purpose, to prove that the invariant checker
 * notices. Never set outside tests. Each constant says which rule it breaks; the switch that breaks
 * it is a line or two in the engine, named after the constant, and changes nothing unless the bug is
 * planted. {@code SimulationTest} hunts each one: the fault kinds that expose it, the seeds, the share
 * of them that must catch it and the invariant that does.
 */
public enum PlantedBug {
    /**
     * The leader believes in its lease forever once it holds it and never fences: a primary cut off
     * from the store keeps accepting writes after its lease expired.
     */
    NO_FENCING,
    /**
     * The engine acts on whatever view a read returns and never reads from the store itself: not
     * after a failed or refused store call, nor when the view is older than its own write, hides
     * the leader key it holds, or shows no leader while a peer runs as primary, nor once a ttl. A node that won the leader race and then sees a stale view
     * abandons its promotion and keeps the key without promoting (the cluster stays without a
     * primary).
     */
    TRUSTS_STALE_VIEWS,
    /**
     * Breaks "a node believes it leads only until the time it <em>sent</em> its last successful
     * renewal + ttl": the lease is counted from when the renewal's answer arrived. The store counts
     * from when the request reached it, so an answer that came back slowly makes the node believe
     * in a lease the store has already let go, and its fence fires too late.
     */
    LEASE_FROM_RECEIPT,
    /**
     * Breaks "unreachable is not yes": a renewal that timed out or failed as unreachable is treated
     * as renewed, so a primary cut off from the store keeps extending a lease the store lets expire.
     */
    UNKNOWN_RENEWAL_IS_SUCCESS,
    /**
     * Breaks "in synchronous mode only the leader or a standby published in the {@code sync} key is
     * promoted automatically": the key is not consulted when choosing who may be promoted (who is
     * healthiest, whether a failover is possible), so an asynchronous standby that lacks
     * acknowledged commits can take over.
     */
    IGNORES_SYNC_KEY,
    /**
     * Breaks "a standby is named in {@code synchronous_standby_names} before it is published in the
     * {@code sync} key": the leader publishes every standby it wants as synchronous first, without
     * waiting for it to be named and to have flushed past the change, so a published standby can
     * lack commits that were acknowledged without waiting for it.
     */
    PUBLISHES_BEFORE_NAMING,
    /**
     * Breaks "a candidate does not promote while a reachable peer has more WAL": a candidate does not
     * compare its WAL position with the peers' (a running primary among them still stops it, and so
     * does {@code maximum_lag_on_failover}).
     */
    SKIPS_WAL_COMPARISON,
    /**
     * Breaks "the fences are disarmed only once PostgreSQL is confirmed stopped": they are dropped
     * when a stop is issued (a demotion's, the fence's own), so a stop that fails leaves a primary
     * that accepts writes with nothing left to stop it.
     */
    DISARMS_BEFORE_STOP,
    /**
     * Breaks "a graceful stop whose PostgreSQL stop failed never hands the leader key over": the
     * node releases the key and ends its session anyway (which revokes the lease and disarms the
     * fences), so another member promotes beside a primary that still accepts writes.
     */
    HANDS_OVER_ON_FAILED_STOP,
    /**
     * Breaks "the fence stops PostgreSQL {@code fencing_margin} before the lease can end": the fences
     * fire when the lease ends by this node's own clock. The margin is what absorbs a node clock that
     * runs slow against the store's; without it such a primary writes on after the store let its
     * lease go.
     */
    NO_FENCING_MARGIN,
    /**
     * Breaks "the leader key is released only after PostgreSQL stopped": a graceful demotion (a
     * switchover) releases the key as soon as it starts, so when the stop fails the candidate
     * promotes beside a primary that still accepts writes.
     */
    RELEASES_BEFORE_STOP,
    /**
     * Breaks "a store outage is survived": a member that has not reached the store for longer than
     * the ttl gives up and stops managing its PostgreSQL for good, as a client that closes after too
     * many failures would; after a long outage of the whole store no member is left to take the
     * lead.
     */
    QUITS_AFTER_A_LONG_STORE_OUTAGE,
    /**
     * Breaks "a member whose data diverged from the new leader's rewinds before it follows": a
     * former primary follows the new leader without the divergence check, and its replica never
     * streams (the cluster does not converge).
     */
    FOLLOWS_WITHOUT_REWIND,
    /**
     * Breaks "a candidate lagging more than {@code maximum_lag_on_failover} behind the optime the
     * leader last published does not take over": the candidate skips that comparison, so a member
     * that rejoined far behind can win a race that no healthier member entered.
     */
    IGNORES_MAXIMUM_LAG,
    /**
     * Breaks "a promotion is never abandoned while it may still complete": a leader whose promotion
     * has run longer than the ttl gives the lock up and cancels it, although {@code pg_ctl promote}
     * cannot be called back, so the promotion completes beside the member that took the lock.
     */
    ABANDONS_A_SLOW_PROMOTION,
    /**
     * Breaks "with failsafe_mode a primary runs on without the store only while every member of the
     * failsafe topology confirms it": one confirmation is taken as enough, so a member that was not
     * reached (and so does not hold back) takes the expired lock and promotes beside it.
     */
    FAILSAFE_TRUSTS_ONE_ANSWER,
    /**
     * Breaks "a member that confirmed a primary's failsafe request does not race for the ttl": the
     * confirmation is given but not remembered, so the member takes the expired lock while the
     * primary it confirmed runs on.
     */
    FAILSAFE_FORGETS_ITS_ANSWER,
    /**
     * Breaks "with {@code synchronous_node_count} n every commit waits for all n published
     * standbys": {@code synchronous_standby_names} asks for one of them, so a commit acknowledged by
     * one is missing from the other, which may then be promoted.
     */
    WAITS_FOR_ONE_OF_SEVERAL,
    /**
     * Breaks "under failsafe_mode a member left out of the failsafe topology races only when a listed
     * standby says failsafe mode is over": it races as soon as the key is free, while the primary it
     * was never asked about runs on.
     */
    FAILSAFE_LETS_THE_UNLISTED_RACE,
    /**
     * Breaks "a race under failsafe_mode asks the listed members whose entries lapsed": a member whose
     * own memory of a failsafe request was lost (its agent restarted) does not ask the primary that
     * runs on without the store, and takes the key beside it.
     */
    FAILSAFE_RACES_WITHOUT_ASKING,
    /**
     * Breaks "in quorum mode a candidate promotes only after {@code quorum} voters answered that they
     * are not ahead of it" (Patroni's {@code _is_healthiest_node} quorum check): any answer, or none,
     * is enough, so a standby that missed commits acknowledged by voters it did not hear from takes
     * over.
     */
    PROMOTES_WITHOUT_QUORUM,
    /**
     * Breaks "with N voters and {@code ANY numsync} a promotion needs {@code N - numsync}
     * confirmations" (Patroni's {@code QuorumStateResolver} arithmetic): the leader writes the
     * {@code sync} key's quorum one lower than the resolver computed, so a candidate and its
     * confirmations can all lie outside the standbys that acknowledged a commit.
     */
    QUORUM_TOO_LOW,
    /**
     * Breaks "a bootstrap claim that nobody works on is cleared after a ttl": the empty
     * {@code initialize} key is waited on forever, so a claimant whose create took effect but whose
     * answer was lost (or that died while bootstrapping) leaves a cluster that never forms.
     */
    KEEPS_ABANDONED_CLAIMS,
    /**
     * Breaks "the sync key's leader counts itself healthy alone only while it is still the last
     * leader": as in Patroni, it promotes without a quorum answer although it saw another member take
     * the leader key after it (a switchover whose new leader could not rewrite the key before the
     * store froze and then crashed), so commits that new leader acknowledged on another voter are lost.
     */
    FORMER_LEADER_TRUSTS_STALE_KEY
}
