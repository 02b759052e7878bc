package io.pgha;

import io.pgha.internal.cluster.Cluster;
import io.pgha.internal.cluster.ClusterCodec;
import io.pgha.spi.ClusterSnapshot;
import io.pgha.spi.Lsn;
import io.pgha.spi.PendingSetting;
import java.time.OffsetDateTime;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One cluster as its store holds it, in Patroni's layout ({@code /service/<scope>/...}), read-only:
 * what {@code pghactl list} and {@code patronictl list} show. Decode one from a store read with
 * {@link #of(ClusterSnapshot)}, for example through an observer session
 * ({@link io.pgha.spi.SessionSpec#observer}) that takes no part in the cluster.
 *
 * <p>Decoding never throws: a value that cannot be read (not JSON, a foreign format) is left out,
 * as the engine leaves it out of its own decisions.
 *
 * @param initialize    the {@code initialize} key: the cluster's system identifier, {@code ""} while
 *                      it bootstraps, empty when the key does not exist
 * @param leader        the member the {@code leader} key names
 * @param leaderOptime  the WAL position the leader last published ({@code status} key)
 * @param members       the member entries ({@code members/<name>}) by name, in name order
 * @param syncStandbys  the synchronous standbys published in the {@code sync} key
 * @param paused        maintenance mode: {@code pause} is true in the dynamic configuration
 * @param failover      an operator's pending switchover or failover ({@code failover} key)
 * @param history       the {@code history} key: the timelines that ended, oldest first
 * @param dynamicConfig the dynamic configuration ({@code config} key) as a JSON object, exactly the
 *                      keys it holds; {@code {}} when it does not exist or is not a JSON object
 */
public record ClusterView(Optional<String> initialize, Optional<String> leader, Optional<Lsn> leaderOptime,
                          Map<String, Member> members, Set<String> syncStandbys, boolean paused,
                          Optional<Failover> failover, List<HistoryEntry> history, String dynamicConfig) {

    public ClusterView {
        Objects.requireNonNull(initialize, "initialize");
        Objects.requireNonNull(leader, "leader");
        Objects.requireNonNull(leaderOptime, "leaderOptime");
        members = Collections.unmodifiableMap(new TreeMap<>(Objects.requireNonNull(members, "members")));
        syncStandbys = Collections.unmodifiableSet(new TreeSet<>(Objects.requireNonNull(syncStandbys, "syncStandbys")));
        Objects.requireNonNull(failover, "failover");
        history = List.copyOf(history);
        Objects.requireNonNull(dynamicConfig, "dynamicConfig");
    }

    /** Decodes one read of the store; values that cannot be decoded are left out. */
    public static ClusterView of(ClusterSnapshot snapshot) {
        Cluster c = ClusterCodec.decode(Objects.requireNonNull(snapshot, "snapshot"));
        Map<String, Member> members = new LinkedHashMap<>();
        c.members().forEach((name, m) -> members.put(name, new Member(m.name(), m.connUrl(), m.apiUrl(), m.role(), m.state(),
                m.xlogLocation(), m.timeline(), m.replicationState(), m.pendingRestart(), m.scheduledRestart())));
        return new ClusterView(c.initialize(), c.leader(),
                c.leaderOptime().isPresent() ? Optional.of(Lsn.of(c.leaderOptime().getAsLong())) : Optional.empty(),
                members,
                c.sync().map(s -> s.standbys()).orElse(Set.of()),
                c.dynamicConfig().paused().orElse(false),
                c.failover().map(f -> new Failover(f.leader(), f.candidate(), f.scheduledAt())),
                c.history().entries().stream().map(h -> new HistoryEntry(h.timeline(), Lsn.of(h.lsn()), h.reason(), h.timestamp(),
                        h.newLeader())).toList(),
                c.dynamicConfig().toString());
    }

    /** The member entry of {@code name}, if the cluster has one. */
    public Optional<Member> member(String name) {
        return Optional.ofNullable(members.get(name));
    }

    /** The entry of the member the leader key names, if both exist. */
    public Optional<Member> leaderMember() {
        return leader.flatMap(this::member);
    }

    /** Whether the leader key names {@code name}. */
    public boolean isLeader(String name) {
        return leader.map(name::equals).orElse(false);
    }

    /**
     * One member entry, as the member last published it.
     *
     * @param name             the member's name
     * @param connUrl          its PostgreSQL address ({@code postgres://host:port/postgres})
     * @param apiUrl           its REST API ({@code http://host:port/patroni}), if it publishes one
     * @param role             {@code primary}, {@code replica}, {@code uninitialized}, ... (Patroni's
     *                         {@code master} reads as {@code primary})
     * @param state            PostgreSQL's state: {@code running}, {@code stopped}, {@code starting},
     *                         {@code crashed}, ...
     * @param walPosition      its WAL position when it wrote the entry
     * @param timeline         its timeline, 0 when unknown
     * @param replicationState {@code streaming} when a standby streams from its upstream
     * @param pendingRestart   settings that wait for a restart of its PostgreSQL (Patroni's
     *                         {@code pending_restart}); a setting with an empty name when the member did
     *                         not say which
     * @param scheduledRestart when an operator scheduled a restart of it ({@code pghactl restart --scheduled})
     */
    public record Member(String name, String connUrl, Optional<String> apiUrl, String role, String state, Lsn walPosition,
                         int timeline, Optional<String> replicationState, List<PendingSetting> pendingRestart,
                         Optional<OffsetDateTime> scheduledRestart) {
        public Member {
            Objects.requireNonNull(scheduledRestart, "scheduledRestart");
            pendingRestart = List.copyOf(Objects.requireNonNull(pendingRestart, "pendingRestart"));
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(connUrl, "connUrl");
            Objects.requireNonNull(apiUrl, "apiUrl");
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(walPosition, "walPosition");
            Objects.requireNonNull(replicationState, "replicationState");
        }

        /** Whether its PostgreSQL waits for a restart to take a changed setting (patronictl's {@code *}). */
        public boolean isPendingRestart() {
            return !pendingRestart.isEmpty();
        }

        /** Whether its PostgreSQL is running. */
        public boolean isRunning() {
            return "running".equals(state);
        }
    }

    /**
     * The {@code failover} key: a switchover ({@code leader} set) or a failover (only a candidate)
     * that an operator asked for and the leader has not carried out yet.
     *
     * @param leader      the leader to move away from
     * @param candidate   the member to promote; empty: the healthiest one
     * @param scheduledAt when, for a scheduled switchover
     */
    public record Failover(Optional<String> leader, Optional<String> candidate, Optional<OffsetDateTime> scheduledAt) {
        public Failover {
            Objects.requireNonNull(leader, "leader");
            Objects.requireNonNull(candidate, "candidate");
            Objects.requireNonNull(scheduledAt, "scheduledAt");
        }
    }

    /**
     * One line of the {@code history} key: a timeline that ended.
     *
     * @param timeline  the timeline that ended
     * @param lsn       where it ended: the first position of the next timeline
     * @param reason    why, in PostgreSQL's words ({@code no recovery target specified})
     * @param timestamp when, as written
     * @param newLeader the member that took over
     */
    public record HistoryEntry(int timeline, Lsn lsn, String reason, Optional<String> timestamp, Optional<String> newLeader) {
        public HistoryEntry {
            Objects.requireNonNull(lsn, "lsn");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(timestamp, "timestamp");
            Objects.requireNonNull(newLeader, "newLeader");
        }
    }
}
