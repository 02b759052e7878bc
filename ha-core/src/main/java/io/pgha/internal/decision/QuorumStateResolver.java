package io.pgha.internal.decision;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The order in which quorum commit changes {@code synchronous_standby_names} and the {@code sync}
 * key: a port of Patroni's {@code patroni/quorum.py} {@code QuorumStateResolver}, pure and
 * deterministic.
 *
 * <p>Two pairs describe the state. On the primary, {@code ANY numsync (sync)}: a commit is
 * acknowledged once the primary and any {@code numsync} of the standbys in {@code sync} have
 * flushed it. In the store, {@code quorum} and {@code voters} (the {@code sync} key's
 * {@code quorum} and {@code sync_standby}): a candidate promotes only after {@code quorum} members
 * of <em>voters ∪ {leader}</em> other than itself answered that they are not ahead of it
 * ({@link Decider#healthiest}; a candidate outside the voters needs {@code quorum + 1}).
 *
 * <p><b>The invariant</b> ({@link #checkInvariants}, Patroni's {@code check_invariants}): with
 * {@code N = |voters ∪ sync ∪ {leader}|} nodes, every set that can acknowledge a commit has
 * {@code numsync + 1} of them (the primary and {@code numsync} standbys) and every set that can
 * promote has {@code quorum + 1} (the candidate and its {@code quorum} confirmations). Two such
 * sets must intersect, so {@code (numsync + 1) + (quorum + 1) > N}, i.e.
 * {@code N <= quorum + numsync + 1}; the member they share holds the commit and is either the
 * candidate or told it "not ahead", so the candidate holds it too. While a change is half done one
 * of {@code voters} and {@code sync} must be a subset of the other. To keep this at every moment,
 * an increase of {@code numsync} or {@code quorum} is written before the matching decrease of the
 * other: raising {@code synchronous_node_count} sets the GUC first and lowers the key's quorum
 * after; lowering it raises the quorum first. New standbys go into the GUC first when it is empty,
 * into the key first otherwise; a standby leaves the GUC first unless the GUC would become empty.
 *
 * <p>{@link #transitions()} lists the whole path from the current state to the wanted one, as
 * Patroni's {@code __iter__} does (two consecutive transitions of the same kind merged); the
 * engine applies the first each cycle and resolves again from what it then observes.
 */
final class QuorumStateResolver {

    /** One step: set the GUC ({@link Kind#SYNC}) or write the key ({@link Kind#QUORUM}), or read again ({@link Kind#RESTART}). */
    record Transition(Kind kind, String leader, int num, Set<String> names) {
        Transition {
            names = java.util.Collections.unmodifiableSet(new TreeSet<>(names));
        }
    }

    enum Kind { SYNC, QUORUM, RESTART }

    /** The state cannot be reconciled (Patroni's {@code QuorumError}). */
    static final class QuorumError extends RuntimeException {
        QuorumError(String message) {
            super(message);
        }
    }

    private String leader;
    private int quorum;
    private Set<String> voters;
    private int numsync;
    private Set<String> sync;
    private int numsyncConfirmed;
    private final Set<String> active;
    private final int syncWanted;
    private final String leaderWanted;
    private final List<Transition> out = new ArrayList<>();

    /**
     * @param leader           the {@code sync} key's leader
     * @param quorum           the key's quorum
     * @param voters           the key's {@code sync_standby}
     * @param numsync          the GUC's count
     * @param sync             the GUC's names
     * @param numsyncConfirmed how many GUC standbys reached the primary's flush position of when the GUC last changed
     * @param active           standbys streaming from this primary that may be listed
     * @param syncWanted       {@code synchronous_node_count}
     * @param leaderWanted     this node (differs from {@code leader} right after a failover)
     */
    QuorumStateResolver(String leader, int quorum, Collection<String> voters, int numsync, Collection<String> sync,
                        int numsyncConfirmed, Collection<String> active, int syncWanted, String leaderWanted) {
        this.leader = leader;
        this.quorum = quorum;
        this.voters = set(voters);
        this.numsync = Math.min(numsync, sync.size());
        this.sync = set(sync);
        this.numsyncConfirmed = numsyncConfirmed;
        this.active = set(active);
        this.syncWanted = syncWanted;
        this.leaderWanted = leaderWanted;
    }

    /** PostgreSQL matches standby names case-insensitively, and so do Patroni's {@code CaseInsensitiveSet}s. */
    private static Set<String> set(Collection<String> c) {
        Set<String> s = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
        s.addAll(c);
        return s;
    }

    private static Set<String> union(Set<String> a, Collection<String> b) {
        Set<String> s = set(a);
        s.addAll(b);
        return s;
    }

    private static Set<String> minus(Set<String> a, Collection<String> b) {
        Set<String> s = set(a);
        s.removeAll(b);
        return s;
    }

    private static Set<String> and(Set<String> a, Collection<String> b) {
        Set<String> s = set(a);
        s.retainAll(b);
        return s;
    }

    /** Proper subset. */
    private static boolean lt(Set<String> a, Set<String> b) {
        return b.containsAll(a) && b.size() > a.size();
    }

    /**
     * Patroni's {@code check_invariants}: any acknowledging set meets any promoting set
     * ({@code N <= quorum + numsync + 1}, N counting the leader), and one of voters and sync
     * contains the other.
     */
    void checkInvariants() {
        Set<String> v = union(voters, List.of(leader));
        Set<String> s = union(sync, List.of(leaderWanted));
        int nodes = union(v, s).size();
        if (!voters.isEmpty() && !(nodes <= quorum + numsync + 1)) {
            throw new QuorumError("quorum and sync not guaranteed to overlap: nodes " + nodes + " > quorum " + quorum
                    + " + numsync " + numsync + " + 1");
        }
        if (!(s.containsAll(v) || v.containsAll(s))) {
            throw new QuorumError("mismatched sets: voters only " + minus(v, s) + ", sync only " + minus(s, v));
        }
    }

    /**
     * The transitions from the current state to the wanted one, consecutive ones of one kind
     * merged (Patroni's {@code __iter__}); empty when nothing needs to change.
     *
     * @throws QuorumError when the state cannot be reconciled
     */
    List<Transition> transitions() {
        generate();
        List<Transition> merged = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) {
            Transition cur = out.get(i);
            if (i + 1 < out.size() && out.get(i + 1).kind() == cur.kind()) {
                continue;
            }
            merged.add(cur);
            if (cur.kind() == Kind.RESTART) {
                break;
            }
        }
        return merged;
    }

    private void quorumUpdate(int newQuorum, Set<String> newVoters, String newLeader, boolean adjustQuorum) {
        if (newQuorum < 0) {
            throw new QuorumError("quorum " + newQuorum + " < 0 of " + newVoters);
        }
        if (newQuorum > 0 && newQuorum >= newVoters.size()) {
            throw new QuorumError("quorum " + newQuorum + " >= N of " + newVoters);
        }
        String oldLeader = leader;
        if (newLeader != null) {
            leader = newLeader;
        } else if (numsyncConfirmed == 0 && voters.isEmpty()) {
            // no standby is known to have caught up: keep the key without voters
            newQuorum = 0;
            newVoters = set(List.of());
        } else if (adjustQuorum) {
            // fewer standbys confirmed than numsync: raise the quorum so that a race still finds one that has every commit
            newQuorum += Math.max(numsync - numsyncConfirmed, 0);
        }
        if (leader.equalsIgnoreCase(oldLeader) && newQuorum == quorum && newVoters.equals(voters)) {
            if (!voters.isEmpty()) {
                return;
            }
            // no change: a hint to read the state again (Patroni sleeps a second and restarts the resolver)
            out.add(new Transition(Kind.RESTART, leader, quorum, voters));
        }
        quorum = newQuorum;
        voters = set(newVoters);
        checkInvariants();
        out.add(new Transition(Kind.QUORUM, leader, quorum, voters));
    }

    private void quorumUpdate(int newQuorum, Set<String> newVoters) {
        quorumUpdate(newQuorum, newVoters, null, true);
    }

    private void syncUpdate(int newNumsync, Set<String> newSync) {
        if (newNumsync < 0) {
            throw new QuorumError("sync " + newNumsync + " < 0 of " + newSync);
        }
        if (newNumsync > newSync.size()) {
            throw new QuorumError("sync " + newNumsync + " > N of " + newSync);
        }
        numsync = newNumsync;
        sync = set(newSync);
        checkInvariants();
        out.add(new Transition(Kind.SYNC, leader, numsync, sync));
    }

    private void generate() {
        try {
            if (!leaderWanted.equalsIgnoreCase(leader)) { // failover: the old leader becomes a voter
                Set<String> v = union(minus(voters, List.of(leaderWanted)), List.of(leader));
                if (sync.isEmpty()) {
                    syncUpdate(v.size() - quorum, v);
                }
                quorumUpdate(quorum, v, leaderWanted, true);
                if (and(sync, active).isEmpty()) {
                    return; // right after a promotion: give the standbys a loop_wait to connect before dropping them
                }
            } else {
                checkInvariants();
            }
        } catch (QuorumError e) {
            quorumUpdate(sync.size() - numsync, sync);
        }
        if (!leader.equalsIgnoreCase(leaderWanted)) {
            throw new QuorumError("leader " + leader + " is not " + leaderWanted);
        }
        if (numsyncConfirmed == 0 && !and(sync, active).isEmpty()) {
            // unknown after a restart or failover: what the key promises
            numsyncConfirmed = Math.min(and(sync, active).size(), voters.size() - quorum);
        }
        handleNonSteadyCases();
        removeGoneNodes();
        addNewNodes();
        handleReplicationFactorChange();
    }

    private void handleNonSteadyCases() {
        if (lt(sync, voters)) {
            // case 1: in the middle of changing voters; drop dead voters that are not synced
            Set<String> removeFromVoters = minus(voters, union(sync, active));
            if (!removeFromVoters.isEmpty()) {
                quorumUpdate(voters.size() - removeFromVoters.size() - numsync, minus(voters, removeFromVoters), null,
                        minus(sync, active).isEmpty());
            }
            Set<String> addToSync = minus(and(voters, active), sync);
            if (!addToSync.isEmpty()) {
                syncUpdate(numsync, union(sync, addToSync));
            }
        } else if (lt(voters, sync)) {
            // case 2: in the middle of changing the replication factor
            Set<String> removeFromSync = minus(sync, active);
            Set<String> s = minus(sync, removeFromSync);
            if (!removeFromSync.isEmpty() && !s.isEmpty() && (voters.isEmpty() || !and(s, voters).isEmpty())) {
                syncUpdate(Math.min(numsync, sync.size() - removeFromSync.size()), s);
            }
            Set<String> addToVoters = and(minus(sync, voters), active);
            if (!addToVoters.isEmpty()) {
                Set<String> v = union(voters, addToVoters);
                quorumUpdate(v.size() - numsync, v);
            }
            removeFromSync = minus(sync, voters);
            if (!removeFromSync.isEmpty()) {
                syncUpdate(Math.min(numsync, sync.size() - removeFromSync.size()), minus(sync, removeFromSync));
            }
        }
        if (!voters.equals(sync)) {
            throw new QuorumError("voters " + voters + " and sync " + sync + " still differ");
        }
        int safetyMargin = quorum + Math.min(numsync, numsyncConfirmed) - union(voters, sync).size();
        if (safetyMargin > 0) { // in the middle of changing the replication factor
            if (numsync > syncWanted) {
                syncUpdate(Math.max(syncWanted, voters.size() - quorum), sync); // case 3
            } else {
                quorumUpdate(sync.size() - numsync, voters); // case 4
            }
        } else {
            safetyMargin = quorum + numsync - union(voters, sync).size();
            if (numsync == syncWanted && safetyMargin > 0 && numsync > numsyncConfirmed) {
                quorumUpdate(sync.size() - numsync, voters);
            }
        }
    }

    private void removeGoneNodes() {
        Set<String> toRemove = minus(sync, active);
        if (!toRemove.isEmpty() && sync.equals(toRemove)) {
            quorumUpdate(0, set(List.of()), null, false);
            syncUpdate(0, set(List.of()));
        } else if (!toRemove.isEmpty()) {
            int canReduceQuorumBy = quorum;
            if (canReduceQuorumBy > 0) {
                // remove in reverse sorted order, as Patroni does, for determinism
                List<String> sorted = new ArrayList<>(new TreeSet<>(toRemove).descendingSet());
                Set<String> remove = set(sorted.subList(0, Math.min(canReduceQuorumBy, sorted.size())));
                Set<String> s = minus(sync, remove);
                int n = Math.min(syncWanted > numsync ? syncWanted : numsync, s.size());
                syncUpdate(n, s);
                Set<String> v = minus(voters, remove);
                toRemove = and(toRemove, sync);
                quorumUpdate(v.size() - numsync, v, null, toRemove.isEmpty());
            }
            if (!toRemove.isEmpty()) {
                if (quorum != 0) {
                    throw new QuorumError("quorum " + quorum + " left while removing " + toRemove);
                }
                int n = numsync - toRemove.size();
                Set<String> s = minus(sync, toRemove);
                Set<String> v = minus(voters, toRemove);
                int syncDecrease = n - Math.min(syncWanted, s.size());
                int q = syncDecrease != 0 ? Math.min(syncDecrease, v.size() - 1) : 0;
                quorumUpdate(q, v, null, false);
                syncUpdate(n, s);
            }
        }
    }

    private void addNewNodes() {
        Set<String> toAdd = minus(active, sync);
        if (toAdd.isEmpty()) {
            return;
        }
        int wanted = Math.min(syncWanted, union(sync, toAdd).size());
        int increaseBy = wanted - numsync;
        if (increaseBy > 0) {
            Set<String> add;
            if (!sync.isEmpty()) {
                List<String> sorted = new ArrayList<>(toAdd);
                add = set(sorted.subList(0, Math.min(increaseBy, sorted.size())));
                increaseBy = add.size();
            } else {
                add = toAdd; // only the leader so far: all may be added at once
            }
            syncUpdate(numsync + increaseBy, union(sync, add));
            Set<String> v = union(voters, add);
            quorumUpdate(v.size() - wanted, v);
            toAdd = minus(toAdd, sync);
        }
        if (!toAdd.isEmpty()) {
            Set<String> v = union(voters, toAdd);
            quorumUpdate(v.size() - wanted, v, null, wanted > numsyncConfirmed);
            syncUpdate(wanted, union(sync, toAdd));
        }
    }

    private void handleReplicationFactorChange() {
        int syncIncrease = Math.min(syncWanted, sync.size()) - numsync;
        if (syncIncrease > 0) {
            syncUpdate(numsync + syncIncrease, sync);
            quorumUpdate(voters.size() - numsync, voters);
        } else if (syncIncrease < 0) {
            if (quorum - syncIncrease < voters.size()) {
                quorumUpdate(voters.size() - numsync - syncIncrease, voters, null, syncWanted > numsyncConfirmed);
            }
            syncUpdate(numsync + syncIncrease, sync);
        }
    }
}
