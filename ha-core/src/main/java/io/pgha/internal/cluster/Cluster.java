package io.pgha.internal.cluster;

import io.pgha.spi.DcsEntry;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One snapshot of a cluster, decoded. Entries that could not be decoded are left out and named in
 * {@link #warnings()}.
 *
 * @param initialize   the {@code initialize} key: a system identifier, or {@code ""} while bootstrapping
 * @param leader       the leader key's member name
 * @param leaderOptime the leader's last published WAL position ({@code status.optime})
 * @param leaderSlots  the leader's slots and their positions ({@code status.slots}), for replicas to
 *                     advance their copies of the permanent slots to
 * @param failsafe     the {@code failsafe} key ({@code failsafe_mode})
 */
public record Cluster(long revision,
                      Optional<String> initialize, long initializeVersion,
                      Optional<ConfigEntry> config,
                      Optional<String> leader, long leaderVersion,
                      Map<String, Member> members,
                      Optional<FailoverRequest> failover,
                      Optional<SyncState> sync,
                      TimelineHistory history,
                      OptionalLong leaderOptime,
                      Map<String, Long> leaderSlots,
                      Optional<FailsafeTopology> failsafe,
                      List<String> warnings) {
    public static final Cluster EMPTY = new Cluster(0, Optional.empty(), DcsEntry.ABSENT, Optional.empty(), Optional.empty(),
            DcsEntry.ABSENT, Map.of(), Optional.empty(), Optional.empty(), TimelineHistory.NONE, OptionalLong.empty(), Map.of(), Optional.empty(), List.of());

    public Cluster {
        Objects.requireNonNull(initialize);
        Objects.requireNonNull(config);
        Objects.requireNonNull(leader);
        members = Map.copyOf(members);
        Objects.requireNonNull(failover);
        Objects.requireNonNull(sync);
        Objects.requireNonNull(history);
        Objects.requireNonNull(leaderOptime);
        leaderSlots = Map.copyOf(leaderSlots);
        Objects.requireNonNull(failsafe);
        warnings = List.copyOf(warnings);
    }

    public Optional<Member> member(String name) {
        return Optional.ofNullable(members.get(name));
    }

    public Optional<Member> leaderMember() {
        return leader.flatMap(this::member);
    }

    public boolean hasLeader() {
        return leader.isPresent();
    }

    public boolean isLeader(String name) {
        return leader.map(name::equals).orElse(false);
    }

    public DynamicConfig dynamicConfig() {
        return config.map(ConfigEntry::config).orElse(DynamicConfig.EMPTY);
    }

    public Cluster withLeader(Optional<String> newLeader) {
        return new Cluster(revision, initialize, initializeVersion, config, newLeader, leaderVersion, members, failover, sync,
                history, leaderOptime, leaderSlots, failsafe, warnings);
    }
}
