package io.pgha.agent.ctl;

import io.pgha.ClusterView.Member;
import io.pgha.PghaException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** patronictl's {@code -r/--role} values, and which members each one picks ({@code get_all_members}). */
enum MemberRole {
    /** The leader, of a cluster or of a standby cluster. */
    LEADER("leader"),
    /** The leader of a cluster that is not a standby cluster. */
    PRIMARY("primary"),
    /** The leader of a standby cluster. */
    STANDBY_LEADER("standby-leader"),
    /** Every member but the leader. */
    REPLICA("replica"),
    /** Same as {@link #REPLICA}. */
    STANDBY("standby"),
    /** Every member. */
    ANY("any");

    private final String value;

    MemberRole(String value) {
        this.value = value;
    }

    /** leader, primary, standby-leader, replica, standby, any (and Patroni's old master). */
    static MemberRole parse(String s) {
        String v = s.strip().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        if (v.equals("master")) {
            return PRIMARY;
        }
        for (MemberRole r : values()) {
            if (r.value.equals(v)) {
                return r;
            }
        }
        throw new PghaException("--role must be one of leader, primary, standby-leader, replica, standby, any; got '" + s + "'");
    }

    /** The role as a {@code POST /restart} body names it: primary, standby_leader or replica; empty for any. */
    Optional<String> restApiRole() {
        return switch (this) {
            case LEADER, PRIMARY -> Optional.of("primary");
            case STANDBY_LEADER -> Optional.of("standby_leader");
            case REPLICA, STANDBY -> Optional.of("replica");
            case ANY -> Optional.empty();
        };
    }

    boolean isLeaderRole() {
        return this == LEADER || this == PRIMARY || this == STANDBY_LEADER;
    }

    /** The members with this role, in name order (the leader alone for a leader role). */
    List<Member> members(ClusterState c) {
        List<Member> out = new ArrayList<>();
        if (isLeaderRole()) {
            c.view().leaderMember().filter(l -> this == LEADER
                    || this == STANDBY_LEADER && !l.role().equals("primary")
                    || this == PRIMARY && !l.role().equals("standby_leader")).ifPresent(out::add);
            return out;
        }
        for (Member m : c.view().members().values()) {
            if (this == ANY || !c.view().isLeader(m.name())) {
                out.add(m);
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return value;
    }
}
