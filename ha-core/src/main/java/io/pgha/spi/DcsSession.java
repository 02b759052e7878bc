package io.pgha.spi;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * One member's view of one cluster in a {@link Dcs}, bound to one lease (etcd), session (ZooKeeper,
 * Consul) or equivalent. The leader key and the member entry written through a session live only
 * as long as its lease: they disappear by themselves about {@code ttl} after the last successful
 * renewal, which is what makes automatic failover possible when a node dies silently.
 *
 * <h2>Rules every implementation follows</h2>
 * <ul>
 *   <li><b>Time bound.</b> Every returned stage completes, normally or exceptionally, within
 *       {@code spec().retryTimeout()}. An implementation that talks to several servers spends that
 *       budget across them rather than waiting on a dead one. (The engine also enforces the bound
 *       on its side, but a stage left pending leaks the request.)</li>
 *   <li><b>Unreachable is not "no".</b> When the store cannot be reached, or does not answer in
 *       time, the stage fails with {@link DcsUnreachableException}: the outcome is unknown. When
 *       the store answered and a condition did not hold (the key exists, the version moved on, the
 *       leader key names someone else), the stage completes with {@code false}. The engine reacts
 *       differently: {@code false} from {@link #renewLeader} means "demote now", while an
 *       unreachable store means "keep the primary only while the lease is certainly still valid".</li>
 *   <li><b>Other failures</b> (authentication, permissions, a malformed response) fail the stage
 *       with {@link DcsException}.</li>
 *   <li><b>Values are opaque text.</b> The session stores and returns exactly the strings it is
 *       given; it never parses them. A value it cannot decode as text (foreign binary data under
 *       the cluster prefix) is left out of a snapshot, with a warning.</li>
 *   <li><b>Threads.</b> Methods may be called from any thread and must not block the caller for
 *       network I/O; stages may complete on the store client's own threads.</li>
 *   <li><b>Who keeps the lease alive.</b> The engine does, by calling {@link #renewLeader} (the
 *       leader) or {@link #touchMember} (everyone) once per HA cycle. A session does not refresh
 *       the lease on its own: a node whose loop stopped must lose its keys after {@code ttl}. Where
 *       the client library pings on its own (ZooKeeper), those pings may carry a session across a
 *       disconnection shorter than its timeout, but the keys still vanish {@code ttl} after the
 *       last renewal: the session ends itself then.</li>
 * </ul>
 *
 * <p>Observer sessions (no member name) support only {@link #read}, {@link #readAuthoritative},
 * {@link #compareAndSet},
 * {@link #compareAndDelete}, {@link #deleteCluster} and {@link #watch}; the lease-bound methods
 * throw {@link IllegalStateException}.
 */
public interface DcsSession extends AutoCloseable {

    /** What this session was opened with. */
    SessionSpec spec();

    /**
     * How long after a successful renewal (counted from before the call was made) the lease is
     * certainly still valid in the store: the engine believes in its leadership no longer than this
     * and fits its timings inside it. Most stores keep a lease exactly {@code ttl} (the default);
     * Consul, whose sessions live between their TTL and twice that, uses sessions of half the ttl
     * and so guarantees only half.
     */
    default java.time.Duration leaseGuarantee() {
        return spec().ttl();
    }

    /**
     * Reads every key of the cluster as of one point in the store's history (one etcd range
     * request, one ZooKeeper multi-read or a read at one zxid, one recursive Consul request). A read
     * served from a watch-maintained cache is allowed if the cache is never older than the last
     * change this session was told about through {@link DcsListener#clusterChanged()}, nor than this
     * session's own last successful write (read your writes).
     *
     * <p>Atomicity: one consistent snapshot. Time bound: {@code retry_timeout}.
     * Unreachable: {@link DcsUnreachableException}.
     */
    CompletionStage<ClusterSnapshot> read();

    /**
     * Reads every key of the cluster from the store itself, never from a cache, as of a moment no
     * earlier than the call: a linearizable read where the store offers one (an etcd range request,
     * a ZooKeeper {@code sync} followed by the read, a Consul {@code ?consistent} query). A session
     * that keeps a cache refills it from this read.
     *
     * <p>The engine calls it when its view may be stale: for the first decision after any failed
     * store call, when a {@link #read()} contradicts what this member itself wrote or holds (the
     * leader key it just took), when peers report a primary that the read does not show, and when
     * a read is older than {@link #writeRevision()}. The default calls {@link #read()}, which is
     * right only for a store whose reads never come from a cache or a lagging replica.
     *
     * <p>Atomicity: one consistent snapshot. Time bound: {@code retry_timeout}.
     * Unreachable: {@link DcsUnreachableException}.
     */
    default CompletionStage<ClusterSnapshot> readAuthoritative() {
        return read();
    }

    /**
     * The store position, on the scale of {@link ClusterSnapshot#revision()}, at which this
     * session's newest successful write took effect: an acquired, rebound or released leader key, a
     * written member entry or status, a compare-and-set or compare-and-delete that succeeded. A
     * renewal that wrote nothing does not move it. {@code 0} when the store does not tell (the
     * default).
     *
     * <p>The engine never acts on a snapshot older than this: a {@link #read()} with a smaller
     * revision is read again with {@link #readAuthoritative()}. Thread-safe; never blocks.
     */
    default long writeRevision() {
        return 0;
    }

    /**
     * Takes the leader lock: atomically creates {@link ClusterKey#LEADER} with this member's name,
     * bound to this session's lease, <em>only if the key does not exist</em>.
     *
     * <p>The lease is refreshed as part of the call (before the key is created), so a caller that
     * noted the time <em>before</em> calling may believe in its leadership until that time plus
     * {@code ttl}, exactly as after {@link #renewLeader}.
     *
     * <p>Atomicity: a single create-if-absent (etcd txn on {@code create_revision == 0}, ZooKeeper
     * ephemeral create, Consul {@code ?acquire}). Completes {@code true} when the key is now ours,
     * {@code false} when it already existed, whoever it names (a stale key carrying our own name
     * from an earlier session is taken over by {@link #renewLeader}, not here).
     * Time bound: {@code retry_timeout}. Unreachable: {@link DcsUnreachableException} (the key may
     * or may not have been created; the next read tells).
     */
    CompletionStage<Boolean> acquireLeader();

    /**
     * Keeps the leader lock: refreshes the lease and confirms, in the same step, that the leader key
     * still holds this member's name; writes {@code status} to {@link ClusterKey#STATUS} when given.
     *
     * <ul>
     *   <li>Completes {@code true} when, after the call, the leader key holds our name and is bound to
     *       our live lease, refreshed by this call. The lease then lives at least {@code ttl} from the
     *       moment the call was made, so a caller that noted the time <em>before</em> calling may
     *       believe in its leadership until that time plus {@code ttl}, and no longer.</li>
     *   <li>A key that holds our name but is bound to an older lease of ours (this member restarted)
     *       is rebound to the current one. A key that is absent is created as by
     *       {@link #acquireLeader}.</li>
     *   <li>Completes {@code false} when the key holds another member's name, or when our lease has
     *       expired and could not be shown to still own the key: leadership is lost, the caller must
     *       stop writing at once.</li>
     * </ul>
     * Atomicity: the ownership check and the rebind are one transaction; the status write may be a
     * separate request (it is informational). Time bound: {@code retry_timeout}. Unreachable:
     * {@link DcsUnreachableException} — the lease may or may not have been refreshed, so the caller
     * keeps only its previous belief.
     */
    CompletionStage<Boolean> renewLeader(Optional<String> status);

    /**
     * Gives up the leader lock: deletes {@link ClusterKey#LEADER} only if it still holds this
     * member's name. Completes {@code true} when we held it and it is gone, {@code false} when it was
     * absent or named someone else (nothing was changed). The lease itself stays alive, so the
     * member entry survives. Atomicity: one compare-and-delete. Time bound: {@code retry_timeout}.
     * Unreachable: {@link DcsUnreachableException}.
     */
    CompletionStage<Boolean> releaseLeader();

    /**
     * Writes this member's entry ({@code members/<name>}), bound to the lease, replacing the
     * previous value unconditionally, and refreshes the lease. An implementation may skip the write
     * of a value identical to its last successful one, but still refreshes the lease. If the lease
     * had expired, a new one is created and the entry written under it. Time bound:
     * {@code retry_timeout}. Unreachable: {@link DcsUnreachableException}.
     */
    CompletionStage<Void> touchMember(String value);

    /**
     * Compare-and-set on a versioned key: writes {@code value} if the key's current version equals
     * {@code expectedVersion}, or, when {@code expectedVersion} is {@link DcsEntry#ABSENT}, only if
     * the key does not exist (this is how members race for {@link ClusterKey#INITIALIZE}).
     * Allowed for {@code INITIALIZE, CONFIG, FAILOVER, SYNC, HISTORY, FAILSAFE} (every key but two;
     * the engine writes the {@code failsafe_mode} topology with it too); {@code LEADER} and
     * {@code STATUS} are written only through the lease methods ({@link IllegalArgumentException};
     * {@link io.pgha.spi.support.SessionChecks#requireVersioned} checks exactly this).
     *
     * <p>Completes {@code true} when written, {@code false} when the version did not match (another
     * writer won). The written key is not bound to any lease. Atomicity: one conditional write.
     * Time bound: {@code retry_timeout}. Unreachable: {@link DcsUnreachableException}.
     */
    CompletionStage<Boolean> compareAndSet(ClusterKey key, String value, long expectedVersion);

    /**
     * Deletes a versioned key if its version equals {@code expectedVersion}. Completes {@code true}
     * when deleted, {@code false} when the key was absent or had another version. Same keys as
     * {@link #compareAndSet}. Time bound: {@code retry_timeout}.
     * Unreachable: {@link DcsUnreachableException}.
     */
    CompletionStage<Boolean> compareAndDelete(ClusterKey key, long expectedVersion);

    /**
     * Deletes every key of the cluster, leader and member entries included (what
     * {@code patronictl remove} does). Not atomic across keys. Time bound: {@code retry_timeout}.
     * Unreachable: {@link DcsUnreachableException}.
     */
    CompletionStage<Void> deleteCluster();

    /**
     * Watches the whole cluster prefix: {@link DcsListener#clusterChanged} is called after every
     * change, naming the changed key, including lease expiry of someone else's keys, within a bounded
     * delay (milliseconds on a healthy store). After a reconnect the watch resumes where it stopped,
     * or, if that position is gone (etcd compaction), reports an unknown change so the engine reads
     * afresh. The session also reports a certain loss of its own lease through
     * {@link DcsListener#leaseLost}.
     *
     * <p>The subscription ends when closed or when the session closes.
     */
    Subscription watch(DcsListener listener);

    /**
     * Ends the session: stops renewing and revokes the lease where the store allows it, so the
     * member entry (and the leader key, if this member still held it) disappear now instead of at
     * TTL. A graceful leader calls {@link #releaseLeader()} first. Best effort, bounded by
     * {@code retry_timeout}; never throws.
     */
    @Override
    void close();
}
